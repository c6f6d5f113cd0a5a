"""Walk a payload along its schema and classify every place where the two differ.

jsonschema answers "valid or not"; drift needs to know *how* a payload differs, and
also what the schema allows but does not describe (undeclared keys, which the open
schemas accept). The walker understands exactly the keywords the generator emits
(``type const enum properties required additionalProperties items anyOf oneOf
discriminator $ref``; a test keeps it that way) and reports:

* ``unknown_field``    a key the schema does not declare (allowed: vendors add fields);
* ``missing_required`` a declared required key is absent;
* ``type_change``      a value of another JSON type (``null`` included);
* ``new_enum_value``   a value of the right type outside the documented values,
                       including an unknown discriminator (``"type": "retrieval"`` in v2).

An optional observer sees every value with its path with any index (``$.tools[*].type``);
``--compare`` builds its picture of a recording from that.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

from runreplay._jsonpath import join_index, join_key

UNKNOWN_FIELD = "unknown_field"
MISSING_REQUIRED = "missing_required"
TYPE_CHANGE = "type_change"
NEW_ENUM_VALUE = "new_enum_value"

#: Categories that a schema rejects (an unknown field is allowed by the open schemas).
SCHEMA_VIOLATIONS = frozenset({MISSING_REQUIRED, TYPE_CHANGE, NEW_ENUM_VALUE})

#: Keywords the walker interprets; anything else in a schema is an annotation.
UNDERSTOOD_KEYWORDS = frozenset(
    {"type", "const", "enum", "properties", "required", "additionalProperties", "items", "anyOf", "oneOf"}
    | {"discriminator", "$ref"}
)
ANNOTATIONS = frozenset({"$schema", "$id", "title", "description"})

#: ``observe(path_without_indices, value, is_enumerated)``
Observer = Callable[[str, Any, bool], None]

_INDEX = re.compile(r"\[\d+\]")


@dataclass(frozen=True, slots=True)
class Issue:
    """One difference between a payload and its schema, at ``path`` inside the payload."""

    category: str
    path: str
    expected: str
    found: str


class Walker:
    def __init__(self, schemas_by_id: Mapping[str, Mapping[str, Any]], observe: Observer | None = None) -> None:
        self._schemas = schemas_by_id
        self._observe = observe

    def issues(self, uri: str, value: Any, path: str = "$") -> list[Issue]:
        out: list[Issue] = []
        self._walk(self._schemas[uri], uri, value, path, out)
        return out

    def fits(self, uri: str, value: Any) -> bool:
        """Whether the schema takes values of this JSON type at all (ignoring what is inside)."""
        return self._type_fits(self._schemas[uri], uri, value)

    # ------------------------------------------------------------------ dispatch

    def _deref(self, node: Mapping[str, Any], base: str) -> tuple[Mapping[str, Any], str]:
        while "$ref" in node:
            base = urljoin(base, node["$ref"])
            node = self._schemas[base]
        return node, base

    def _walk(self, node: Mapping[str, Any], base: str, value: Any, path: str, out: list[Issue]) -> None:
        node, base = self._deref(node, base)
        if "discriminator" in node:
            self._tagged_union(node, base, value, path, out)
        elif "anyOf" in node or "oneOf" in node:
            self._union(node, base, value, path, out)
        elif "const" in node or "enum" in node:
            self._enumerated(node, value, path, out)
        elif not _type_matches(node.get("type"), value):
            out.append(Issue(TYPE_CHANGE, path, self.describe(node, base), describe_value(value)))
            self.observe_free(path, value)
        else:
            self._see(path, value, False)
            if isinstance(value, dict):
                self._object(node, base, value, path, out)
            elif isinstance(value, list) and "items" in node:
                for index, item in enumerate(value):
                    self._walk(node["items"], base, item, join_index(path, index), out)

    def _see(self, path: str, value: Any, enumerated: bool) -> None:
        if self._observe is not None:
            self._observe(_INDEX.sub("[*]", path), value, enumerated)

    # ------------------------------------------------------------------ objects

    def _object(self, node: Mapping[str, Any], base: str, value: dict[str, Any], path: str, out: list[Issue]) -> None:
        properties: Mapping[str, Any] | None = node.get("properties")
        for name in node.get("required", ()):
            if name not in value:
                expected = f"field {name!r}: {self.describe((properties or {}).get(name, {}), base)}"
                out.append(Issue(MISSING_REQUIRED, join_key(path, name), expected, "missing"))
        extra = node.get("additionalProperties", True)
        for key, item in value.items():
            where = join_key(path, key)
            if properties is not None and key in properties:
                self._walk(properties[key], base, item, where, out)
            elif isinstance(extra, Mapping):  # a map: every key is data, every value typed
                self._walk(extra, base, item, where, out)
            elif properties is not None:  # a documented object: this key is new
                out.append(Issue(UNKNOWN_FIELD, where, "only documented fields", describe_value(item)))
                self.observe_free(where, item)
            else:  # a free-form object
                self.observe_free(where, item)

    def observe_free(self, path: str, value: Any) -> None:
        """Show the observer a value no schema describes (an undeclared field and its insides)."""
        if self._observe is None:
            return
        self._see(path, value, False)
        if isinstance(value, dict):
            for key, item in value.items():
                self.observe_free(join_key(path, key), item)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                self.observe_free(join_index(path, index), item)

    # ------------------------------------------------------------------ enums and unions

    def _enumerated(self, node: Mapping[str, Any], value: Any, path: str, out: list[Issue]) -> None:
        allowed = [node["const"]] if "const" in node else list(node["enum"])
        self._see(path, value, True)  # a new value too: --compare lists it
        if any(_same_json(value, item) for item in allowed):
            return
        if any(json_type(value) == json_type(item) for item in allowed):
            out.append(Issue(NEW_ENUM_VALUE, path, _one_of(allowed), describe_value(value)))
        else:
            out.append(Issue(TYPE_CHANGE, path, _one_of(allowed), describe_value(value)))

    def _tagged_union(self, node: Mapping[str, Any], base: str, value: Any, path: str, out: list[Issue]) -> None:
        tag = node["discriminator"]["propertyName"]
        mapping: Mapping[str, str] = node["discriminator"]["mapping"]
        if not isinstance(value, dict):
            out.append(Issue(TYPE_CHANGE, path, self.describe(node, base), describe_value(value)))
            self.observe_free(path, value)
        elif tag not in value:
            out.append(Issue(MISSING_REQUIRED, join_key(path, tag), f"field {tag!r}: {_one_of(mapping)}", "missing"))
            self.observe_free(path, value)
        elif not isinstance(value[tag], str) or value[tag] not in mapping:  # a list or object tag is unhashable
            found = describe_value(value[tag])
            category = NEW_ENUM_VALUE if isinstance(value[tag], str) else TYPE_CHANGE
            out.append(Issue(category, join_key(path, tag), _one_of(mapping), found))
            self.observe_free(path, value)
            self._see(join_key(path, tag), value[tag], True)
        else:
            self._walk({"$ref": mapping[value[tag]]}, base, value, path, out)

    def _union(self, node: Mapping[str, Any], base: str, value: Any, path: str, out: list[Issue]) -> None:
        branches = node.get("anyOf") or node.get("oneOf") or []
        fitting = [b for b in branches if self._type_fits(b, base, value)]
        if not fitting:
            out.append(Issue(TYPE_CHANGE, path, self.describe(node, base), describe_value(value)))
            self.observe_free(path, value)
            return
        best = fitting[0]
        if len(fitting) > 1:  # several branches take this JSON type: use the one that fits best
            quiet = Walker(self._schemas)
            scores = []
            for branch in fitting:
                trial: list[Issue] = []
                quiet._walk(branch, base, value, path, trial)
                # Fewest differences of any kind: an open branch that declares nothing
                # would otherwise "fit" everything as unknown fields.
                scores.append((len(trial), sum(i.category in SCHEMA_VIOLATIONS for i in trial)))
            best = fitting[scores.index(min(scores))]
        self._walk(best, base, value, path, out)

    def _type_fits(self, node: Mapping[str, Any], base: str, value: Any) -> bool:
        node, base = self._deref(node, base)
        if "const" in node or "enum" in node:
            allowed = [node["const"]] if "const" in node else node["enum"]
            return any(json_type(value) == json_type(item) for item in allowed)
        if "discriminator" in node:
            return isinstance(value, dict)
        if "anyOf" in node or "oneOf" in node:
            return any(self._type_fits(b, base, value) for b in node.get("anyOf") or node.get("oneOf") or [])
        return _type_matches(node.get("type"), value)

    # ------------------------------------------------------------------ descriptions

    def describe(self, node: Mapping[str, Any], base: str) -> str:
        """What a schema expects, in a few words: ``integer or null``, ``one of "a", "b"``."""
        node, base = self._deref(node, base)
        if "const" in node or "enum" in node:
            return _one_of([node["const"]] if "const" in node else node["enum"])
        if "discriminator" in node:
            return f"object with {node['discriminator']['propertyName']} {_one_of(node['discriminator']['mapping'])}"
        branches = node.get("anyOf") or node.get("oneOf")
        if branches:
            return " or ".join(dict.fromkeys(self.describe(b, base) for b in branches))
        kind = node.get("type", "any value")
        kind = " or ".join(kind) if isinstance(kind, list) else str(kind)
        return f"{kind} ({node['title']})" if "title" in node and kind == "object" else kind


# ---------------------------------------------------------------------- JSON helpers

_JSON_TYPES: tuple[tuple[type, str], ...] = (
    (bool, "boolean"),
    (int, "integer"),
    (float, "number"),
    (str, "string"),
    (list, "array"),
    (dict, "object"),
    (type(None), "null"),
)


def json_type(value: Any) -> str:
    for kind, name in _JSON_TYPES:  # bool before int: True is an int in Python, not in JSON
        if isinstance(value, kind):
            return name
    return type(value).__name__


def _type_matches(expected: str | list[str] | None, value: Any) -> bool:
    if expected is None:
        return True
    names = [expected] if isinstance(expected, str) else expected
    found = json_type(value)
    if found == "number" and float(value).is_integer():
        found = "integer"  # JSON Schema: 1.0 is an integer
    return found in names or (found == "integer" and "number" in names)


def _same_json(a: Any, b: Any) -> bool:
    return json_type(a) == json_type(b) and a == b


def _one_of(values: Iterable[Any]) -> str:
    shown = [json.dumps(v, ensure_ascii=False) for v in values]
    return shown[0] if len(shown) == 1 else "one of " + ", ".join(shown)


def describe_value(value: Any, limit: int = 60) -> str:
    """A value's JSON type and a short excerpt: ``string "paused"``, ``object {"a": 1}``."""
    kind = json_type(value)
    if value is None:
        return "null"
    if isinstance(value, list):
        return f"array of {len(value)} item{'' if len(value) == 1 else 's'}"
    text = json.dumps(value, ensure_ascii=False)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return f"{kind} {text}"
