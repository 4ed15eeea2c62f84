"""Stack traces: keep what makes a report useful, drop what describes the machine or the data.

Kept: the ``Traceback`` header and the chaining sentences, each frame's file (package-relative inside
installed packages, else the file name), line number and function name, and each exception's type with the
scrubbed first line of its message. Dropped: directories, source lines, ``^^^^`` markers, local variables
printed by rich/better-exceptions, message continuation lines, anything else. Exception groups
(``  | ...`` prefixes) keep their layout. ``at ...`` frames from other runtimes are scrubbed as text.

A string that has no recognizable traceback line is treated as an error message (first line, scrubbed).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

from . import rules
from .detectors import FRAME_CACHE_LIMIT, Counts, Scanner, count
from .paths import reduce_frame_path

_PREFIX: Final = r"(?P<prefix>[ \t]*(?:[|+][ \t|+-]*)?)"
_FRAME: Final = re.compile(_PREFIX + r'File "(?P<file>[^"\n]*)", line (?P<line>\d+)(?:, in (?P<func>.*))?$')
_EXCEPTION: Final = re.compile(r"(?P<prefix>(?:[ \t]*[|+][ \t|+-]*)?)(?P<type>[A-Za-z_][\w.]*)(?::(?P<msg>.*))?$")
_FOREIGN_FRAME: Final = re.compile(r"[ \t]+at [^\n]+$")
_GROUP_RULE: Final = re.compile(r"[ \t|+\-0-9.]+$")
_FRAME_CACHE_LIMIT: Final = FRAME_CACHE_LIMIT
_CHAIN: Final = frozenset(
    {
        "Traceback (most recent call last):",
        "During handling of the above exception, another exception occurred:",
        "The above exception was the direct cause of the following exception:",
        "Exception Group Traceback (most recent call last):",
    }
)


def first_line(message: str, counts: Counts) -> str:
    """The spec's rule for error messages: only the first line is kept."""
    head, sep, rest = message.partition("\n")
    if sep and rest.strip():
        count(counts, rules.MESSAGE_EXTRA_LINES)
    return head.rstrip("\r")


def scrub_error_message(scanner: Scanner, message: str, counts: Counts) -> str:
    return scanner.scan_text(first_line(message, counts), counts)


def scrub_stacktrace(
    scanner: Scanner, trace: str, counts: Counts, text: Callable[[str, Counts], str] | None = None
) -> str:
    """The trace reduced as the module says; ``text`` scrubs a message (a cached one, so that the exception
    line costs nothing when the same message was just scrubbed as ``exception.message``)."""
    scrub_text = text or scanner.scan_text
    out: list[str] = []
    dropped = 0
    recognized = False
    # An exception line is only taken where Python prints one: after the frames (and their source lines)
    # or after an exception-group separator. Lines after it are message continuations or notes: dropped,
    # however much they look like an exception name.
    expect_exception = False
    lines = scanner.frame_cache
    for raw in trace.splitlines():
        line = raw.rstrip()
        if not line:
            continue
        # Frames and source lines recur across errors: what each became is remembered (None: dropped).
        known = lines.get(line)
        if known is not None:
            shown, found = known
            for rule, n in found:
                count(counts, rule, n)
            if shown is None:
                dropped += 1
            else:
                out.append(shown)
                recognized = expect_exception = True
            continue
        content = line.lstrip(" \t|+-")
        if content in _CHAIN:
            out.append(line)
            recognized = True
            expect_exception = content.endswith("(most recent call last):")
            continue
        frame = _FRAME.match(line)
        if frame is not None:
            out.append(_cached_frame(scanner, line, frame, counts, scrub_text))
            recognized = expect_exception = True
            continue
        if _GROUP_RULE.match(line) and ("+" in line or "|" in line):
            out.append(line)  # "+---------------- 1 ----------------" separators of exception groups
            expect_exception = True
            continue
        if expect_exception:
            exc = _EXCEPTION.match(line)
            if exc is not None and (line[0] not in " \t" or "|" in exc.group("prefix")):
                out.append(_exception(scrub_text, exc, counts))
                expect_exception = False
                continue
        if _FOREIGN_FRAME.match(line):
            out.append(scrub_text(line, counts))
            recognized = True
            continue
        dropped += 1
        if expect_exception and line[0] in " \t" and len(lines) < _FRAME_CACHE_LIMIT:
            lines[line] = (None, ())  # a source line under a frame: the same line is dropped next time
    if not recognized:
        return scrub_text(first_line(trace.strip(), counts), counts)
    if dropped:
        count(counts, rules.STACK_SOURCE_LINES, dropped)
    return _limit(scanner, "\n".join(out), counts)


def _cached_frame(
    scanner: Scanner, line: str, m: re.Match[str], counts: Counts, scrub_text: Callable[[str, Counts], str]
) -> str:
    """A frame line, scrubbed and remembered (scrub_stacktrace looks lines up before parsing them).

    Every caller passes the same ``scrub_text`` (the engine's, free-text policy included), so a line's
    result does not depend on who asked first."""
    cache = scanner.frame_cache
    local: Counts = {}
    shown = _frame(scanner, m, local, scrub_text)
    cache.put(line, (shown, tuple(local.items())))
    for rule, n in local.items():
        count(counts, rule, n)
    return shown


def _frame(scanner: Scanner, m: re.Match[str], counts: Counts, scrub_text: Callable[[str, Counts], str]) -> str:
    file = m.group("file")
    shown = reduce_frame_path(file)
    if shown != file:
        if scanner.is_home(file) and "/" not in shown:
            count(counts, rules.PATH_HOME)
        else:
            count(counts, rules.PATH_PACKAGE if "/" in shown else rules.PATH_ABSOLUTE)
    shown = scrub_text(shown, counts) if not shown.startswith("<") else shown
    text = f'{m.group("prefix")}File "{shown}", line {m.group("line")}'
    func = m.group("func")
    if func is not None:
        text += f", in {scrub_text(func, counts)}"  # function names are code, but callers can name them
    return text


def _exception(scrub_text: Callable[[str, Counts], str], m: re.Match[str], counts: Counts) -> str:
    """The exception line scrubbed whole, as written: its "type" is only what Python would print there
    if the trace is real, and anything else when it is not (a base64 or PEM line, ``redis://:pw@host``
    cut at its first colon). Types that are code (``torch.cuda.OutOfMemoryError``) pass the free-text
    policy unchanged; the message is judged with its type in front (``Cookie: a=1; b=2`` is a header)."""
    prefix = m.group("prefix")
    return prefix + scrub_text(m.group(0)[len(prefix) :], counts)


def _limit(scanner: Scanner, text: str, counts: Counts) -> str:
    """Long traces keep their end: the exception that was raised is the last line."""
    limited = scanner.limit(text, counts)
    if limited is text:
        return text
    keep = len(limited) - len(rules.MARKERS[rules.LIMIT_TRUNCATED])
    return rules.MARKERS[rules.LIMIT_TRUNCATED] + "\n" + text[-keep:]
