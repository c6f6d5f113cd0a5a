"""Typed access to a parsed source document, with errors that say where the problem is."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from runreplay.errors import CassetteError

Key = str | int

_MISSING: Any = object()


class Where:
    """A position in a parsed document, shown as a JSON path such as ``$.log.entries[2]``."""

    __slots__ = ("keys",)

    def __init__(self, keys: tuple[Key, ...] = ()) -> None:
        self.keys = keys

    def __truediv__(self, key: Key) -> Where:
        return Where((*self.keys, key))

    def __str__(self) -> str:
        return "$" + "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in self.keys)

    def __repr__(self) -> str:
        return f"Where({self})"


ROOT = Where()


class SourceError(CassetteError):
    """A problem at a known place in the source; the caller adds the file and, for YAML, the line."""

    def __init__(self, message: str, where: Where) -> None:
        super().__init__(message, location=str(where))
        self.where = where


def shown(value: Any) -> str:
    """A short rendering of an offending value for error messages."""
    if isinstance(value, bytes):
        return f"{len(value)} bytes"
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except ValueError:
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def expect(value: Any, where: Where, kinds: type | tuple[type, ...], what: str) -> Any:
    # bool is an int in Python; a status code of `true` is still wrong.
    if isinstance(value, kinds) and not (isinstance(value, bool) and bool not in _as_tuple(kinds)):
        return value
    raise SourceError(f"expected {what}, found {shown(value)}", where)


def need(obj: Mapping[str, Any], key: str, where: Where, kinds: type | tuple[type, ...], what: str) -> Any:
    """A required field of a mapping already known to be one."""
    value = obj.get(key, _MISSING)
    if value is _MISSING or value is None:
        state = "missing" if value is _MISSING else "null"
        raise SourceError(f"required field {key!r} is {state}", where / key)
    return expect(value, where / key, kinds, what)


def get(
    obj: Mapping[str, Any], key: str, where: Where, kinds: type | tuple[type, ...], what: str, default: Any = None
) -> Any:
    """An optional field: missing or null gives ``default``."""
    value = obj.get(key)
    return default if value is None else expect(value, where / key, kinds, what)


def scalar_text(value: Any, where: Where) -> str:
    """A header value or similar scalar as text, whatever type the source parsed it as."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    raise SourceError(f"expected a text value, found {shown(value)}", where)


def _as_tuple(kinds: type | tuple[type, ...]) -> tuple[type, ...]:
    return kinds if isinstance(kinds, tuple) else (kinds,)
