"""JSON in and out of cassettes, fast where replay spends its time.

Replay serves bodies that were stored parsed, so each served JSON body or SSE event is
encoded again; orjson does that about ten times faster than the standard library, and
parses a cassette file about twice as fast. It is not used where it would change a
value: integers beyond 64 bits (orjson refuses them on output and reads them as floats
on input) and the non-standard ``NaN``/``Infinity`` tokens (orjson writes ``null``) fall
back to the standard library, which round-trips them. (A plain ``float("nan")`` put into
a body by hand, rather than read by :func:`loads`, is still written as ``null``.)
"""

from __future__ import annotations

import json
from typing import Any

import orjson

__all__ = ["NonFinite", "dumps", "dumps_text", "loads"]


class NonFinite(float):
    """``NaN``/``Infinity`` read from a cassette: orjson refuses the subclass, so it is written back as read."""


_STDLIB_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
#: Twenty digits in a row may be an integer beyond 64 bits. Found by mapping every digit to
#: 0 and searching for twenty zeros (a regular expression is 30 times slower). A document
#: with such a run in a string is merely parsed by the standard library.
_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")
_TWENTY_DIGITS = b"0" * 20


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
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if raw.translate(_DIGITS_TO_ZERO).find(_TWENTY_DIGITS) < 0:
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass  # NaN/Infinity, or a real error: the standard library decides and words it
    return json.loads(data, parse_constant=NonFinite if nonfinite else _refuse)


def _refuse(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
