"""JSON paths, the one syntax runreplay prints and reads: ``$.metadata.trace_id``.

Findings print paths with :func:`join_key` and :func:`join_index`; the options that name
places in a body (``match_ignore_paths``, the scrub rules' ``json_paths``, drift's
``ignore_paths``) read the same form with :func:`parse`, plus two wildcards:

======================  ====================================================
``$``                   the top of the JSON document (a body, an event's data)
``.name``               an object key that is an identifier
``["any key"]``         any object key, as a JSON string
``[0]``                 a list index
``.*`` or ``[*]``       any key or index
``..name``              ``name`` at any depth (also ``..["k"]``, ``..[0]``, ``..*``)
======================  ====================================================

A path is compiled once into a tuple of steps; :meth:`JsonPath.drop`,
:meth:`JsonPath.replace` and :meth:`JsonPath.matches` walk it. A path that cannot mean
anything is a :class:`ConfigError` naming the option, the path and what is wrong, with the
corrected path when one can be guessed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from runreplay.errors import ConfigError

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def join_key(path: str, key: str) -> str:
    """Append an object key, bracket-quoting keys that are not plain identifiers."""
    if _PLAIN_KEY.match(key):
        return f"{path}.{key}"
    return f"{path}[{json.dumps(key, ensure_ascii=False)}]"


def join_index(path: str, index: int) -> str:
    return f"{path}[{index}]"


# ---------------------------------------------------------------------------- steps

KEY: Final = 0
INDEX: Final = 1
ANY: Final = 2

#: A concrete place: object keys are ``str``, list indexes ``int``.
Part = str | int


@dataclass(frozen=True, slots=True)
class Step:
    kind: int
    #: The key (``KEY``) or index (``INDEX``); None for ``ANY``.
    arg: str | int | None = None
    #: ``..``: the step applies at this level and at every level below it.
    deep: bool = False

    def fits(self, part: Part) -> bool:
        if self.kind == ANY:
            return True
        # A key "0" is not the index 0: bodies keep the two apart, so paths do too.
        return part == self.arg and isinstance(part, str) == (self.kind == KEY)

    def __str__(self) -> str:
        if self.kind == ANY:
            text = "[*]"
        elif self.kind == INDEX:
            text = f"[{self.arg}]"
        else:
            text = join_key("", str(self.arg))
        # ``..`` takes the place of the dot of a key: ``..name``, ``..["k"]``, ``..[0]``.
        return ("." + text if text.startswith(".") else ".." + text) if self.deep else text


#: What :meth:`JsonPath.rewrite`'s ``edit`` returns to remove a value.
DROP: Final = object()
_ABSENT: Final = object()

#: ``edit(value, name)``: the new value (or :data:`DROP`); ``name`` is the nearest key above it.
Edit = Callable[[Any, str | None], Any]


@dataclass(frozen=True, slots=True)
class JsonPath:
    """A parsed path: its text as given and its steps."""

    text: str
    steps: tuple[Step, ...]

    def __str__(self) -> str:
        return self.text

    def drop(self, value: Any) -> Any:
        """``value`` without what the path names; containers on the way are copied, never changed."""
        return _rewrite(value, self.steps, 0, _drop, None)

    def replace(self, value: Any, make: Edit) -> Any:
        """``value`` with each value the path names replaced by ``make(value, name)``."""
        return _rewrite(value, self.steps, 0, make, None)

    def matches(self, parts: Sequence[Part], *, or_inside: bool = False) -> bool:
        """Whether the concrete place ``parts`` is named by the path (``or_inside``: or lies in one)."""
        return _match(self.steps, 0, parts, 0, or_inside)


def _drop(_value: Any, _name: str | None) -> Any:
    return DROP


def _rewrite(value: Any, steps: tuple[Step, ...], at: int, edit: Edit, name: Any) -> Any:
    if isinstance(value, dict):
        step = steps[at]
        if step.kind == KEY and not step.deep:
            # The usual step (``.name``), written out: matching runs it for every replayed request.
            key: Any = step.arg
            child = value.get(key, _ABSENT)
            if child is _ABSENT:
                return value
            new = edit(child, key) if at + 1 == len(steps) else _rewrite(child, steps, at + 1, edit, key)
            if new is child:
                return value
            out = dict(value)
            if new is DROP:
                del out[key]
            else:
                out[key] = new
            return out
        return _rewrite_container(value, steps, at, edit, name)
    if isinstance(value, list):
        return _rewrite_container(value, steps, at, edit, name)
    return value


def _next(child: Any, steps: tuple[Step, ...], at: int, edit: Edit, name: Any) -> Any:
    """``child``, which step ``at`` reached: edited when the path ends there, else walked on."""
    return edit(child, name) if at + 1 == len(steps) else _rewrite(child, steps, at + 1, edit, name)


def _rewrite_container(value: Any, steps: tuple[Step, ...], at: int, edit: Edit, name: str | None) -> Any:
    step = steps[at]
    is_dict = isinstance(value, dict)
    changed: dict[Any, Any] = {}
    if step.deep:  # first the levels below, each still looking for this step
        for key, child in value.items() if is_dict else enumerate(value):
            if isinstance(child, (dict, list)):
                new = _rewrite(child, steps, at, edit, key if is_dict else name)
                if new is not child:
                    changed[key] = new
    for key in _selected(step, value):
        child = changed[key] if key in changed else value[key]
        new = _next(child, steps, at, edit, key if is_dict else name)
        if new is not child:
            changed[key] = new
    return _changed(value, changed) if changed else value


def _selected(step: Step, value: Any) -> Iterable[Any]:
    """The keys or indexes of ``value`` that ``step`` names."""
    if step.kind == ANY:
        return list(value) if isinstance(value, dict) else range(len(value))
    if isinstance(value, dict):
        return (step.arg,) if step.kind == KEY and step.arg in value else ()
    return (step.arg,) if isinstance(step.arg, int) and step.kind == INDEX and step.arg < len(value) else ()


def _changed(value: Any, changes: dict[Any, Any]) -> Any:
    """A copy of ``value`` with the changes made (``DROP``: removed)."""
    out = dict(value) if isinstance(value, dict) else list(value)
    dropped: list[Any] = []
    for key, new in changes.items():
        if new is DROP:
            dropped.append(key)
        else:
            out[key] = new
    if dropped:  # removed last, from the end of a list, so the indexes still to remove stay valid
        for key in sorted(dropped, reverse=True) if len(dropped) > 1 else dropped:
            del out[key]
    return out


def _match(steps: tuple[Step, ...], at: int, parts: Sequence[Part], pos: int, or_inside: bool) -> bool:
    if at == len(steps):
        return or_inside or pos == len(parts)
    step = steps[at]
    if step.deep:
        return any(
            step.fits(parts[k]) and _match(steps, at + 1, parts, k + 1, or_inside) for k in range(pos, len(parts))
        )
    return pos < len(parts) and step.fits(parts[pos]) and _match(steps, at + 1, parts, pos + 1, or_inside)


# ---------------------------------------------------------------------------- parsing

SYNTAX = 'paths are $ then .key, ["any key"], [0], [*] or .* for any key or index, ..key at any depth'

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_BRACKET = r'\[(?:(?P<index>[0-9]+)|(?P<bstar>\*)|(?P<quoted>"(?:[^"\\]|\\.)*"))\]'
_SHALLOW = re.compile(rf"\.(?:(?P<name>{_NAME})|(?P<star>\*))|{_BRACKET}")
_DEEP = re.compile(rf"\.\.(?:(?P<name>{_NAME})|(?P<star>\*)|{_BRACKET})")


class _Bad(ValueError):
    """A problem found while reading a path (turned into a ConfigError by :func:`parse`)."""


def parse(text: str, where: str) -> JsonPath:
    """The path ``text``, or a ConfigError naming ``where`` (the option), the path and the fix."""
    try:
        steps = _steps(text)
        if not steps:
            raise _Bad("$ alone names the whole body: name a field in it")
        _check_place(steps)
    except _Bad as problem:
        fix = suggest(text)
        hint = f"; did you mean {fix}?" if fix and fix != text else ""
        raise ConfigError(f"{where}: {text!r} is not a usable JSON path: {problem}{hint} ({SYNTAX})") from None
    return JsonPath(text, steps)


def parse_all(texts: Iterable[str], where: str) -> tuple[JsonPath, ...]:
    return tuple(parse(text, where) for text in texts)


def split(text: str) -> tuple[Part, ...]:
    """The keys and indexes of a printed, concrete path (``$.a[0]["b c"]`` -> ``("a", 0, "b c")``)."""
    steps = _steps(text)
    if any(s.kind == ANY or s.deep for s in steps):
        raise ValueError(f"{text!r} is a pattern, not a place")
    return tuple(s.arg for s in steps if s.arg is not None)


def _steps(text: str) -> tuple[Step, ...]:
    if not text.strip():
        raise _Bad("it is empty")
    if text != text.strip():
        raise _Bad("it has spaces around it")
    if not text.startswith("$"):
        raise _Bad("it does not start with $")
    steps: list[Step] = []
    pos = 1
    while pos < len(text):
        deep = text.startswith("..", pos)
        found = (_DEEP if deep else _SHALLOW).match(text, pos)
        if found is None:
            raise _Bad(_what_is_wrong(text, pos))
        steps.append(_step(found, deep))
        pos = found.end()
    return tuple(steps)


def _step(found: re.Match[str], deep: bool) -> Step:
    if found.group("name"):
        return Step(KEY, found.group("name"), deep)
    if found.group("index") is not None:
        return Step(INDEX, int(found.group("index")), deep)
    if found.group("quoted") is not None:
        try:
            key = json.loads(found.group("quoted"))
        except ValueError as exc:
            raise _Bad(f"the quoted key {found.group('quoted')} is not a JSON string ({exc.args[0]})") from None
        return Step(KEY, key, deep)
    return Step(ANY, None, deep)


def _what_is_wrong(text: str, pos: int) -> str:
    rest = text[pos:]
    at = f"at {rest!r}"
    if text.count("[") != text.count("]"):
        return f"its brackets are unbalanced ({text.count('[')} [ and {text.count(']')} ])"
    if rest.startswith("..."):
        return f"{at}: use two dots for any depth, not three"
    if rest in (".", ".."):
        return "it ends with a dot"
    if rest.startswith("["):
        inside = rest[1 : rest.find("]")] if "]" in rest else rest[1:]
        if inside.startswith("'"):
            return f"{at}: quote keys with double quotes, as JSON does"
        if inside.startswith("-") or ":" in inside or inside.startswith("?"):
            return f"{at}: negative indexes, slices and filters are not supported"
        if inside.startswith('"'):
            return f"{at}: the quoted key is not closed"
        return f'{at}: a key in brackets must be quoted (["{inside}"])'
    if rest.startswith("."):
        return f"{at}: a key after a dot must be an identifier (letters, digits, _); quote any other key"
    if pos == 1:
        return "$ must be followed by . or ["
    return f'{at}: expected .key, ["key"], [0], .* or [*]'


#: Paths into a cassette file end inside a body at one of these: what follows is body-relative.
_BODY_ANCHORS: tuple[tuple[Step, ...], ...] = (
    (Step(KEY, "body"), Step(KEY, "json")),
    (Step(KEY, "body"), Step(KEY, "sse"), Step(KEY, "events"), Step(ANY), Step(KEY, "data")),
)


def _check_place(steps: tuple[Step, ...]) -> None:
    """Refuse a path into a cassette file: here ``$`` is the body itself, which has no ``interactions``."""
    concrete = not any(s.deep for s in steps)
    if concrete and within_body(steps) is not None:
        raise _Bad("that is a path in a cassette file, but here $ is the body itself")
    first = steps[0]
    if first.kind == KEY and first.arg == "interactions" and len(steps) > 2 and steps[2].arg in ("request", "response"):
        raise _Bad("that is a path in a cassette file, but here $ is the body itself: name a field inside the body")


def within_body(parts: Sequence[Any]) -> Any:
    """What follows ``body.json`` or ``body.sse.events[n].data`` in a cassette-file path (parts or
    steps), or None when the path does not lead into a body."""
    for anchor in _BODY_ANCHORS:
        size = len(anchor)
        for start in range(len(parts) - size + 1):
            window = parts[start : start + size]
            if all(_same(a, p) for a, p in zip(anchor, window, strict=True)):
                return parts[start + size :]
    return None


def _same(anchor: Step, item: Any) -> bool:
    if isinstance(item, Step):
        return (anchor.kind == ANY and item.kind in (ANY, INDEX)) or (
            anchor.kind == KEY and item.kind == KEY and item.arg == anchor.arg
        )
    return anchor.fits(item)


# ---------------------------------------------------------------------------- suggestions

_LOOSE = re.compile(r"\.\.\.?|\.|\[[^\]]*\]?|[^.\[\]]+|\]")


def suggest(text: str) -> str | None:
    """The path ``text`` was probably meant to be (old dotted forms, unquoted or single-quoted
    keys, cassette-file paths), or None when no guess parses."""
    raw = text.strip()
    tokens = _LOOSE.findall(raw[1:] if raw.startswith("$") else raw)
    if not raw.startswith("$") and len([t for t in tokens if t not in (".", "..")]) == 1 and not raw.startswith("["):
        key = tokens[0] if tokens else ""
        if key and key not in ("*", "...") and not key.isdigit():
            # A bare key: the old scrub rules read it as "at any depth", matching as "at the top".
            anywhere, top = Step(KEY, key, deep=True), Step(KEY, key)
            return f"${anywhere} (at any depth) or ${top} (at the top)"
    out, deep = "$", False
    for token in tokens:
        if token in (".", ""):
            continue
        if token in ("..", "..."):
            deep = True
            continue
        piece = _loose_piece(token)
        if piece is None:
            return None
        out += ("." if deep else "") + piece
        deep = False
    try:
        steps = _steps(out)
    except _Bad:
        return None
    if not steps:
        return None
    inside = within_body(steps) if not any(s.deep for s in steps) else None
    if inside is not None:
        if not inside:
            return None
        return "$" + "".join(str(s) for s in inside)
    return "$" + "".join(str(s) for s in steps)


def _loose_piece(token: str) -> str | None:
    if token.startswith("["):
        inner = token[1:].removesuffix("]").strip()
        if inner == "*" or inner.isdigit():
            return f"[{inner}]"
        if re.fullmatch(r"-[0-9]+|.*:.*|\?.*", inner):
            return None  # a slice or a filter: no path means the same
        inner = inner.strip("'\"")
        return join_key("", inner) if inner else None
    if token == "]":
        return None
    if token == "*":
        return ".*"
    if token.isdigit():
        return f"[{token}]"
    return join_key("", token)
