"""JSON in and out of cassettes, fast where replay spends its time.

Replay serves bodies that were stored parsed, so each served JSON body or SSE event is
encoded again; orjson does that about ten times faster than the standard library, and
parses a cassette file about twice as fast. It is not used where it would change a
value: integers beyond 64 bits (orjson refuses them on output and reads them as floats
on input) and the non-standard ``NaN``/``Infinity`` tokens (orjson writes ``null``) fall
back to the standard library, which round-trips them. Documents over 4 MiB are parsed
by the standard library too, for memory (see :func:`loads`). (A plain ``float("nan")`` put into
a body by hand, rather than read by :func:`loads`, is still written as ``null``.)
"""

from __future__ import annotations

import json
from typing import Any

import orjson

__all__ = ["NonFinite", "dumps", "dumps_text", "loads"]


class NonFinite(float):
    """``NaN``/``Infinity`` read from a cassette: orjson refuses the subclass, so it is written back as read."""


#: Documents larger than this (bytes or characters) are parsed by the standard library.
LARGE = 4 << 20

_STDLIB_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
#: Twenty digits in a row may be an integer beyond 64 bits. Found by mapping every digit to
#: 0 and searching for twenty zeros (a regular expression is 30 times slower).
_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")
_TWENTY_DIGITS = b"0" * 20
_BEFORE_A_NUMBER = frozenset(b":[,")
_SKIPPED_BEFORE = frozenset(b" \t\r\n-")


def _may_hold_huge_integer(raw: bytes) -> bool:
    """Whether a run of 20+ digits stands where a JSON number can: after ``:``, ``[`` or ``,``.

    Runs inside strings (random hex request ids hold one now and then) mostly follow a
    letter and are passed over; one that does not only costs a slower parse.
    """
    digits = raw.translate(_DIGITS_TO_ZERO)
    position = digits.find(_TWENTY_DIGITS)
    while position >= 0:
        start = position
        while start > 0 and digits[start - 1] == 0x30:
            start -= 1
        before = start - 1
        while before >= 0 and raw[before] in _SKIPPED_BEFORE:
            before -= 1
        if before < 0 or raw[before] in _BEFORE_A_NUMBER:
            return True
        end = position + 20
        while end < len(digits) and digits[end] == 0x30:
            end += 1
        position = digits.find(_TWENTY_DIGITS, end)
    return False


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON, as ``json.dumps(value, ensure_ascii=False, separators=(",", ":"))``."""
    try:
        return orjson.dumps(value)
    except TypeError:  # NonFinite, a huge integer, a non-string key, nesting over 255 levels
        return _STDLIB_COMPACT.encode(value).encode("utf-8")


def dumps_text(value: Any) -> str:
    return dumps(value).decode("utf-8")


def loads(data: bytes | str, *, nonfinite: bool = True) -> Any:
    """Parse a JSON document; errors are the standard library's ``json.JSONDecodeError``.

    ``nonfinite=False`` refuses ``NaN`` and ``Infinity`` (they are not JSON) with a ValueError.
    """
    if len(data) > LARGE:
        # orjson builds a whole document tree before the Python objects: for a big file that
        # is 1.6x json's peak memory, while its speed lead shrinks to about 1.2x.
        return json.loads(data, parse_constant=NonFinite if nonfinite else _refuse)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if not _may_hold_huge_integer(raw):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass  # NaN/Infinity, or a real error: the standard library decides and words it
    return json.loads(data, parse_constant=NonFinite if nonfinite else _refuse)


def _refuse(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
