"""JSON in and out of cassettes, fast where replay spends its time.

Replay serves bodies that were stored parsed, so each served JSON body or SSE event is
encoded again; orjson does that about ten times faster than the standard library, and
parses a cassette file about twice as fast. It is not used where it would change a
value: integers beyond 64 bits (orjson refuses them on output and reads them as floats
on input) and the non-standard ``NaN``/``Infinity`` tokens (orjson writes ``null``) fall
back to the standard library, which round-trips them. Documents over 4 MiB are parsed
by the standard library too, for memory (see :func:`loads`). (A plain ``float("nan")`` put into
a body by hand, rather than read by :func:`loads`, is still written as ``null``.)

:func:`loads` also refuses what parses but cannot be used safely, with a :class:`JSONLimitError`
(a ``ValueError``) naming the place: nesting deeper than ``max_depth`` (every reader of a
cassette walks its values recursively), strings holding a lone UTF-16 surrogate (``"\\ud800"``
parses, but is not Unicode text and cannot be written out as UTF-8), and integers longer than
Python converts from text (``sys.get_int_max_str_digits()``, 4,300 digits by default).
"""

from __future__ import annotations

import json
import re
import sys
import threading
from typing import Any

import orjson

__all__ = [
    "MAX_BODY_DEPTH",
    "MAX_DEPTH",
    "JSONLimitError",
    "NonFinite",
    "check_value",
    "dumps",
    "dumps_text",
    "is_utf8",
    "loads",
]

#: How deeply a cassette file (or a recording given to ``runreplay import``) may nest objects
#: and arrays, counting the outermost object as 1. Every reader walks values recursively;
#: this keeps them far from Python's recursion limit, wherever they are called from.
MAX_DEPTH = 128
#: How deeply a recorded JSON body or SSE event's data may nest; deeper ones are stored as
#: text. It leaves room for the levels of the cassette around a body (at most 9).
MAX_BODY_DEPTH = 100


class JSONLimitError(ValueError):
    """Well-formed JSON that runreplay refuses: too deep, a lone surrogate, an integer too long.

    ``location`` is a JSON path (``$.interactions[0].response.body.json.a``) or, when the
    document could not be parsed at all, ``line L, column C``.
    """

    def __init__(self, message: str, location: str | None) -> None:
        super().__init__(f"{message} (at {location})" if location else message)
        self.message = message
        self.location = location


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


def loads(data: bytes | str, *, nonfinite: bool = True, max_depth: int = MAX_BODY_DEPTH) -> Any:
    """Parse a JSON document; errors are the standard library's ``json.JSONDecodeError``, or a
    :class:`JSONLimitError` for a document nested deeper than ``max_depth`` (at most 254), holding
    a lone surrogate or an integer too long to convert.

    ``nonfinite=False`` refuses ``NaN`` and ``Infinity`` (they are not JSON) with a ValueError.
    """
    if len(data) > LARGE:
        # orjson builds a whole document tree before the Python objects: for a big file that
        # is 1.6x json's peak memory, while its speed lead shrinks to about 1.2x.
        value = _stdlib_loads(data, nonfinite, max_depth)
        check_value(value, max_depth, split=_SPLIT)
        return value
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if not _may_hold_huge_integer(raw):
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass  # NaN/Infinity, a lone surrogate, or a real error: the standard library decides and words it
        else:
            # orjson refuses lone surrogates; depth needs a look only when there are enough
            # brackets (counting them costs more than the look itself in a big document).
            if len(raw) > _COUNT_BELOW or raw.count(b"[") + raw.count(b"{") > max_depth:
                check_value(value, max_depth)
            return value
    value = _stdlib_loads(data, nonfinite, max_depth)
    check_value(value, max_depth, split=_SPLIT if len(data) > _SPLIT_ABOVE else 0)
    return value


def _stdlib_loads(data: bytes | str, nonfinite: bool, max_depth: int) -> Any:
    try:
        return json.loads(data, parse_constant=NonFinite if nonfinite else _refuse)
    except json.JSONDecodeError:
        raise
    except RecursionError:  # thousands of levels: the parser itself gave up
        raise JSONLimitError(f"nested deeper than {max_depth} levels", _deep_position(data, max_depth)) from None
    except ValueError:
        position = _long_integer_position(data)
        if position is None:
            raise
        limit = sys.get_int_max_str_digits()
        raise JSONLimitError(f"an integer has more than {limit} digits", position) from None


def _refuse(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# --------------------------------------------------------------------------- limits

#: orjson writes at most this many levels of nesting (and refuses surrogates, huge integers
#: and NaN): one ``orjson.dumps`` proves a value within limits at C speed.
_ORJSON_DEPTH = 254
#: Documents larger than this are checked in pieces (the values of the top object, and
#: slices of _SLICE items of the lists among them: 64 interactions of a cassette at a time):
#: no serialized copy of the whole, and a problem in one piece (a huge integer) sends only
#: that piece to the slow, exact look.
_SPLIT_ABOVE = 64 << 10
_SPLIT = 2
_SLICE = 64
#: Below this size, counting brackets first spares most bodies the look at their depth.
_COUNT_BELOW = 16 << 10
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
#: A JSON path shows this many steps; a deeper place is shortened in the middle.
_SHOWN_STEPS = 12


def check_value(value: Any, max_depth: int = MAX_BODY_DEPTH, *, split: int = 0, where: str = "$") -> None:
    """Raise :class:`JSONLimitError` when ``value`` nests deeper than ``max_depth`` or holds a
    string (or key) with a lone surrogate; ``where`` is its JSON path, for the message.

    ``split`` checks that many levels child by child, so that no serialized copy of the
    whole value is made (memory, for big documents).
    """
    if _fits(value, max_depth, split):
        return
    problem = _first_problem(value, max_depth)
    if problem is not None:
        message, steps = problem
        raise JSONLimitError(message, _path(where, steps))


def _fits(value: Any, budget: int, split: int) -> bool:
    """True when ``value`` is certainly within ``budget`` levels and UTF-8 clean (False: look closer)."""
    kind = type(value)
    if kind is not dict and kind is not list:
        if kind is str:
            return value.isascii() or is_utf8(value)
        return kind not in (tuple, set, frozenset)  # YAML's explicit tags build these: look closer
    if budget < 1:
        return False
    if split > 0:
        if kind is list:  # a slice of a list is as deep as the list: one look per slice
            return all(_fits(value[i : i + _SLICE], budget, 0) for i in range(0, len(value), _SLICE))
        if not all(type(k) is str and (k.isascii() or is_utf8(k)) for k in value):
            return False
        return all(_fits(child, budget - 1, split - 1) for child in value.values())
    # orjson refuses more than _ORJSON_DEPTH levels: put the value that much less deep inside
    # arrays, and orjson's own limit says whether it fits the budget.
    levels = _ORJSON_DEPTH - min(budget, _ORJSON_DEPTH)
    outer, slot = _wrapper(levels) if levels else (value, [value])
    slot[0] = value
    try:
        orjson.dumps(outer)
    except orjson.JSONEncodeError:  # too deep, a surrogate, or only a huge integer or NaN
        return False
    finally:
        slot[0] = None
    return True


_WRAPPERS = threading.local()


def _wrapper(levels: int) -> tuple[list[Any], list[Any]]:
    """``levels`` arrays nested in one another: the outermost, and the innermost to put a value in.
    Made once per thread and size, since a big document is checked piece by piece."""
    made: dict[int, tuple[list[Any], list[Any]]] = _WRAPPERS.__dict__.setdefault("made", {})
    found = made.get(levels)
    if found is None:
        slot: list[Any] = [None]
        outer = slot
        for _ in range(levels - 1):
            outer = [outer]
        found = made[levels] = (outer, slot)
    return found


def is_utf8(text: str) -> bool:
    """False for a string holding a lone surrogate (it cannot be written as UTF-8)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _first_problem(value: Any, max_depth: int) -> tuple[str, list[str | int]] | None:
    """The first place (in document order) that nests too deep or holds a lone surrogate."""
    stack: list[tuple[Any, int, list[str | int]]] = [(value, 0, [])]
    while stack:
        item, depth, steps = stack.pop()
        if isinstance(item, str):
            if not is_utf8(item):
                return f"a string holds a lone surrogate ({_surrogate(item)}), which is not Unicode text", steps
            continue
        if not isinstance(item, (dict, list, tuple, set, frozenset)):
            continue
        if depth + 1 > max_depth:
            return f"nested deeper than {max_depth} levels", steps
        if isinstance(item, dict):
            for key in item:
                if isinstance(key, str) and not is_utf8(key):
                    return f"a key holds a lone surrogate ({_surrogate(key)}), which is not Unicode text", steps
            pairs: list[tuple[str | int, Any]] = [(k if isinstance(k, str) else str(k), v) for k, v in item.items()]
        else:
            pairs = list(enumerate(item))
        for key, child in reversed(pairs):
            stack.append((child, depth + 1, [*steps, key]))
    return None


def _surrogate(text: str) -> str:
    found = next(c for c in text if 0xD800 <= ord(c) <= 0xDFFF)
    return f"\\u{ord(found):04x}"


def _path(where: str, steps: list[str | int]) -> str:
    def step(key: str | int) -> str:
        if isinstance(key, int):
            return f"[{key}]"
        return f".{key}" if _PLAIN_KEY.fullmatch(key) else f"[{json.dumps(key)}]"

    shown = [step(k) for k in steps]
    if len(shown) > _SHOWN_STEPS:
        shown = [*shown[: _SHOWN_STEPS - 2], f"...({len(shown) - _SHOWN_STEPS + 1} more levels)...", shown[-1]]
    return where + "".join(shown)


def _deep_position(data: bytes | str, max_depth: int) -> str | None:
    """``line L, column C`` where the text first nests deeper than ``max_depth``."""
    text = data if isinstance(data, str) else data.decode("utf-8", "replace")
    depth = 0
    for token in _TOKENS.finditer(text):
        char = token.group()
        if char in "[{":
            depth += 1
            if depth > max_depth:
                return _line_column(text, token.start())
        elif char in "]}":
            depth -= 1
    return None


def _long_integer_position(data: bytes | str) -> str | None:
    limit = sys.get_int_max_str_digits()
    if not limit:
        return None
    text = data if isinstance(data, str) else data.decode("utf-8", "replace")
    # A number stands at the start or after ``:``, ``[`` or ``,`` (runs of digits in strings rarely do).
    found = re.search(r"(?:^|[:\[,])\s*(-?\d{" + str(limit + 1) + r",})", text)
    return None if found is None else _line_column(text, found.start(1))


def _line_column(text: str, position: int) -> str:
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    return f"line {line}, column {column}"
