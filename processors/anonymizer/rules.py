"""The catalogue of anonymization rules: one id, one description, one marker per rule.

Every redaction the engine makes is counted under one of these ids, and the consent screen's "what we never
collect" list is generated from :func:`builtin_rules`, so the screen cannot drift from the code. A rule id is
stable (analytics group by it); descriptions are for people.
"""

from __future__ import annotations

from typing import Final, Literal

from pydantic import BaseModel, ConfigDict

RuleKind = Literal["key", "value", "path", "identifier"]


class RuleInfo(BaseModel):
    """One anonymization rule, as shown to users.

    ``kind`` says where the rule looks: ``key`` rules match field names (and ``key=value`` pairs in text),
    ``value`` rules match what a string contains, ``path`` rules rewrite file-system paths, ``identifier``
    rules replace ids by a keyed hash. ``marker`` is what replaces a match; it never contains the match.
    ``builtin`` is false for the patterns of the user's own privacy policy.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    description: str
    marker: str
    kind: RuleKind
    builtin: bool = True


# Markers. A structured field whose key matches a key rule is removed outright; the marker below is what
# replaces the value when the same key appears in free text (``password=...``) or in a URL query.
KEY_MARKER: Final = "<redacted>"

# --- key rules -------------------------------------------------------------------------------------------
KEY_EMAIL: Final = "key.email"
KEY_USERNAME: Final = "key.username"
KEY_PERSON_NAME: Final = "key.person_name"
KEY_PASSWORD: Final = "key.password"
KEY_SECRET: Final = "key.secret"
KEY_TOKEN: Final = "key.token"
KEY_API_KEY: Final = "key.api_key"
KEY_AUTH: Final = "key.auth"
KEY_COOKIE: Final = "key.cookie"
KEY_CREDENTIAL: Final = "key.credential"
KEY_GOVERNMENT_ID: Final = "key.government_id"
KEY_PHONE: Final = "key.phone"
KEY_ADDRESS: Final = "key.address"
KEY_IP: Final = "key.ip"
KEY_HOST: Final = "key.hostname"
KEY_BIRTHDATE: Final = "key.birthdate"
KEY_CUSTOM: Final = "key.custom"
KEY_NOT_ALLOWLISTED: Final = "key.not_allowlisted"

# --- identifiers -----------------------------------------------------------------------------------------
ID_HASHED: Final = "id.hashed"

# --- value rules -----------------------------------------------------------------------------------------
VALUE_EMAIL: Final = "value.email"
VALUE_IPV4: Final = "value.ipv4"
VALUE_IPV6: Final = "value.ipv6"
VALUE_MAC: Final = "value.mac_address"
VALUE_CARD: Final = "value.credit_card"
VALUE_PHONE: Final = "value.phone"
VALUE_IBAN: Final = "value.iban"
VALUE_NATIONAL_ID: Final = "value.national_id"
SECRET_JWT: Final = "secret.jwt"
SECRET_BEARER: Final = "secret.bearer"
SECRET_BASIC: Final = "secret.basic_auth"
SECRET_AWS: Final = "secret.aws_access_key_id"
SECRET_GITHUB: Final = "secret.github"
SECRET_GITLAB: Final = "secret.gitlab"
SECRET_SLACK: Final = "secret.slack"
SECRET_GOOGLE: Final = "secret.google"
SECRET_OPENAI: Final = "secret.openai"
SECRET_ANTHROPIC: Final = "secret.anthropic"
SECRET_HUGGINGFACE: Final = "secret.huggingface"
SECRET_STRIPE: Final = "secret.stripe"
SECRET_PACKAGE_REGISTRY: Final = "secret.package_registry"
SECRET_PRIVATE_KEY: Final = "secret.private_key"
SECRET_URL_USERINFO: Final = "secret.url_userinfo"
SECRET_HIGH_ENTROPY: Final = "secret.high_entropy"
MESSAGE_EXTRA_LINES: Final = "message.extra_lines"
STACK_SOURCE_LINES: Final = "stacktrace.dropped_lines"
LIMIT_TRUNCATED: Final = "limit.truncated"
LIMIT_DEPTH: Final = "limit.depth"
VALUE_UNSERIALIZABLE: Final = "value.unsupported_type"
VALUE_HOST: Final = "value.host"
SECRET_ENCODED: Final = "secret.encoded"
VALUE_SPLIT: Final = "value.split_across_list"
KEY_UNDECLARED: Final = "key.undeclared"

# --- free-text rules (freetext.py) -----------------------------------------------------------------------
TEXT_UNKNOWN_WORD: Final = "text.unknown_word"
TEXT_NAME: Final = "text.name"
TEXT_QUOTED: Final = "text.quoted"

# --- path rules ------------------------------------------------------------------------------------------
PATH_HOME: Final = "path.home"
PATH_USER_HOME: Final = "path.other_home"
PATH_ABSOLUTE: Final = "path.absolute"
PATH_RELATIVE: Final = "path.relative"
PATH_PACKAGE: Final = "path.package"

#: Marker per value rule; key rules all use KEY_MARKER inside text.
MARKERS: Final[dict[str, str]] = {
    VALUE_EMAIL: "<email>",
    VALUE_IPV4: "<ip>",
    VALUE_IPV6: "<ip>",
    VALUE_MAC: "<mac>",
    VALUE_CARD: "<card>",
    VALUE_PHONE: "<phone>",
    VALUE_IBAN: "<iban>",
    VALUE_NATIONAL_ID: "<id-number>",
    SECRET_JWT: "<secret:jwt>",
    SECRET_BEARER: "<secret:bearer>",
    SECRET_BASIC: "<secret:basic>",
    SECRET_AWS: "<secret:aws>",
    SECRET_GITHUB: "<secret:github>",
    SECRET_GITLAB: "<secret:gitlab>",
    SECRET_SLACK: "<secret:slack>",
    SECRET_GOOGLE: "<secret:google>",
    SECRET_OPENAI: "<secret:openai>",
    SECRET_ANTHROPIC: "<secret:anthropic>",
    SECRET_HUGGINGFACE: "<secret:huggingface>",
    SECRET_STRIPE: "<secret:stripe>",
    SECRET_PACKAGE_REGISTRY: "<secret:registry>",
    SECRET_PRIVATE_KEY: "<secret:private_key>",
    SECRET_URL_USERINFO: "<credentials>",
    SECRET_HIGH_ENTROPY: "<secret>",
    PATH_HOME: "~",
    PATH_USER_HOME: "<home>",
    LIMIT_TRUNCATED: "<truncated>",
    LIMIT_DEPTH: "<truncated>",
    VALUE_UNSERIALIZABLE: "<unsupported>",
    VALUE_HOST: "<host>",
    SECRET_ENCODED: "<secret:encoded>",
    VALUE_SPLIT: "<redacted>",
    TEXT_UNKNOWN_WORD: "<word>",
    TEXT_NAME: "<name>",
    TEXT_QUOTED: "<text>",
}

_KEY: RuleKind = "key"
_VALUE: RuleKind = "value"
_PATH: RuleKind = "path"

_CATALOGUE: Final[tuple[tuple[str, RuleKind, str, str], ...]] = (
    (KEY_EMAIL, _KEY, "(field removed)", "Fields named like an e-mail address (email, userEmail, e_mail)."),
    (KEY_USERNAME, _KEY, "(field removed)", "User names and logins (username, user, login, owner, uid)."),
    (
        KEY_PERSON_NAME,
        _KEY,
        "(field removed)",
        "Names of people (name, first/last/full/display name, author). Names of things such as "
        "model_name, adapter_name, dataset_name or service.name are kept.",
    ),
    (KEY_PASSWORD, _KEY, "(field removed)", "Passwords and passphrases (password, passwd, pwd, pass)."),
    (
        KEY_SECRET,
        _KEY,
        "(field removed)",
        "Secrets, private keys and request signatures (client_secret, private_key, X-Amz-Signature).",
    ),
    (
        KEY_TOKEN,
        _KEY,
        "(field removed)",
        "Access, refresh, id and API tokens. Token counts (max_tokens, pad_token_id) are kept.",
    ),
    (KEY_API_KEY, _KEY, "(field removed)", "API keys and access keys (api_key, X-Api-Key, access_key)."),
    (KEY_AUTH, _KEY, "(field removed)", "Authentication data (auth, Authorization, bearer, csrf, jwt)."),
    (KEY_COOKIE, _KEY, "(field removed)", "Cookies and session cookies."),
    (KEY_CREDENTIAL, _KEY, "(field removed)", "Anything named a credential."),
    (KEY_GOVERNMENT_ID, _KEY, "(field removed)", "Social security, national id, tax id and passport numbers."),
    (KEY_PHONE, _KEY, "(field removed)", "Phone, mobile and fax numbers."),
    (KEY_ADDRESS, _KEY, "(field removed)", "Postal and network addresses, locations (address, zip, lat/lon)."),
    (KEY_IP, _KEY, "(field removed)", "IP addresses by field name (ip, client_ip, X-Forwarded-For)."),
    (KEY_HOST, _KEY, "(field removed)", "Host and machine names (they often contain a person's name)."),
    (KEY_BIRTHDATE, _KEY, "(field removed)", "Dates of birth."),
    (KEY_CUSTOM, _KEY, "(field removed)", "Fields your privacy policy denies (extra_denied_keys)."),
    (KEY_NOT_ALLOWLISTED, _KEY, "(field removed)", "In allowlist mode: every field not on the list."),
    (
        KEY_UNDECLARED,
        _KEY,
        "(field removed)",
        "In strict catalog mode: every property an event's declaration does not list.",
    ),
    (
        ID_HASHED,
        "identifier",
        "16 hex characters",
        "User ids and other chosen identifiers are replaced by an HMAC-SHA256 keyed with a secret that "
        "never leaves this machine (a plain hash of a small id space can be reversed).",
    ),
    (VALUE_EMAIL, _VALUE, MARKERS[VALUE_EMAIL], "E-mail addresses anywhere in text."),
    (
        VALUE_IPV4,
        _VALUE,
        MARKERS[VALUE_IPV4],
        "IPv4 addresses: any dotted quad of octets up to 255, except loopback (127.x) and 0.0.0.0, and "
        "except under a key named like 'version' or 'build', where four-part versions live, and four-part "
        "versions after a product or version word (TensorRT 10.0.1.6) whose first part is below 100.",
    ),
    (
        VALUE_IPV6,
        _VALUE,
        MARKERS[VALUE_IPV6],
        "IPv6 addresses (except ::1 and ::), also with a zone, a port or a line:column glued on.",
    ),
    (VALUE_MAC, _VALUE, MARKERS[VALUE_MAC], "Hardware (MAC) addresses."),
    (VALUE_CARD, _VALUE, MARKERS[VALUE_CARD], "Payment card numbers (Luhn-checked, known issuer prefixes)."),
    (VALUE_PHONE, _VALUE, MARKERS[VALUE_PHONE], "Phone numbers (+country code, or grouped like 555-123-4567)."),
    (VALUE_IBAN, _VALUE, MARKERS[VALUE_IBAN], "Bank account numbers (IBAN: country length and mod-97 checked)."),
    (
        VALUE_NATIONAL_ID,
        _VALUE,
        MARKERS[VALUE_NATIONAL_ID],
        "US social security numbers written AAA-GG-SSSS (with the SSA's structure rules).",
    ),
    (SECRET_JWT, _VALUE, MARKERS[SECRET_JWT], "JSON Web Tokens."),
    (SECRET_BEARER, _VALUE, MARKERS[SECRET_BEARER], "Bearer credentials."),
    (SECRET_BASIC, _VALUE, MARKERS[SECRET_BASIC], "HTTP Basic credentials."),
    (SECRET_AWS, _VALUE, MARKERS[SECRET_AWS], "AWS access key ids."),
    (SECRET_GITHUB, _VALUE, MARKERS[SECRET_GITHUB], "GitHub tokens (ghp_, gho_, github_pat_, ...)."),
    (SECRET_GITLAB, _VALUE, MARKERS[SECRET_GITLAB], "GitLab tokens (glpat-, ...)."),
    (SECRET_SLACK, _VALUE, MARKERS[SECRET_SLACK], "Slack tokens (xoxb-, xoxp-, ...) and webhook URLs."),
    (SECRET_GOOGLE, _VALUE, MARKERS[SECRET_GOOGLE], "Google API keys and OAuth tokens (AIza..., ya29.)."),
    (SECRET_OPENAI, _VALUE, MARKERS[SECRET_OPENAI], "OpenAI keys (sk-, sk-proj-)."),
    (SECRET_ANTHROPIC, _VALUE, MARKERS[SECRET_ANTHROPIC], "Anthropic keys (sk-ant-)."),
    (SECRET_HUGGINGFACE, _VALUE, MARKERS[SECRET_HUGGINGFACE], "Hugging Face tokens (hf_)."),
    (SECRET_STRIPE, _VALUE, MARKERS[SECRET_STRIPE], "Stripe secret keys."),
    (SECRET_PACKAGE_REGISTRY, _VALUE, MARKERS[SECRET_PACKAGE_REGISTRY], "npm and PyPI upload tokens."),
    (SECRET_PRIVATE_KEY, _VALUE, MARKERS[SECRET_PRIVATE_KEY], "PEM private key blocks."),
    (SECRET_URL_USERINFO, _VALUE, MARKERS[SECRET_URL_USERINFO], "user:password@ in URLs."),
    (
        SECRET_HIGH_ENTROPY,
        _VALUE,
        MARKERS[SECRET_HIGH_ENTROPY],
        "Long random-looking strings (20+ characters mixing letters and digits). Hex digests such as git "
        "commit ids and sha256 sums, and UUIDs, are kept: they are common in ML tooling and identify "
        "artifacts, not people.",
    ),
    (
        VALUE_HOST,
        _VALUE,
        MARKERS[VALUE_HOST],
        "Host names (company and home network names, cloud instance names, hosts in URLs and error "
        "messages), except a short list of public hosts (huggingface.co, github.com, pypi.org, wandb.ai, ...).",
    ),
    (
        SECRET_ENCODED,
        _VALUE,
        MARKERS[SECRET_ENCODED],
        "Base64-looking tokens and hex runs whose decoded text holds anything another rule removes.",
    ),
    (
        VALUE_SPLIT,
        _VALUE,
        MARKERS[VALUE_SPLIT],
        "Lists whose items, joined, hold anything another rule removes (a card number or path split across elements).",
    ),
    (
        TEXT_UNKNOWN_WORD,
        _VALUE,
        MARKERS[TEXT_UNKNOWN_WORD],
        "In free text (messages, names, error text), words outside the shipped vocabulary (English, ML, "
        "Python and CUDA words): names of people, user names and anything else nobody can list in advance.",
    ),
    (
        TEXT_NAME,
        _VALUE,
        MARKERS[TEXT_NAME],
        "In free text, capitalized words inside a sentence that are also family names (Baker, Grant).",
    ),
    (
        TEXT_QUOTED,
        _VALUE,
        MARKERS[TEXT_QUOTED],
        "In free text, quoted parts (such as a dataset row echoed by an error) unless they are identifiers, "
        "numbers, versions or file names.",
    ),
    (MESSAGE_EXTRA_LINES, _VALUE, "(dropped)", "Error messages keep their first line only."),
    (
        STACK_SOURCE_LINES,
        _VALUE,
        "(dropped)",
        "Stack traces keep exception types, file names, line and function names; source lines and "
        "local variables are dropped.",
    ),
    (LIMIT_TRUNCATED, _VALUE, MARKERS[LIMIT_TRUNCATED], "Very long strings are cut (max_string_length)."),
    (LIMIT_DEPTH, _VALUE, MARKERS[LIMIT_DEPTH], "Very deeply nested or very large structures are cut."),
    (VALUE_UNSERIALIZABLE, _VALUE, MARKERS[VALUE_UNSERIALIZABLE], "Values that are not plain data."),
    (PATH_HOME, _PATH, "~", "Your home folder, in any spelling (either separator, file://, percent-encoded)."),
    (
        PATH_USER_HOME,
        _PATH,
        "<home>",
        "Other users' home folders (/home/x, /Users/x, C:\\Users\\x) lose the user name.",
    ),
    (PATH_ABSOLUTE, _PATH, "file name only", "Absolute paths keep only their file name."),
    (PATH_RELATIVE, _PATH, "file name only", "./ and ../ paths keep only their file name."),
    (
        PATH_PACKAGE,
        _PATH,
        "package-relative path",
        "Files inside installed packages keep their path inside the package "
        "(site-packages/torch/nn/module.py becomes torch/nn/module.py).",
    ),
)


def builtin_rules() -> list[RuleInfo]:
    """All built-in rules, in display order."""
    return [RuleInfo(id=i, kind=k, marker=m, description=d) for i, k, m, d in _CATALOGUE]


def marker_for(rule_id: str) -> str:
    """The marker a value rule writes; custom pattern rules get ``<redacted:rule_id>``."""
    return MARKERS.get(rule_id) or f"<redacted:{rule_id}>"
