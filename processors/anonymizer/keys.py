"""Key rules: decide from a field's name alone whether its value is removed, hashed or kept.

Keys are normalized (lowercase, separators removed) and split into words (``clientIP`` -> client, ip), so
``access_token``, ``client_secret``, ``X-Api-Key``, ``userEmail`` and ``passwd`` all match. Substring rules
use the normalized form; short, ambiguous words (``ip``, ``ssn``, ``pwd``) must be whole words, otherwise
``zip``, ``clip`` or ``gradient_clip`` would be removed.

Two rules need care because the same word names both people's data and harmless ML facts:

* ``name``: a key ending in ``name`` is a person's name unless the word before it names a thing
  (``model_name``, ``adapter_name``, ``dataset_name``, ``service.name``, ``span.name``, ``file_name``, ...).
  A bare ``name`` is removed. Nested keys are judged by their dotted path, so ``model.name`` is kept and
  ``user.name`` is removed.
* ``token``: credentials (``access_token``, ``hf_token``, ``token``) are removed; token counts and special
  tokens (``max_tokens``, ``max_new_tokens``, ``pad_token_id``, ``eos_token``, ``tokenizer``) are kept.

Decisions are cached per key: keys come from code and repeat on every span.
"""

from __future__ import annotations

import re
from typing import Final

from processors._bounded_cache import BoundedCache

from . import rules
from .keywords import PERSON_LAST_WORDS, VERSION_WORDS, folded_words
from .normalize import fold_key_words
from .policy import PrivacyPolicy, normalize_key

_WORDS: Final = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def _words(text: str) -> list[str]:
    return text.split()


# Words that, placed before "name", make it the name of a thing rather than of a person.
_THING_OWNERS: Final = tuple(
    _words(
        "model adapter dataset data service span event metric file scope sdk os task algorithm algo optimizer "
        "scheduler class function func method module package pkg library lib framework device gpu cpu column "
        "col table field feature param parameter attribute attr tag route endpoint operation op layer "
        "tokenizer checkpoint ckpt config configuration exception error type platform provider backend stage "
        "step phase job queue thread process executable runtime language distro kernel arch version bucket "
        "variant format precision dtype quantization quant loss run experiment project split subset trainer "
        "pipeline template prompt strategy schema index key label category dimension unit policy rule peft "
        "lora base hub repo app application product browser engine db database system test suite case "
        "benchmark bench instance region zone cluster namespace container image deployment workflow codec "
        "driver accelerator precision target source output input artifact weights optim mode action command "
        "cmd instrumentation logger handler context section page view screen component widget button menu tab "
        "setting option flag env environment dir folder directory path qual vendor brand plugin extension "
        "hook callback resource sampler exporter processor counter histogram gauge instrument "
    )
)
# Words that make "token" mean a piece of text, not a credential.
_TEXT_TOKEN_BEFORE: Final = frozenset(
    _words(
        "pad eos bos unk sep cls mask special start end stop max min num n first last next new decoder "
        "encoder additional image vision audio im eot added vocab prompt completion reasoning cached output "
        "input total per avg mean chat system default think "
    )
)
_TEXT_TOKEN_AFTER: Final = frozenset(
    _words(
        "id ids count counts length len limit usage budget type index idx per rate size level classification "
        "embeddings embedding logprobs "
    )
)
_TEXT_TOKEN_SUFFIXES: Final = ("tokens", "tokenizer", "tokenizers", "tokenize", "tokenized", "tokenization")

_IP_SUFFIXES: Final = tuple(
    _words(
        "clientip remoteip realip userip peerip sourceip srcip dstip destip publicip privateip localip hostip "
        "serverip ipaddr ipaddress ipv4 ipv6 remoteaddr clientaddr "
    )
)
#: Cache bound: keys come from code and repeat, but a caller could put data in keys. Clearing is cheap.
_CACHE_LIMIT: Final = 8192

HASH: Final = "hash"
# Verbs that make "<verb>_by" name a person (``created_by``); ``sort_by`` and ``group_by`` name a field.
_DONE_BY: Final = frozenset(
    [
        "created",
        "modified",
        "updated",
        "owned",
        "edited",
        "written",
        "authored",
        "submitted",
        "uploaded",
        "assigned",
        "reviewed",
        "approved",
        "requested",
        "triggered",
        "started",
        "launched",
        "deleted",
        "changed",
        "posted",
        "sent",
        "made",
        "signed",
        "run",
    ]
)


def key_words(key: str) -> list[str]:
    """``X-Api-Key`` -> [x, api, key]; ``clientIPAddress`` -> [client, ip, address] (folded, any script)."""
    return fold_key_words(key)


_I18N_SUBSTRINGS, _I18N_WORDS = folded_words()
_HOST_RULE_WORDS: Final = frozenset(w for w, rule in _I18N_WORDS.items() if rule == rules.KEY_HOST)


def _i18n_rule(norm: str, words: list[str]) -> str | None:
    for entry, rule in _I18N_SUBSTRINGS.items():
        if entry in norm:
            return rule
    for word in words:
        found = _I18N_WORDS.get(word)
        if found is not None and (found != rules.KEY_HOST or word == words[-1]):
            return found
    return None


def _person_name(norm: str, words: list[str]) -> bool:
    if words and words[-1] in ("author", "authors", "surname", "nickname"):
        return True
    if not norm.endswith("name") or norm.endswith("namespace"):
        return False
    owner = norm[: -len("name")]
    if not owner:
        return True
    return not owner.endswith(_THING_OWNERS)


def _signature(norm: str, words: list[str]) -> bool:
    """A request signature (``sig``, ``X-Amz-Signature``, ``signature``) is a credential: it grants what the
    signed URL grants. A thing's signature (``model_signature``, ``function.signature``) is not."""
    if "sig" in words:
        return True
    if not norm.endswith("signature"):
        return False
    owner = norm[: -len("signature")]
    return not owner or not owner.endswith(_THING_OWNERS)


def _credential_token(norm: str, words: list[str]) -> bool:
    if "token" not in norm:
        return False
    for i, word in enumerate(words):
        if "token" not in word:
            continue
        if word.endswith(_TEXT_TOKEN_SUFFIXES):
            continue
        before = words[i - 1] if i > 0 else ""
        after = words[i + 1] if i + 1 < len(words) else ""
        if word == "token":
            if before in _TEXT_TOKEN_BEFORE or after in _TEXT_TOKEN_AFTER:
                continue
            return True
        # One glued word such as "accesstoken" or "padtoken": judge what is glued to "token".
        head, _, tail = word.partition("token")
        if head in _TEXT_TOKEN_BEFORE or tail in _TEXT_TOKEN_AFTER or tail.startswith("s"):
            continue
        return True
    return False


def _auth(norm: str, words: list[str]) -> bool:
    if "authoriz" in norm or "oauth" in norm or any(w in ("bearer", "csrf", "xsrf", "jwt") for w in words):
        return True
    if "csrf" in norm or "xsrf" in norm or "bearer" in norm:
        return True
    # "auth" but not "author"/"authors" (a byline is a person's name, handled by the name rule).
    start = norm.find("auth")
    while start != -1:
        if not norm.startswith("or", start + 4):
            return True
        start = norm.find("auth", start + 4)
    return False


def builtin_key_rule(key: str) -> str | None:
    """The built-in key rule a key falls under, or None when the key is harmless."""
    norm = normalize_key(key)
    if not norm:
        return None
    words = key_words(key)
    wordset = set(words)
    if "email" in norm or norm.endswith("mail") or "mail" in wordset:
        return rules.KEY_EMAIL
    if any(p in norm for p in ("password", "passwd", "passphrase")) or wordset & {"pwd", "pw"} or norm == "pass":
        return rules.KEY_PASSWORD
    if "secret" in norm or any(
        p in norm for p in ("privatekey", "signingkey", "encryptionkey", "hmackey", "masterkey", "sshkey")
    ):
        return rules.KEY_SECRET
    if _signature(norm, words):
        return rules.KEY_SECRET
    if "apikey" in norm or "accesskey" in norm or "subscriptionkey" in norm or "licensekey" in norm:
        return rules.KEY_API_KEY
    if _credential_token(norm, words):
        return rules.KEY_TOKEN
    if _auth(norm, words):
        return rules.KEY_AUTH
    if "cookie" in norm:
        return rules.KEY_COOKIE
    if "credential" in norm or "creds" in wordset:
        return rules.KEY_CREDENTIAL
    if (
        "ssn" in wordset
        or any(p in norm for p in ("socialsecurity", "nationalid", "taxid", "passport", "driverslicense"))
        or norm in ("ssn", "sin", "nino")
    ):
        return rules.KEY_GOVERNMENT_ID
    if "phone" in norm or "msisdn" in norm or "mobilenumber" in norm or "fax" in wordset:
        return rules.KEY_PHONE
    if "ip" in wordset or norm == "ip" or norm.endswith(_IP_SUFFIXES) or "forwardedfor" in norm:
        return rules.KEY_IP
    if "hostname" in norm or "computername" in norm or "machinename" in norm:
        return rules.KEY_HOST
    if "birth" in norm or "dob" in wordset:
        return rules.KEY_BIRTHDATE
    if (
        "address" in norm
        or any(p in norm for p in ("street", "postal", "postcode", "zipcode", "latitude", "longitude"))
        or wordset & {"addr", "geo", "gps", "lat", "lon", "lng", "latlng", "geohash"}
    ):
        return rules.KEY_ADDRESS
    if "username" in norm or "userlogin" in norm:
        return rules.KEY_USERNAME
    if words and (words[-1] in ("user", "owner", "login", "uname", "uid") or norm in ("user", "owner", "whoami")):
        return rules.KEY_USERNAME
    if _person_name(norm, words):
        return rules.KEY_PERSON_NAME
    before = words[-2] if len(words) > 1 else ""
    if (
        words
        and words[-1] in PERSON_LAST_WORDS
        and before not in _THING_OWNERS
        and (words[-1] != "by" or before in _DONE_BY)
    ):
        return rules.KEY_PERSON_NAME
    return _i18n_rule(norm, words)


class KeyClassifier:
    """Cached key decisions for one policy: a rule id (remove), :data:`HASH`, or None (keep)."""

    def __init__(self, policy: PrivacyPolicy) -> None:
        self._extra = tuple(normalize_key(k) for k in policy.extra_denied_keys)
        self._hashed = frozenset(normalize_key(k) for k in policy.hashed_keys)
        self._cache: BoundedCache[str, str | None] = BoundedCache(_CACHE_LIMIT)
        allow = policy.allowlist_keys
        self._allow_exact: frozenset[str] | None = None
        self._allow_prefixes: tuple[str, ...] = ()
        if allow is not None:
            self._allow_exact = frozenset(normalize_key(k) for k in allow if not k.endswith("*"))
            self._allow_prefixes = tuple(normalize_key(k[:-1]) for k in allow if k.endswith("*"))
        self._allow_cache: BoundedCache[str, bool] = BoundedCache(_CACHE_LIMIT)
        self._version_cache: BoundedCache[str, bool] = BoundedCache(_CACHE_LIMIT)

    def classify(self, key: str) -> str | None:
        """Rule id if the key's value must be removed, HASH if it must be hashed, None to keep it."""
        try:
            return self._cache[key]
        except KeyError:
            pass
        return self._cache.put(key, self._decide(key))

    def _decide(self, key: str) -> str | None:
        norm = normalize_key(key)
        if any(extra in norm for extra in self._extra):
            return rules.KEY_CUSTOM
        if norm in self._hashed:
            return HASH
        return builtin_key_rule(key)

    def version(self, key: str) -> bool:
        """Cached :func:`is_version_key`."""
        hit = self._version_cache.get(key)
        if hit is None:
            hit = self._version_cache.put(key, is_version_key(key))
        return hit

    @property
    def allowlist_mode(self) -> bool:
        return self._allow_exact is not None

    def allowed(self, key: str) -> bool:
        """In allowlist mode, whether a top-level key is on the list (always True otherwise)."""
        if self._allow_exact is None:
            return True
        try:
            return self._allow_cache[key]
        except KeyError:
            pass
        norm = normalize_key(key)
        ok = norm in self._allow_exact or any(norm.startswith(p) for p in self._allow_prefixes)
        return self._allow_cache.put(key, ok)


def is_version_key(key: str | None) -> bool:
    """Keys whose dotted-quad values are versions, not IP addresses (``driver_version: 535.104.5.1``).

    Whole words only (``server`` and ``resolver`` hold "ver" but are not versions), and never a key that
    also names a host or an address (``build_host``).
    """
    if not key:
        return False
    words = key_words(key)
    if not words or _HOST_RULE_WORDS.intersection(words) or {"ip", "addr", "address", "host"} & set(words):
        return False
    return any(w in VERSION_WORDS or (len(w) > 7 and w.endswith("version")) for w in words)
