"""The shapes the second red team found unguarded, one by one: what is removed, and look-alikes that stay.

The end-to-end test (test_redteam_2.py) proves nothing leaks through any road; these pin each rule's edges
(checksums, structure rules, which flags count) so that a change that widens or narrows one shows here.
"""

from __future__ import annotations

import pytest
from _privacy_helpers import SECRET
from _redteam_corpus_2 import IBAN_DE, IBAN_FR, IBAN_GB

from processors.anonymizer import Anonymizer, PrivacyPolicy


@pytest.fixture(scope="module")
def anon() -> Anonymizer:
    return Anonymizer(PrivacyPolicy(), secret=lambda: SECRET, home_dir="/home/zqxcarol")


def scrub(anon: Anonymizer, text: str) -> str:
    return anon.scrub_text(text)[0]


@pytest.mark.parametrize("iban", [IBAN_DE, IBAN_GB, IBAN_FR, IBAN_DE.lower()])
def test_ibans_with_a_valid_checksum_are_removed(anon: Anonymizer, iban: str) -> None:
    grouped = " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))
    assert scrub(anon, f"pay {iban} now") == "pay <iban> now"
    assert scrub(anon, f"IBAN: {grouped} EUR").endswith("<iban> EUR")


def test_iban_look_alikes_stay(anon: Anonymizer) -> None:
    wrong = IBAN_DE[:-1] + str((int(IBAN_DE[-1]) + 1) % 10)  # one digit off: the mod-97 check fails
    for text in (wrong, "DE89370400440532013000123", "ZZ89370400440532013000", "GB200 NVL72 H100-80GB-HBM3"):
        assert scrub(anon, text) == text


def test_social_security_numbers_follow_the_structure_rules(anon: Anonymizer) -> None:
    assert scrub(anon, "SSN 219-09-9999 on file") == "SSN <id-number> on file"
    assert scrub(anon, "passport number is X7Q4410293") == "passport number is <redacted>"
    assert scrub(anon, "passport office closed; pass 3 of 5") == "passport office closed; pass 3 of 5"
    for text in ("666-12-3456", "912-12-3456", "000-12-3456", "219-00-9999", "219-09-0000", "2024-01-15"):
        assert scrub(anon, text) == text


def test_values_after_a_denied_flag_are_removed(anon: Anonymizer) -> None:
    assert scrub(anon, "train.py --password correct-horse --lr 2e-4") == "train.py --password <redacted> --lr 2e-4"
    assert scrub(anon, "train.py --api-key=plainkey998877") == "train.py --api-key=<redacted>"
    assert scrub(anon, "run -secret_key 'plain key'") == "run -secret_key <redacted>"
    hashed = scrub(anon, "train.py --user-id 42")
    assert hashed.startswith("train.py --user-id ") and len(hashed.rsplit(" ", 1)[1]) == 16 and "42" not in hashed


@pytest.mark.parametrize(
    "text",
    [
        "python -u train.py -p 8000",  # -u is unbuffered to python: short flags are not judged
        "--host 0.0.0.0 --port 8000",
        "--model_name_or_path meta-llama/Llama-2-7b-hf --max_new_tokens 256",
        "--tokenizer_name gpt2 --pad_token_id 0",
        "loss went -0.5 then --lr 1e-4",
    ],
)
def test_benign_command_lines_stay(anon: Anonymizer, text: str) -> None:
    assert scrub(anon, text) == text


def test_xml_elements_named_by_a_denied_key(anon: Anonymizer) -> None:
    assert scrub(anon, "<a><password>correct-horse</password></a>") == "<a><password><redacted></password></a>"
    assert scrub(anon, '<s:token type="x">plainkey998877</s:token>') == '<s:token type="x"><redacted></s:token>'
    assert scrub(anon, "<model>llama-2-7b</model>") == "<model>llama-2-7b</model>"


def test_text_written_as_hex_is_decoded_and_digests_are_not(anon: Anonymizer) -> None:
    address = b"quentin.w@example.org".hex()
    assert scrub(anon, address) == "<secret:encoded>"
    assert scrub(anon, f"payload=0x{address.upper()}") == "payload=<secret:encoded>"
    for text in ("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b", b"hello world".hex()):
        assert scrub(anon, text) == text  # a sha1; harmless text written as hex


def test_request_signatures_are_credentials_and_a_models_signature_is_not(anon: Anonymizer) -> None:
    clean, _ = anon.scrub_attributes({"X-Amz-Signature": "9f3e" * 16, "sig": "a7c1" * 10, "model_signature": "x"})
    assert clean == {"model_signature": "x"}
    url = scrub(anon, "https://b.s3.amazonaws.com/k?X-Amz-Signature=" + "9f3e" * 16)
    assert "9f3e" not in url and url.endswith("=<redacted>")
    assert anon.scrub_attributes({"lat": 48.858844, "lng": 2.294351, "latency_ms": 3.5})[0] == {"latency_ms": 3.5}


def test_exception_lines_are_scrubbed_whole(anon: Anonymizer) -> None:
    head = 'Traceback (most recent call last):\n  File "x.py", line 1, in f\n'
    assert scrub_trace(anon, head + "redis://:Rd-Lq82nVx3@cache:6379/0").endswith("redis://<credentials>@cache:6379/0")
    assert "cXVlbnRp" not in scrub_trace(anon, head + "cXVlbnRpbi53b2pjaWVjaG93c2thQGV4YW1wbGUub3Jn")
    kept = head + "torch.cuda.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB"
    assert scrub_trace(anon, kept) == kept
    attrs, _ = anon.scrub_attributes({"exception.type": "qmarchetti"})
    assert attrs == {"exception.type": "<word>"}


def scrub_trace(anon: Anonymizer, trace: str) -> str:
    return anon.scrub_stacktrace(trace)[0]


def test_paths_in_non_network_urls_are_policed_and_hub_ids_stay(anon: Anonymizer) -> None:
    assert scrub(anon, "s3://bucket/users/qmarchetti/data.csv") == "s3://bucket/users/<word>/data.csv"
    assert "qmarchetti" not in scrub(anon, "at handler (webpack:///./src/users/qmarchetti.js:10:5)")
    for text in ("hf://datasets/tatsu-lab/alpaca", "s3://my-bucket/checkpoints/step-100/adapter_model.safetensors"):
        assert scrub(anon, text) == text


def test_ipv6_with_a_port_or_a_line_and_column_glued_on(anon: Anonymizer) -> None:
    assert scrub(anon, "at (2001:0db8:0000:0000:0000:ff00:0042:8329:10:5)") == "at (<ip>:10:5)"
    assert scrub(anon, "2001:db8:1:2:3:4:5:6:443 refused") == "<ip>:443 refused"
    assert scrub(anon, "10:20:30:40:50") == "10:20:30:40:50"


def test_a_file_name_is_kept_for_its_words_not_for_a_digit(anon: Anonymizer) -> None:
    assert scrub(anon, "wojciechowska_run2.py") == "<word>"
    for name in ("model-00001-of-00002.safetensors", "Qwen2.5-7B-Instruct-Q4_K_M.gguf", "resnet50-0676ba61.pth"):
        assert scrub(anon, name) == name


def test_a_version_word_does_not_make_an_address_a_version(anon: Anonymizer) -> None:
    assert scrub(anon, "deployed build 192.168.41.23") == "deployed build <ip>"
    for text in ("TensorRT 10.0.1.6", "cudnn 8.9.2.26", "driver 31.0.15.52"):
        assert scrub(anon, text) == text
