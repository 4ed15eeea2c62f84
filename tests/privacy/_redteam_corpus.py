"""The red-team corpus: personal data planted in every class the outside red team used.

Each :class:`Attack` is a value (or a key) and the *needles*: the strings that, found anywhere in what is
stored, exported or logged, mean the attack worked. Needles are the personal part only (the user name in a
path, the local part of an address, the password), in every spelling the attack used (fullwidth, encoded,
UTF-16), at least six characters so that they cannot occur by chance in ids or timestamps.

The names, hosts and numbers are invented for this corpus; none comes from the project's own detectors'
tests. test_redteam.py places every attack in every channel that can carry it.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Final

NAME_A: Final = "Siobhan Okonkwo"
NAME_B: Final = "Priyanka Raghunathan"
USER: Final = "jsmithers"
CORP: Final = "acme-corp"
PASSWORD: Final = "Tr0ub4dor"
SAFE_SECRET: Final = "c0ffee55319a"  # safe by shape (a hex digest): only a key rule can remove it


def _luhn_complete(prefix: str, length: int = 16) -> str:
    digits = [int(c) for c in prefix]
    for check in range(10):
        candidate = [*digits, check]
        total = 0
        for i, d in enumerate(reversed(candidate)):
            if i % 2 == 1:
                d *= 2
                if d > 9:
                    d -= 9
            total += d
        if total % 10 == 0 and len(candidate) == length:
            return "".join(map(str, candidate))
    raise AssertionError("no check digit")


CARD_VISA: Final = _luhn_complete("411173059621884")
CARD_MIR: Final = _luhn_complete("220073059621884")


def _grouped(card: str, sep: str = " ") -> str:
    return sep.join(card[i : i + 4] for i in range(0, 16, 4))


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@dataclass(frozen=True)
class Attack:
    """A planted value (``key`` set: the value is planted under that key; the key rule must remove it)."""

    cls: str
    value: str | list[str] | float
    needles: tuple[str, ...]
    key: str | None = None
    tags: frozenset[str] = field(default_factory=frozenset)

    @property
    def label(self) -> str:
        return f"{self.cls}:{self.key or ''}:{str(self.value)[:40]!r}"


_EMAIL = "siobhan.okonkwo@example.com"
_EMAIL_NEEDLES = ("okonkwo", "siobhan")

# --- 1. keys: a safe-by-shape value under a denied key, in many languages and spellings --------------------
_DENIED_KEYS: Final = (
    "contraseña", "CONTRASEÑA", "passwort", "Kennwort", "mot_de_passe", "senha", "пароль", "密码", "パスワード",
    "비밀번호", "ｐａｓｓｗｏｒｄ", "pаsswоrd", "pass\u200bword", "nombre", "apellido", "benutzer",
    "Benutzername", "utilisateur", "usuario", "nome_utente", "created_by", "person", "имя", "фамилия",
    "用户名", "ユーザー名", "telefono", "téléphone", "geburtsdatum", "dirección", "correo", "courriel",
    "user_email_adresse", "secreto", "personalausweis", "dni",
)  # fmt: skip
KEY_ATTACKS: Final = tuple(Attack("keys", SAFE_SECRET, ("ffee55319a",), key=k) for k in _DENIED_KEYS) + tuple(
    Attack("keys", "10.20.30.40", ("10.20.30.40",), key=k) for k in ("server", "resolver", "build_host", "dns_server")
)

# --- values, placed as free values ------------------------------------------------------------------------
VALUE_ATTACKS: Final = (
    # 2. encodings
    Attack("encodings", "siobhan.okonkwo＠example.com", _EMAIL_NEEDLES),
    Attack("encodings", "sio\u200bbhan.oko\u200bnkwo@exa\u200bmple.com", (*_EMAIL_NEEDLES, "oko\u200bnkwo")),
    Attack("encodings", "jürgen.weißmüller@bücher.de", ("weißmüller", "weissmuller", "jürgen")),
    Attack("encodings", "siobhan.okonkwo%40example.com", _EMAIL_NEEDLES),
    Attack("encodings", "siobhan.okonkwo%2540example.com", _EMAIL_NEEDLES),
    Attack("encodings", f"token={_b64(_EMAIL)}", (*_EMAIL_NEEDLES, _b64(_EMAIL)[:16])),
    Attack("encodings", "siobhan.okonkwo [at] example [dot] com", _EMAIL_NEEDLES),
    Attack("encodings", "siobhan.okonkwo(at)example(dot)com", _EMAIL_NEEDLES),
    Attack("encodings", "siobhan&#46;okonkwo&#64;example&#46;com", _EMAIL_NEEDLES),
    Attack("encodings", _EMAIL.encode("utf-16-le").decode("latin-1"), ("o\x00k\x00o\x00n\x00k\x00w\x00o",)),
    Attack("encodings", f"%2Fhome%2F{USER}%2Fdata%2Ftrain.csv", (USER,)),
    Attack("encodings", f"%252Fhome%252F{USER}%252Fdata", (USER,)),
    # 3. order: cuts before scrubbing
    Attack("order", "x" * 150 + " " + _EMAIL, _EMAIL_NEEDLES, tags=frozenset({"long"})),
    Attack("order", "step " * 2100 + _grouped(CARD_VISA), (_grouped(CARD_VISA)[5:14], CARD_VISA[4:12])),
    Attack("order", "a" * 120 + " sk-ant-api03-Qm4xZr8TnW2pLk9VbYc7HdJf3Gs6", ("Qm4xZr8TnW",)),
    # 4. coverage: URLs with paths under an unknown host
    Attack("coverage", f"https://intranet.{CORP}.com/users/{USER}/profile?tab=1", (USER, CORP)),
    Attack("coverage", f"/users/{USER}/adapters", (USER,)),
    # 6. free text
    Attack("free_text", f"Training started by {NAME_A}", ("okonkwo", "siobhan")),
    Attack("free_text", f"KeyError: '{USER}'", (USER,)),
    Attack("free_text", "KeyError: 'okonkwo'", ("okonkwo",)),
    Attack("free_text", f'FATAL:  password authentication failed for user "{USER}"', (USER,)),
    Attack("free_text", f"Dataset row: 'Mi nombre es {NAME_B} y vivo en Sevilla'", ("raghunathan", "priyanka")),
    Attack("free_text", f"Hello {NAME_B}, your run finished", ("raghunathan", "priyanka")),
    Attack("free_text", f"{NAME_A} uploaded adapter v2", ("okonkwo", "siobhan")),
    Attack("free_text", "ValueError: Could not parse 'Okonkwo, Siobhan; 12 Harbour Road'", ("okonkwo", "siobhan")),
    # 7. hosts
    Attack("hosts", f"connect to db01.{CORP}.internal:5432 failed", (CORP,)),
    Attack("hosts", f"{USER}-laptop.local", (USER,)),
    Attack("hosts", "okonkwo-nas.home.arpa unreachable", ("okonkwo",)),
    Attack("hosts", f"HTTPConnectionPool(host='gitlab.{CORP}.com', port=443): Max retries exceeded", (CORP,)),
    Attack("hosts", f"postgresql://svc:{PASSWORD}x@db.{CORP}.com:5432/prod", (PASSWORD, CORP)),
    Attack("hosts", "ip-10-77-12-34.ec2.internal", ("10-77-12-34",)),
    Attack("hosts", f"build ran on jenkins.{CORP}.lan", (CORP,)),
    # 8. credentials in prose and split values
    Attack("credentials", f"machine api.{CORP}.com login {USER} password {PASSWORD}&3", (USER, PASSWORD, CORP)),
    Attack("credentials", f"my password is {PASSWORD}&3", (PASSWORD,)),
    Attack("credentials", "Cookie: theme=dark; sessionid=8f3kq9zz1x; csrftoken=Zq81xWm4", ("8f3kq9zz1x", "Zq81xWm4")),
    Attack("credentials", ["sk-ant-api03-", "Xk29fLq0PzR7tYvW3mN8bC5dE1gH4jK6"], ("Xk29fLq0PzR7",)),
    Attack("credentials", f"https://{USER}:p/ss{PASSWORD}@git.{CORP}.com/repo.git", (USER, PASSWORD, CORP)),
    # 9. paths
    Attack("paths", f"/home/{NAME_A}/projects/train.py", ("okonkwo", "siobhan")),
    Attack("paths", f"~{USER}/data/train.csv", (USER,)),
    Attack("paths", f"home/{USER}/data/x.py", (USER,)),
    Attack("paths", ["/home", USER, "data", "train.py"], (USER,)),
    Attack("paths", "C:\\Users\\Okonkwo\\Documents\\model.bin", ("okonkwo",)),
    # 10. numbers
    Attack("numbers", "call +4915112345678 after 6", ("15112345678",)),
    Attack("numbers", "Tel. 0151 12345678", ("12345678",)),
    Attack("numbers", "appelez le 06 12 34 56 78", ("12 34 56 78",)),
    Attack("numbers", "phone 6502530000", ("6502530000",)),
    Attack("numbers", _fullwidth(CARD_VISA), (CARD_VISA[4:12], _fullwidth(CARD_VISA)[4:12])),
    Attack("numbers", _grouped(CARD_VISA, "."), (_grouped(CARD_VISA, ".")[5:14],)),
    Attack("numbers", _grouped(CARD_MIR), (_grouped(CARD_MIR)[5:14],)),
    Attack("numbers", float(CARD_VISA), (CARD_VISA[4:12], "4.11117305962")),
    Attack("numbers", [CARD_VISA[i : i + 4] for i in range(0, 16, 4)], (CARD_VISA[4:12], _grouped(CARD_VISA)[5:14])),
    Attack("numbers", "client ＿ １０.２０.３０.４０", ("10.20.30.40", "１０.２０.３０.４０")),
    Attack("numbers", "mac 00a1.b2c3.d4e5", ("b2c3.d4e5",)),
    Attack("numbers", "router 3c:22:fb:9a:11:07", ("fb:9a:11:07",)),
)

ATTACKS: Final = KEY_ATTACKS + VALUE_ATTACKS

#: Planted in OTEL_RESOURCE_ATTRIBUTES of the process that runs the service (keys and values).
RESOURCE_ENV: Final = (
    f"deployment.owner={_EMAIL},host.name={USER}-laptop.local,team.lead={NAME_A.replace(' ', '%20')},"
    f"build.server=10.20.30.41"
)
RESOURCE_NEEDLES: Final = ("okonkwo", "siobhan", USER, "10.20.30.41")
