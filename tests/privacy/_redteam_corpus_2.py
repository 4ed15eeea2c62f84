"""A second red-team corpus: classes and places the first one (_redteam_corpus.py) does not plant.

Same :class:`Attack` shape: a value (or a key) and its *needles*, the personal parts that must not be found,
case-insensitively, anywhere stored, exported, logged or written to the fleet lake. Names, hosts, numbers
and keys are invented here (none comes from the detectors' own tests); the card and IBANs carry valid
check digits, the tokens have their providers' shapes.

Classes: encodings and evasions (``MAILTO:``, ideographic full stop, joiners, bidi overrides, hex of an
address, URL-safe base64), IPv6 spellings, MAC addresses with dashes, bank and identity numbers (IBAN,
US SSN), provider tokens, PEM blocks of every kind, connection strings, authorization headers inside
messages, command lines (``--api-key=...``, ``--password x``, argv lists), XML elements, signed URLs,
paths of other users on macOS, Windows, UNC shares and WSL, the process's own ``$HOME`` written raw,
personal keys (an address as a property name), locations. Resource attributes the SDK and detectors fill in
(``process.command_line``, ``process.owner``, ``host.name`` ...) are in :data:`RESOURCE_ATTRIBUTES`.
"""

from __future__ import annotations

import base64
from typing import Any, Final

from _redteam_corpus import Attack, _luhn_complete

PERSON: Final = "Quentin Wojciechowska"
USER: Final = "qmarchetti"
#: Values that are safe by shape (vocabulary words, a known identifier): only the name beside them, a flag
#: or an element, can tell that they are a password, a key or a user name.
PASSWORD: Final = "correct-horse-battery-staple"
API_KEY: Final = "plainkey998877"
LOGIN: Final = "bright-falcon"
EMAIL: Final = "quentin.wojciechowska@example.org"
_E: Final = ("wojciechowska",)
#: The home folder of the process under test (set as $HOME before the service starts).
HOME_USER: Final = "zqxcarol"
HOME: Final = f"/home/{HOME_USER}"
CORP: Final = "globex-intra"
CARD: Final = _luhn_complete("542523343010990")  # Mastercard
IBAN_DE: Final = "DE89370400440532013000"
IBAN_GB: Final = "GB82WEST12345698765432"
IBAN_FR: Final = "FR1420041010050500013M02606"
HF: Final = "hf_RkVmQ2xtZ3pOa1BxUnN0VXZXeFl6MTIzNDU2"
GH: Final = "ghp_Zr8TnW2pLk9VbYc7HdJf3Gs6Qm4xAa1Bb2Cc"
OPENAI: Final = "sk-proj-Vb7Yc2HdJf9Gs3Qm4xZr8TnW2pLk6Aa"
AWS_ID: Final = "AKIAZ7QW3ERT5YUI9OPL"
GOOGLE: Final = "AIzaSyQm4xZr8TnW2pLk9VbYc7HdJf3Gs6Aa1Bb"
PEM_BODY: Final = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7"


def _b64url(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _hex(text: str) -> str:
    return text.encode().hex()


def _group(text: str) -> str:
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


_PEM: Final = tuple(
    f"-----BEGIN {kind}-----\n{PEM_BODY}\n-----END {kind}-----"
    for kind in ("OPENSSH PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "PGP PRIVATE KEY BLOCK")
)

VALUE_ATTACKS: Final = (
    # 1. encodings and evasions of an e-mail address
    Attack("evasion", f"MAILTO:{EMAIL}", _E),
    Attack("evasion", "quentin.wojciechowska@example\u3002org", _E),
    Attack("evasion", "quentin.wojcie\u200dchowska@exam\u2060ple.org", (*_E, "wojcie\u200dchowska")),
    Attack("evasion", f"\u202e{EMAIL}\u202c", _E),
    Attack("evasion", "quentin.wojciechowska\u2063@\u2063example.org", _E),
    Attack("evasion", "quentin.wojciechowska&#x40;example.org", _E),
    Attack("evasion", "qu\u0435ntin.wojciechowska@example.org", _E),  # Cyrillic e in the local part
    Attack("evasion", _b64url(EMAIL), (*_E, _b64url(EMAIL)[:16])),
    Attack("evasion", _hex(EMAIL), (*_E, _hex(EMAIL)[8:40])),
    Attack("evasion", f"payload=0x{_hex(EMAIL)}", (*_E, _hex(EMAIL)[8:40])),
    # 2. network addresses
    Attack("network", "peer fe80::1ff:fe23:4567:890a%eth0 connected", ("fe23:4567",)),
    Attack("network", "dial [2001:db8:85a3::8a2e:370:7334]:443 refused", ("8a2e:370:7334",)),
    Attack("network", "2001:0db8:0000:0000:0000:ff00:0042:8329", ("ff00:0042",)),
    Attack("network", "client ::ffff:198.51.100.77 closed", ("198.51.100.77",)),
    Attack("network", "nic 3C-22-FB-9A-11-07 up", ("FB-9A-11",)),
    Attack("network", "deployed build 192.168.41.23 to release 203.0.113.77", ("192.168.41.23", "203.0.113.77")),
    # 3. bank and identity numbers
    Attack("numbers", f"refund to IBAN {_group(IBAN_DE)} today", (_group(IBAN_DE)[5:19], IBAN_DE[4:])),
    Attack("numbers", f"iban={IBAN_GB}", (IBAN_GB[4:],)),
    Attack("numbers", f"Konto {IBAN_FR} bitte", (IBAN_FR[4:],)),
    Attack("numbers", "My SSN is 219-09-9999, please update", ("219-09-9999",)),
    Attack("numbers", "passport number is X7Q4410293", ("X7Q4410293",)),
    Attack("numbers", "ssn 219099999 on file", ("219099999",)),
    Attack(
        "numbers", f"card {CARD[:4]}-{CARD[4:8]}-{CARD[8:12]}-{CARD[12:]}", (CARD[4:12], CARD[4:8] + "-" + CARD[8:12])
    ),
    # 4. tokens and keys
    Attack("tokens", f"HF_TOKEN={HF} python train.py", (HF[3:20],)),
    Attack("tokens", f"login with {HF}", (HF[3:20],)),
    Attack("tokens", f"git push https://x-access-token:{GH}@github.com/o/r", (GH[4:20],)),
    Attack("tokens", f"client = OpenAI(api_key='{OPENAI}')", (OPENAI[8:24],)),
    Attack("tokens", f"aws configure set aws_access_key_id {AWS_ID}", (AWS_ID[4:],)),
    Attack("tokens", f"maps?key={GOOGLE}", (GOOGLE[6:22],)),
    *(Attack("tokens", pem, (PEM_BODY[8:30],)) for pem in _PEM),
    Attack("tokens", f"-----BEGIN RSA PRIVATE KEY----- {PEM_BODY} -----END RSA PRIVATE KEY-----", (PEM_BODY[8:30],)),
    # 5. credentials in connection strings, headers and command lines
    Attack("connection", f"postgres://{USER}:Pg-Zq81xWm4@db.{CORP}.net:5432/app", (USER, "Zq81xWm4", CORP)),
    Attack("connection", f"mongodb+srv://{USER}:Mg-Kp55vTr9@cluster0.ab1cd.mongodb.net/test", (USER, "Kp55vTr9")),
    Attack("connection", "redis://:Rd-Lq82nVx3@cache:6379/0", ("Lq82nVx3",)),
    Attack("connection", f"Server=tcp:db;Database=app;User Id={USER};Password=Ms-Tq47pWz1;", (USER, "Tq47pWz1")),
    Attack("connection", f"host=db user={USER} password=Lp-Wx39kQa2 dbname=app", (USER, "Wx39kQa2")),
    Attack("connection", f"Driver={{ODBC Driver 18}};Server=db;Uid={LOGIN};Pwd={PASSWORD};", (LOGIN, PASSWORD)),
    Attack("connection", f"ftp user={LOGIN};pass={PASSWORD}", (LOGIN, PASSWORD)),
    Attack("headers", "request failed: Authorization: Bearer Bz71qPLmX0aWv3NcR8", ("Bz71qPLmX0aWv3",)),
    Attack("headers", "Proxy-Authorization: Basic cW1hcmNoZXR0aTpTM2NyM3Q=", ("cW1hcmNoZXR0aTpT",)),
    Attack("headers", "curl -H 'X-Api-Key: Xk-Hv62mTq8Ls' https://api.example.org", ("Hv62mTq8Ls",)),
    Attack("cli", f"python train.py --api-key={API_KEY}", (API_KEY,)),
    Attack("cli", f"python train.py --api-key {API_KEY} --lr 2e-4", (API_KEY,)),
    Attack("cli", f"accelerate launch train.py --password={PASSWORD}", (PASSWORD,)),
    Attack("cli", f"torchrun train.py -password {PASSWORD}", (PASSWORD,)),
    Attack("cli", f"python train.py --user {LOGIN} --epochs 3", (LOGIN,)),
    Attack("cli", f"python train.py --secret-key '{API_KEY}'", (API_KEY,)),
    Attack("cli", ["python", "train.py", "--password", PASSWORD], (PASSWORD,)),
    Attack("cli", ["train.py", "--api-key", API_KEY], (API_KEY,)),
    Attack("xml", f"<config><password>{PASSWORD}</password></config>", (PASSWORD,)),
    Attack("xml", f"<user><username>{LOGIN}</username></user>", (LOGIN,)),
    Attack("xml", f'<s:token type="x">{API_KEY}</s:token>', (API_KEY,)),
    # 6. signed URLs: the signature is the credential
    Attack("signed_url", "GET https://bucket.s3.amazonaws.com/k?X-Amz-Signature=" + "9f3e" * 16, ("9f3e" * 8,)),
    Attack("signed_url", "https://acct.blob.core.windows.net/c/b?sv=2022-11-02&sig=" + "a7c1" * 10, ("a7c1" * 6,)),
    # 7. paths of other users, and this process's own home written raw
    Attack("paths", "/Users/jane.wojciechowska/Library/Caches/x.py", _E),
    Attack("paths", f"C:/Users/{USER}/AppData/Local/x.py", (USER,)),
    Attack("paths", f"c:\\users\\{USER}\\x.py", (USER,)),
    Attack("paths", f"\\\\fileserver\\home$\\{USER}\\x.py", (USER,)),
    Attack("paths", f"/mnt/c/Users/{USER}/data/x.csv", (USER,)),
    Attack("paths", f"\\\\wsl$\\Ubuntu\\home\\{USER}\\x.py", (USER,)),
    Attack("paths", f"\\\\wsl.localhost\\Ubuntu\\home\\{USER}\\x.py", (USER,)),
    Attack("paths", f"\\\\?\\C:\\Users\\{USER}\\x.py", (USER,)),
    Attack("paths", f"file:///Users/{USER}/x.py", (USER,)),
    Attack("paths", f"/var/home/{USER}/x", (USER,)),
    Attack("paths", f"{HOME}/.cache/huggingface/hub", (HOME_USER,)),
    Attack("paths", f"cd {HOME} && python train.py", (HOME_USER,)),
    Attack("paths", f"HOME={HOME}", (HOME_USER,)),
    Attack("paths", f"/HOME/{HOME_USER.upper()}/x", (HOME_USER,)),
    Attack("paths", f"    at Object.<anonymous> (/Users/{USER}/app/index.js:3:9)", (USER,)),
    Attack("paths", f"    at handler (webpack:///./src/users/{USER}.js:10:5)", (USER,)),
    Attack("paths", "saved wojciechowska_run2.py and wojciechowska2.csv", _E),  # a digit is no licence
    Attack(
        "paths",
        'Traceback (most recent call last):\n  File "/srv/wojciechowska_exp2.py", line 3, in <module>\nValueError: x',
        _E,
    ),
    # 8. people and places in prose
    Attack("prose", f"run by {PERSON}", _E),
    Attack("prose", f"{PERSON.upper()} uploaded adapter v2", _E),
    Attack("prose", "adapter-quentin-wojciechowska-v2", _E),
    Attack("prose", "lat=48.858844&lon=2.294351", ("48.858844", "2.294351")),
)

#: Values planted under a key that the key rules remove, or keys that are themselves personal.
KEY_ATTACKS: Final = (
    Attack("keys", "3", _E, key=EMAIL),
    Attack("keys", "1", (USER,), key=f"/Users/{USER}/notes.txt"),
    Attack("keys", "48.858844", ("48.858844",), key="lat"),
    Attack("keys", "2.294351", ("2.294351",), key="lng"),
    Attack("keys", "9f3e" * 16, ("9f3e" * 8,), key="X-Amz-Signature"),
)

ATTACKS: Final = VALUE_ATTACKS + KEY_ATTACKS

#: Nested and JSON-text properties (track_event, the REST intake and preview take mappings).
STRUCTURED: Final[tuple[tuple[str, dict[str, Any], tuple[str, ...]], ...]] = (
    ("nested", {"users": {EMAIL: {"runs": 3}}}, _E),
    ("nested", {"request": {"headers": {"X-Forwarded-For": "198.51.100.23", "Cookie": "sid=Sd8Kq2Lm9"}}},
     ("198.51.100.23", "Sd8Kq2Lm9")),
    ("json_text", {"cfg": f'{{"hf_token": "{HF}", "note": "{PERSON}"}}'}, (HF[3:20], *_E)),
    ("json_text", {"cfg": f'[{{"argv": ["--password", "{PASSWORD}"]}}]'}, (PASSWORD,)),
    ("argv", {"argv": ["python", "train.py", "--user", LOGIN, "--api-key", API_KEY]}, (LOGIN, API_KEY)),
    ("long", {"log": "ok " * 400 + f"contact {EMAIL}"}, _E),
)  # fmt: skip

#: Resource attributes of a remote sender (OTLP): what SDK resource detectors fill in.
RESOURCE_ATTRIBUTES: Final[dict[str, Any]] = {
    "service.name": "redteam-two",
    "process.command_line": f"python /home/{USER}/train.py --api-key={API_KEY} --user {LOGIN}",
    "process.command_args": ("python", f"/Users/{USER}/train.py", "--password", PASSWORD),
    "process.owner": USER,
    "process.executable.path": f"/Users/{USER}/.venv/bin/python",
    "host.name": f"{USER}-mbp.{CORP}.lan",
    "os.description": f"Linux {USER}-desktop 6.5.0-14-generic",
    "k8s.pod.name": f"{USER}-job-7f9c",
    "deployment.contact": EMAIL,
}
RESOURCE_NEEDLES: Final = (USER, API_KEY, PASSWORD, LOGIN, CORP, *_E)

#: Look-alikes of the shapes above in benign ML telemetry: they must come out unchanged.
BENIGN: Final = (
    "python -u train.py --lora_r 16 --learning_rate 2e-4 --output_dir out --bf16",
    "accelerate launch --num_processes 8 --mixed_precision bf16 train.py",
    "--model_name_or_path meta-llama/Llama-2-7b-hf --dataset_name squad_v2",
    "--host 0.0.0.0 --port 8000",
    "commit 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b",
    "sha256:e3b0c44298fc1c149afbfc8996fb92427ae41e4649b934ca495991b7852b855",
    "H100-80GB-HBM3",
    "GB200 NVL72",
    "<model>llama-2-7b</model>",
    "model_signature",
    "torch 2.1.0+cu121",
    "step 1200/5000 loss=1.234",
    "DE12 layer norm",
)
