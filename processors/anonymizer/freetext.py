"""Classifying values, and the free-text policy for those that are not safe by shape.

Runs after the detectors, over their output. A value that is **safe by shape** passes unchanged: a number,
a version (``8.6.1.6``, ``2.1.0+cu121``), a hex digest, a UUID, a hub id (``org/name``), a file name, a
marker, or a short identifier in a safe charset whose words are all in the vocabulary (:mod:`.vocabulary`).
Everything else is **free text**, and what stays of it does not depend on knowing what a name looks like:

* quoted substrings (``'...'``, ``"..."``) become ``<text>`` unless the quoted part is safe by shape
  (``KeyError: 'input_ids'`` stays; ``KeyError: 'maria'`` and a quoted dataset row do not);
* credentials in prose (``my password is hunter2``) lose the value;
* digit runs that a phone-number library accepts as a phone number somewhere become ``<phone>``;
* host names become ``<host>`` unless public (:mod:`.hosts`);
* every other token is kept only when each of its words is in the vocabulary; a token with an unknown word
  becomes ``<word>`` (split at ``/`` first, so ``/users/<word>/adapters`` keeps its route); a capitalized
  word inside a sentence that the dictionary also spells as a name (``Baker``, ``Grant``) becomes ``<name>``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

from processors._bounded_cache import BoundedCache

from . import rules
from .hosts import HOST_MARKER, is_host, is_public_host
from .normalize import decoded_form, fold_text, strip_marks
from .vocabulary import Vocabulary, vocabulary

Counts = dict[str, int]

_NUMBER: Final = re.compile(r"[-+]?(?:\d+(?:[.,_]\d+)*\.?|\.\d+)(?:[eE][-+]?\d+)?%?")
_VERSION: Final = re.compile(r"[vV]?\d+(?:\.\d+){1,5}(?:[-+._]?[A-Za-z0-9]+){0,4}")
_HEX: Final = re.compile(r"(?:0x|(?:sha\d{1,3}|md5|blake2[bs]?|crc32):)?[0-9a-fA-F]{7,128}")
_UUID: Final = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_HUB_ID: Final = re.compile(r"[A-Za-z0-9][\w.-]{0,95}/[A-Za-z0-9][\w.-]{0,95}")
_FILE_NAME: Final = re.compile(r"[\w.+-]{1,128}\.[A-Za-z][A-Za-z0-9]{0,9}")
_SHORT_ID: Final = re.compile(r"[A-Za-z0-9_.:+@#-]{1,64}")
#: Special tokens of tokenizers: [PAD], <s>, </s>, <|endoftext|>, <|im_start|>.
_SPECIAL_TOKEN: Final = re.compile(r"\[[A-Z_]{2,16}\]|</?[a-z]{1,4}>|<\|[\w]{1,32}\|>")
_MARKERS_ONLY: Final = re.compile(r"(?:<[a-z][a-z0-9_.:-]{0,40}>|[\s/.:,;_-])+")
_ID_PARTS: Final = re.compile(r"[_.:/+@#\s-]+")
_HEX_PART: Final = re.compile(r"(?=[a-fA-F]*\d)[0-9a-fA-F]{4,64}")
_SUB_WORDS: Final = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[^\W\d_A-Za-z]+")
_QUOTED: Final = re.compile(r"(?<![\w\\])(['\"`])([^'\"`\n]{1,400})\1(?!\w)")
_MARKER: Final = re.compile(r"<[a-z][a-z0-9_.:-]{0,40}>")
_CHUNK: Final = re.compile(
    r"[A-Za-z][\w+.-]{0,15}://[^\s\"'`<>]+|(?:<[a-z][a-z0-9_.:-]{0,40}>|[^\s\"'`()\[\]{},;|<>=])+"
)
#: Exception types (dotted paths ending in Error, Exception, Warning, ...): code, and kept in every message.
_EXCEPTION_TYPE: Final = re.compile(
    r"(?:[A-Za-z_]\w*\.)*[A-Z]\w*(?:Error|Exception|Warning|Exit|Interrupt|Failure|Unsupported|Timeout)"
)
_SEGMENT_SEPARATORS: Final = re.compile(r"([/\\?&#=]+)")
_ERRNO: Final = re.compile(r"\[Errno -?\d+\]")
_EDGE_PUNCT: Final = ".,:;!?*"
_SENTENCE_END: Final = re.compile(r"(?:^|[.!?:]\s+|\n\s*)$")  # searched in the 4 characters before a word
_CREDENTIAL_PROSE: Final = re.compile(
    r"(?i)(?<![\w])(password|passwd|passphrase|pass ?word|secret|api[ _-]?key|token|contrase[ñn]a|passwort|"
    r"kennwort|mot de passe|senha|пароль|密码|パスワード|"
    r"passport(?: number| no\.?)?|ssn|social security (?:number|no\.?))"
    r"(\s+(?:is|was|ist|es|est|é|è|:|=)\s*|\s+(?=\S*\d))"
    r"(?P<value>[^\s,;]+)"
)
#: Cheap tests that every match of the two patterns below implies (most text has neither).
_CREDENTIAL_WORDS: Final = ("pass", "secret", "key", "token", "contrase", "kennwort", "mot de", "senha", "пароль",
                            "密码", "パスワード", "ssn", "social security")  # fmt: skip
_PLAIN_NUMBER: Final = re.compile(r"\d{1,7}[.,:]?")  # too short for a phone number or a card
_PHONE_GATE: Final = re.compile(r"\d[\d ().-]{6,}\d")
#: A capital letter opening a word (the family-name rule may apply: the result depends on the neighbours).
_TITLE_WORD: Final = re.compile(r"(?<![A-Za-z])[A-Z][a-z]+(?![A-Za-z])")
_PHONE_RUN: Final = re.compile(r"(?<![\w.+-])(?:\+|00)?\(?\d[\d ().-]{6,22}\d(?![\w]|\.\d)")
_DATE_LIKE: Final = re.compile(r"\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{4}|\d{1,2}:\d{2}")
_PHONE_REGIONS: Final = ("US", "GB", "DE", "FR", "ES", "IT", "NL", "BR", "RU", "JP", "CN", "IN", "AU", "MX")
_MAX_POLICED: Final = 100_000
_CHUNK_CACHE_LIMIT: Final = 8192

_NETWORK_SCHEMES: Final = frozenset(("http", "https", "ftp", "ftps", "ws", "wss", "ssh", "git", "smb"))
_TITLES: Final = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "miss",
        "dr",
        "prof",
        "sir",
        "madam",
        "dear",
        "hi",
        "hello",
        "hey",
        "thanks",
        "by",
        "user",
        "from",
    ]
)
_PREVIOUS_WORD: Final = re.compile(r"([A-Za-z]+)[\s,]+$")
_NEXT_WORD: Final = re.compile(r"[\s,]+([A-Za-z]+)")


def _titlecase(word: str) -> bool:
    return word[:1].isupper() and word[1:].islower()


def _names_around(before: str, after: str) -> bool:
    """A family-name word is a name next to a title (Mr, Dr, by) or another capitalized word."""
    prev = _PREVIOUS_WORD.search(before)
    nxt = _NEXT_WORD.match(after)
    if prev is not None and (prev.group(1).lower() in _TITLES or _titlecase(prev.group(1))):
        return True
    return nxt is not None and _titlecase(nxt.group(1))


WORD_MARKER: Final = rules.MARKERS[rules.TEXT_UNKNOWN_WORD]
NAME_MARKER: Final = rules.MARKERS[rules.TEXT_NAME]
QUOTED_MARKER: Final = rules.MARKERS[rules.TEXT_QUOTED]


def _count(counts: Counts, rule: str) -> None:
    counts[rule] = counts.get(rule, 0) + 1


def is_phone_number(candidate: str) -> bool:
    """Whether ``phonenumbers`` (libphonenumber) takes a digit run for a valid number in a common region."""
    digits = "".join(c for c in candidate if c.isdigit())
    if not 8 <= len(digits) <= 15 or _DATE_LIKE.search(candidate):
        return False
    import phonenumbers  # loaded on first digit run only

    international = candidate.startswith("+") or candidate.startswith("00")
    text = "+" + digits[2:] if candidate.startswith("00") else candidate
    regions: tuple[str | None, ...] = (None,) if international else _PHONE_REGIONS
    if not international and digits[0] != "0" and not (len(digits) == 10 or (len(digits) == 11 and digits[0] == "1")):
        return False  # a national number starts with its trunk prefix, except in North America
    for region in regions:
        try:
            number = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return True
    return False


class FreeTextPolicy:
    """The classification and policy above, over one vocabulary (the shipped one by default)."""

    def __init__(self, vocab: Callable[[], Vocabulary] = vocabulary) -> None:
        self._vocab_factory = vocab
        self._vocab: Vocabulary | None = None
        self._chunks: BoundedCache[str, tuple[str, tuple[tuple[str, int], ...]]] = BoundedCache(_CHUNK_CACHE_LIMIT)
        #: Chunks that come out unchanged whatever surrounds them (a subset of _chunks).
        self._kept: BoundedCache[str, None] = BoundedCache(_CHUNK_CACHE_LIMIT)

    def clear_caches(self) -> None:
        self._chunks.clear()
        self._kept.clear()

    @property
    def vocab(self) -> Vocabulary:
        if self._vocab is None:
            self._vocab = self._vocab_factory()
        return self._vocab

    # --- classification ----------------------------------------------------------------------------------
    def known_identifier(self, token: str) -> bool:
        """Every word of an identifier (split at case changes, digits and separators) is in the vocabulary;
        words of one or two letters carry no name and always pass."""
        known = self.vocab.known_word
        if not token.isascii():
            token = strip_marks(token)  # café -> cafe: accented spellings of known words
        for part in _ID_PARTS.split(token):
            if _HEX_PART.fullmatch(part):
                continue  # run_3fa2b1c9, srv_6e065e: a digest or generated id, not a word
            for word in _SUB_WORDS.findall(part):
                if len(word) <= 2 or (len(word) == 3 and word.isupper()):
                    continue
                if not known(word.lower()):
                    return False
        return True

    def safe_by_shape(self, value: str) -> bool:
        """Numbers, versions, digests, UUIDs, hub ids, file names, markers, known short identifiers."""
        if not value or len(value) > 256:
            return not value
        if " " in value:  # no shape below holds a blank
            return _MARKERS_ONLY.fullmatch(value) is not None
        if (
            _NUMBER.fullmatch(value)
            or _VERSION.fullmatch(value)
            or _HEX.fullmatch(value)
            or _UUID.fullmatch(value)
            or _MARKERS_ONLY.fullmatch(value)
        ):
            return True
        if is_host(value):
            return is_public_host(value)
        if _HUB_ID.fullmatch(value):
            return True
        if _FILE_NAME.fullmatch(value):
            # Judged by its words (numbers and digests in it are skipped): a digit is no licence
            # (wojciechowska_run2.py), and model-00001-of-00002 passes on its words.
            stem = value.rsplit(".", 1)[0]
            return self.known_identifier(stem)
        return _SHORT_ID.fullmatch(value) is not None and "@" not in value and self.known_identifier(value)

    # --- policy ------------------------------------------------------------------------------------------
    def value(self, text: str, counts: Counts) -> str:
        """A whole value: unchanged when safe by shape, else the free-text policy.

        Judged on the most decoded form (:mod:`.normalize`): when the policy changes that form, the policed
        decoded form is stored; otherwise the original is policed as written.
        """
        if self.safe_by_shape(text):
            return text
        decoded = decoded_form(fold_text(text))
        if decoded != text:
            local: Counts = {}
            policed = self.police(decoded, local)
            if policed != decoded:
                for rule, n in local.items():
                    counts[rule] = counts.get(rule, 0) + n
                return policed
        return self.police(text, counts)

    def police(self, text: str, counts: Counts) -> str:
        """The free-text policy (see the module docstring) over text the detectors already scrubbed."""
        if len(text) > _MAX_POLICED:
            text = text[:_MAX_POLICED]
        if "'" in text or '"' in text or "`" in text:
            text = _QUOTED.sub(lambda m: self._quoted(m, counts), text)
        low = text.lower()
        if any(word in low for word in _CREDENTIAL_WORDS):
            text = _CREDENTIAL_PROSE.sub(lambda m: self._credential(m, counts), text)
        if _PHONE_GATE.search(text) is not None:
            text = _PHONE_RUN.sub(lambda m: self._phone(m, counts), text)
        unknown = set(_CHUNK.findall(text)).difference(self._kept)
        if not unknown or all(_PLAIN_NUMBER.fullmatch(c) for c in unknown):
            return text  # every token is one the policy keeps as it is (the common case, checked in C)
        return _CHUNK.sub(lambda m: self._chunk(m, counts), text)

    def _quoted(self, m: re.Match[str], counts: Counts) -> str:
        quote, inner = m.group(1), m.group(2)
        if quote == "`":  # code, not data: policed like any other text
            return f"`{self.police(inner, counts)}`"
        if inner.isalpha() and inner.lower() in self.vocab.surnames:
            pass  # 'Baker': a name even though the word is in the dictionary
        elif self.safe_by_shape(inner) or _SPECIAL_TOKEN.fullmatch(inner):
            return m.group(0)
        elif not any(c.isspace() for c in inner):
            local: Counts = {}
            if self.police(inner, local) == inner:
                return m.group(0)  # one token that the policy keeps as it is ('padding=True', a public URL)
        _count(counts, rules.TEXT_QUOTED)
        errno = _ERRNO.search(inner)
        return f"{quote}{QUOTED_MARKER}{' ' + errno.group() if errno else ''}{quote}"

    @staticmethod
    def _credential(m: re.Match[str], counts: Counts) -> str:
        value = m.group("value")
        if value.startswith("<") and value.endswith(">"):
            return m.group(0)
        word = m.group(1).lower()
        identity = word.startswith(("passport", "ssn", "social"))
        _count(counts, rules.KEY_GOVERNMENT_ID if identity else rules.KEY_PASSWORD)
        return m.group(0)[: m.start("value") - m.start()] + rules.KEY_MARKER

    @staticmethod
    def _phone(m: re.Match[str], counts: Counts) -> str:
        if not is_phone_number(m.group()):
            return m.group()
        _count(counts, rules.VALUE_PHONE)
        return rules.MARKERS[rules.VALUE_PHONE]

    def _chunk(self, m: re.Match[str], counts: Counts) -> str:
        chunk = m.group()
        hit = self._chunks.get(chunk)
        if hit is None:
            local: Counts = {}
            result = self._chunk_uncached(m, local)
            for rule, n in local.items():
                counts[rule] = counts.get(rule, 0) + n
            # Remembered only when the words around cannot matter (no capitalized family-name word or
            # two-letter capitalized word in it: whether those are names depends on the sentence).
            if not any(len(w) == 2 or w.lower() in self.vocab.surnames for w in _TITLE_WORD.findall(chunk)):
                self._chunks.put(chunk, (result, tuple(local.items())))
                if result == chunk and not local:
                    self._kept.put(chunk, None)
            return result
        for rule, n in hit[1]:
            counts[rule] = counts.get(rule, 0) + n
        return hit[0]

    def _chunk_uncached(self, m: re.Match[str], counts: Counts) -> str:
        chunk = m.group()
        if _MARKER.fullmatch(chunk) or _SPECIAL_TOKEN.fullmatch(chunk):
            return chunk
        core = chunk.strip(_EDGE_PUNCT)
        if not core:
            return chunk
        head = chunk[: chunk.index(core)]
        tail = chunk[len(head) + len(core) :]
        if is_host(core):
            if is_public_host(core):
                return chunk
            _count(counts, rules.VALUE_HOST)
            return f"{head}{HOST_MARKER}{tail}"
        if (
            _NUMBER.fullmatch(core)
            or _VERSION.fullmatch(core)
            or _HEX.fullmatch(core)
            or _UUID.fullmatch(core)
            or _MARKERS_ONLY.fullmatch(core)
        ):
            return chunk
        if "://" in core:
            return f"{head}{self._url(core, counts)}{tail}"
        if _EXCEPTION_TYPE.fullmatch(core):
            return chunk
        text = m.string
        before = text[max(0, m.start() - 4) : m.start()]
        neighbours = (text[max(0, m.start() - 24) : m.start()], text[m.end() : m.end() + 24])
        policed = self._segments(core, counts, _SENTENCE_END.search(before), neighbours)
        return chunk if policed is None else f"{head}{policed}{tail}"

    def _url(self, url: str, counts: Counts) -> str:
        """A URL: kept on a public host; elsewhere the host becomes ``<host>`` and the path is policed."""
        scheme, _, rest = url.partition("://")
        cut = min((i for i in (rest.find("/"), rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
        netloc, after = rest[:cut], rest[cut:]
        userinfo, at, hostport = netloc.rpartition("@")
        host, colon, port = hostport.partition(":")
        if is_public_host(host) or host.startswith("<") or host in ("127.0.0.1", "0.0.0.0", "[::1]"):
            return url
        if scheme.lower() not in _NETWORK_SCHEMES and "." not in host:
            # hf://datasets/..., s3://bucket/...: a repository type or bucket, not a machine; the path is
            # policed like any path (s3://bucket/users/<name>/, webpack:///src/<name>.js) except a hub id.
            policed = self._segments(after, counts, None) if after else None
            if policed is None or _HUB_ID.fullmatch(after.strip("/")):
                return url
            return f"{scheme}://{netloc}{policed}"
        if host:
            _count(counts, rules.VALUE_HOST)
            netloc = f"{userinfo}{at}{HOST_MARKER}{colon}{port}"
        policed = self._segments(after, counts, None) if after else None
        return f"{scheme}://{netloc}{after if policed is None else policed}"

    def _segments(
        self, core: str, counts: Counts, sentence_start: object, neighbours: tuple[str, str] | None = None
    ) -> str | None:
        """Each ``/``-separated segment of a token policed; None when nothing changed."""
        segments = _SEGMENT_SEPARATORS.split(core)
        changed = False
        for i in range(0, len(segments), 2):
            seg = segments[i]
            if not seg or _MARKERS_ONLY.fullmatch(seg) or _NUMBER.fullmatch(seg) or _HEX.fullmatch(seg):
                continue
            if _VERSION.fullmatch(seg) or _UUID.fullmatch(seg) or _EXCEPTION_TYPE.fullmatch(seg):
                continue
            if is_host(seg):
                if not is_public_host(seg):
                    _count(counts, rules.VALUE_HOST)
                    segments[i], changed = HOST_MARKER, True
                continue
            if not self.known_identifier(seg):
                _count(counts, rules.TEXT_UNKNOWN_WORD)
                segments[i], changed = WORD_MARKER, True
            elif (
                len(seg) == 2
                and seg[0].isupper()
                and seg[1].islower()
                and not sentence_start
                and not self.vocab.known_word(seg.lower())
            ):
                _count(counts, rules.TEXT_NAME)  # Li, Wu, Ng: a two-letter capitalized word that is no word
                segments[i], changed = NAME_MARKER, True
            elif (
                seg.isalpha()
                and seg[0].isupper()
                and seg[1:].islower()
                and seg.lower() in self.vocab.surnames
                and not sentence_start
                and neighbours is not None
                and _names_around(*neighbours)
            ):
                _count(counts, rules.TEXT_NAME)
                segments[i], changed = NAME_MARKER, True
        return "".join(segments) if changed else None
