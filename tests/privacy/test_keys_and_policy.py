"""Key rules, hashed identifiers and the policy (allowlist, extra keys and patterns, bad regexes)."""

from __future__ import annotations

import hashlib

import pytest
from _privacy_helpers import HOME, SECRET

from exporters.eventlog import schema
from processors.anonymizer import HASH_HEX_CHARS, Anonymizer, PolicyError, PrivacyPolicy

DENIED = {
    "access_token": "key.token",
    "client_secret": "key.secret",
    "secret_key": "key.secret",
    "X-Api-Key": "key.api_key",
    "apiKey": "key.api_key",
    "userEmail": "key.email",
    "e_mail": "key.email",
    "passwd": "key.password",
    "Password": "key.password",
    "pwd": "key.password",
    "Authorization": "key.auth",
    "http.request.header.authorization": "key.auth",
    "auth": "key.auth",
    "set-cookie": "key.cookie",
    "session_cookie": "key.cookie",
    "aws_credentials": "key.credential",
    "private_key": "key.secret",
    "ssn": "key.government_id",
    "phone_number": "key.phone",
    "home_address": "key.address",
    "client_ip": "key.ip",
    "clientIP": "key.ip",
    "X-Forwarded-For": "key.ip",
    "username": "key.username",
    "user_name": "key.username",
    "user": "key.username",
    "process.owner": "key.username",
    "name": "key.person_name",
    "first_name": "key.person_name",
    "lastName": "key.person_name",
    "full_name": "key.person_name",
    "display_name": "key.person_name",
    "author": "key.person_name",
    "host.name": "key.hostname",
    "hostname": "key.hostname",
    "token": "key.token",
    "hf_token": "key.token",
    "HF_TOKEN": "key.token",
    "date_of_birth": "key.birthdate",
}

KEPT = [
    "model_name",
    "adapter_name",
    "dataset_name",
    "event_name",
    "metric_name",
    "file_name",
    "span.name",
    "service.name",
    "telemetry.sdk.name",
    "os.name",
    "model.name",
    "max_tokens",
    "max_new_tokens",
    "num_tokens",
    "pad_token_id",
    "eos_token",
    "tokenizer",
    "tokenizer_name",
    "input_tokens",
    "token_count",
    "gradient_clip",
    "zip_compression",
    "session.id",
    "lora_r",
    "learning_rate",
    "namespace",
    "user_agent",
]


@pytest.mark.parametrize(("key", "rule"), sorted(DENIED.items()))
def test_denied_keys_are_removed_with_their_rule(anon: Anonymizer, key: str, rule: str) -> None:
    cleaned, counts = anon.scrub_value({key: "v4lue-that-must-go", "model_name": "llama-2-7b"})
    assert cleaned == {"model_name": "llama-2-7b"}
    assert counts == {rule: 1}


@pytest.mark.parametrize("key", KEPT)
def test_benign_keys_are_kept(anon: Anonymizer, key: str) -> None:
    cleaned, counts = anon.scrub_value({key: "llama-2-7b"})
    assert cleaned == {key: "llama-2-7b"}
    assert not counts


def test_nested_keys_are_judged_at_every_depth(anon: Anonymizer) -> None:
    value = {"run": {"config": {"lora_r": 16, "hub": {"access_token": "abc", "repo": "x"}}}, "user": {"id": 1}}
    cleaned, counts = anon.scrub_value(value)
    assert cleaned == {"run": {"config": {"lora_r": 16, "hub": {"repo": "x"}}}}
    assert counts == {"key.token": 1, "key.username": 1}


def test_dotted_path_decides_person_names(anon: Anonymizer) -> None:
    cleaned, _ = anon.scrub_value({"model": {"name": "llama"}, "owner_info": {"name": "Alice"}})
    assert cleaned == {"model": {"name": "llama"}, "owner_info": {}}


def test_user_ids_become_keyed_hashes(anon: Anonymizer) -> None:
    cleaned, counts = anon.scrub_value({"user_id": "42", "userId": 42, "enduser.id": "42"})
    hashes = set(cleaned.values())
    assert len(hashes) == 1  # same id, same hash, whatever the key's spelling or the value's type
    (digest,) = hashes
    assert len(digest) == HASH_HEX_CHARS and int(digest, 16) >= 0
    assert digest != hashlib.sha256(b"42").hexdigest()[:HASH_HEX_CHARS]  # not a plain, reversible hash
    assert counts == {"id.hashed": 3}


def test_hash_follows_secret_rotation() -> None:
    current = [SECRET]
    anon = Anonymizer(secret=lambda: current[0], home_dir=HOME)
    before = anon.scrub_value({"user_id": "u-1"})[0]["user_id"]
    assert anon.scrub_value({"user_id": "u-1"})[0]["user_id"] == before  # stable
    current[0] = b"another secret of thirty-two b.."
    after = anon.scrub_value({"user_id": "u-1"})[0]["user_id"]
    assert after != before


def test_hash_in_text_and_query(anon: Anonymizer) -> None:
    digest = anon.scrub_value({"user_id": "u-77"})[0]["user_id"]
    assert anon.scrub_text("user_id=u-77 done")[0] == f"user_id={digest} done"
    assert anon.scrub_text("https://x.org/a?user_id=u-77")[0] == f"https://<host>/a?user_id={digest}"


def test_short_secret_fails_at_hash_time() -> None:
    anon = Anonymizer(secret=lambda: b"short", home_dir=HOME)
    with pytest.raises(ValueError):
        anon.scrub_value({"user_id": "1"})


def test_scrub_value_with_denied_key_returns_none(anon: Anonymizer) -> None:
    assert anon.scrub_value("hunter2", key="password") == (None, {"key.password": 1})


def test_allowlist_keeps_only_listed_keys() -> None:
    anon = Anonymizer(PrivacyPolicy(allowlist_keys=["model_name", "peft.*"]), home_dir=HOME)
    attrs, counts = anon.scrub_attributes(
        {"model_name": "a@b.io", "peft.event_type": "x", "peft.category": "event", "other": "y"}
    )
    assert attrs == {"model_name": "<email>", "peft.event_type": "x", "peft.category": "event"}
    assert counts == {"key.not_allowlisted": 1, "value.email": 1}


def test_extra_denied_keys_use_normalized_substrings() -> None:
    anon = Anonymizer(PrivacyPolicy(extra_denied_keys=["project_code"]), home_dir=HOME)
    cleaned, counts = anon.scrub_value({"projectCode": 1, "my-project-code-v2": 2, "lora_r": 3})
    assert cleaned == {"lora_r": 3}
    assert counts == {"key.custom": 2}


def test_extra_patterns_redact_and_count() -> None:
    anon = Anonymizer(PrivacyPolicy(extra_patterns={"ticket": r"TICKET-\d+"}), home_dir=HOME)
    assert anon.scrub_text("see TICKET-123 and TICKET-9")[0] == "see <redacted:ticket> and <redacted:ticket>"
    assert anon.scrub_text("see TICKET-123")[1] == {"ticket": 1}
    # The consent screen shows the policy's own patterns apart from the built-in rules.
    assert {r.id for r in anon.rules() if not r.builtin} == {"ticket"}


@pytest.mark.parametrize(
    "policy",
    [
        {"extra_patterns": {"bad": "(unclosed"}},
        {"extra_patterns": {"empty": "a*"}},
        {"extra_patterns": {"Bad Id!": "x"}},
        {"extra_denied_keys": ["--"]},
        {"max_string_length": 3},
        {"unknown_field": 1},
    ],
)
def test_bad_policy_is_a_policy_error(policy: dict[str, object]) -> None:
    with pytest.raises(PolicyError) as info:
        PrivacyPolicy(**policy)  # type: ignore[arg-type]
    assert isinstance(info.value, ValueError)


def test_bad_constructor_arguments_raise_policy_error() -> None:
    with pytest.raises(PolicyError):
        Anonymizer(policy={"extra_patterns": {}})  # type: ignore[arg-type]
    with pytest.raises(PolicyError):
        Anonymizer(secret=b"not callable")  # type: ignore[arg-type]


def test_redactions_key_matches_the_event_log_schema() -> None:
    assert Anonymizer().redactions_key == schema.ATTR_REDACTIONS


def test_rules_describe_every_rule_once(anon: Anonymizer) -> None:
    rules = anon.rules()
    ids = [r.id for r in rules]
    assert len(ids) == len(set(ids))
    assert {r.kind for r in rules} == {"key", "value", "path", "identifier"}
    for rule in rules:
        assert rule.description and rule.marker


def test_allowlist_spares_resource_and_exception_attributes() -> None:
    from _privacy_helpers import make_pipeline
    from opentelemetry.sdk.resources import Resource

    anon = Anonymizer(PrivacyPolicy(allowlist_keys=["peft.*"]), secret=lambda: SECRET, home_dir=HOME)
    pipeline = make_pipeline(anon, Resource.create({"session.id": "s-1", "host.name": "kim-pc"}))
    with pipeline.provider.get_tracer("t").start_as_current_span(
        "x", attributes={"peft.category": "error", "free": "y"}
    ) as span:
        span.record_exception(ValueError("bad value for kim@example.com"))
    (stored,) = pipeline.spans()
    pipeline.provider.shutdown()
    assert dict(stored.attributes) == {
        "peft.category": "error",
        "peft.redactions": '{"key.hostname":1,"key.not_allowlisted":2,"value.email":2}',
    }
    assert stored.resource.attributes["session.id"] == "s-1"
    assert "host.name" not in stored.resource.attributes
    event = stored.events[0].attributes
    assert event["exception.message"] == "bad value for <email>"
    assert "exception.escaped" not in event  # an ordinary event attribute: not on the list
