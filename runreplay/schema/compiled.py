"""Yes/no validation at replay speed: each generated schema compiled to Python closures.

jsonschema interprets a schema on every call and spends about 0.5 ms on a 2 KB run, more
than replaying it. The generator emits only a handful of keywords (``type const enum
properties required additionalProperties items anyOf oneOf $ref``, plus the OpenAPI
``discriminator`` that JSON Schema treats as an annotation), so each schema node becomes
one closure that checks exactly those, with JSON Schema 2020-12's meaning. A test
compares the answers with jsonschema's on real and broken payloads of every schema.

Only the verdict comes from here. Why a payload is rejected is still explained by the
walker and, as a safety net, by jsonschema itself (see :mod:`runreplay.validation`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urljoin

Check = Callable[[Any], bool]


def _accept(_: Any) -> bool:
    return True


def _reject(_: Any) -> bool:
    return False


def _is_integer(value: Any) -> bool:
    # JSON Schema: 1.0 is an integer; true is not (bool is an int subclass in Python).
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


_TYPE_CHECKS: dict[str, Check] = {
    "null": lambda v: v is None,
    "boolean": lambda v: isinstance(v, bool),
    "integer": _is_integer,
    "number": _is_number,
    "string": lambda v: isinstance(v, str),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}


_CLASSES: dict[str, type] = {"null": type(None), "boolean": bool, "string": str, "array": list, "object": dict}


def json_equal(a: Any, b: Any) -> bool:
    """Equality as JSON Schema's ``const``/``enum`` mean it: true is not 1, 1 is 1.0."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a is b
    if isinstance(a, str) or isinstance(b, str):
        return isinstance(a, str) and isinstance(b, str) and a == b
    if _is_number(a) or _is_number(b):
        return _is_number(a) and _is_number(b) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    return a is None and b is None


class Compiler:
    """Compiles schemas by ``$id`` on first use and keeps every closure it made."""

    def __init__(self, schemas_by_id: Mapping[str, Mapping[str, Any]]) -> None:
        self._schemas = schemas_by_id
        self._by_uri: dict[str, Check] = {}

    def check(self, uri: str) -> Check:
        """The predicate of the schema at ``uri``; KeyError if there is none."""
        found = self._by_uri.get(uri)
        if found is None:
            body = self._schemas[uri]
            # A placeholder first, so a schema that refers to itself (directly or round a
            # cycle) compiles to a call of its own finished closure.
            finished: list[Check] = []
            self._by_uri[uri] = lambda value: finished[0](value)
            found = self._node(body, uri)
            finished.append(found)
            self._by_uri[uri] = found
        return found

    def _node(self, node: Mapping[str, Any], base: str) -> Check:
        checks = [
            check
            for check in (
                self._ref(node, base),
                _type(node.get("type")),
                _enumerated(node),
                self._object(node, base),
                self._items(node, base),
                self._union(node, base),
            )
            if check is not None
        ]
        return _all(checks)

    def _ref(self, node: Mapping[str, Any], base: str) -> Check | None:
        if "$ref" not in node:
            return None
        uri = urljoin(base, node["$ref"])
        target: list[Check] = []

        def ref(value: Any) -> bool:
            if not target:  # resolved on first call: the target may still be compiling (a cycle)
                target.append(self.check(uri))
            return target[0](value)

        return ref

    def _object(self, node: Mapping[str, Any], base: str) -> Check | None:
        properties = {name: self._node(sub, base) for name, sub in node.get("properties", {}).items()}
        required = tuple(node.get("required", ()))
        extra_node = node.get("additionalProperties", True)
        if not properties and not required and extra_node is True:
            return None
        extra = _reject if extra_node is False else _accept if extra_node is True else self._node(extra_node, base)
        extra_matters = extra is not _accept

        def check(value: Any) -> bool:
            if not isinstance(value, dict):
                return True  # the keywords apply to objects only
            for name in required:
                if name not in value:
                    return False
            for key, item in value.items():
                sub = properties.get(key)
                if sub is not None:
                    if not sub(item):
                        return False
                elif extra_matters and not extra(item):
                    return False
            return True

        return check

    def _items(self, node: Mapping[str, Any], base: str) -> Check | None:
        if "items" not in node:
            return None
        item = self._node(node["items"], base)

        def items(value: Any) -> bool:
            if isinstance(value, list):
                for v in value:
                    if not item(v):
                        return False
            return True

        return items

    def _union(self, node: Mapping[str, Any], base: str) -> Check | None:
        checks: list[Check] = []
        if "anyOf" in node:
            checks.append(_any([self._node(b, base) for b in node["anyOf"]]))
        if "oneOf" in node:
            checks.append(self._tagged(node, base) or self._exactly_one(node["oneOf"], base))
        return _all(checks) if checks else None

    def _exactly_one(self, branches: list[Mapping[str, Any]], base: str) -> Check:
        compiled = [self._node(b, base) for b in branches]
        return lambda value: sum(1 for b in compiled if b(value)) == 1

    def _tagged(self, node: Mapping[str, Any], base: str) -> Check | None:
        """``oneOf`` with a discriminator, checked only against the branch the tag names.

        Exactly the ``oneOf`` verdict when every branch is a ``$ref`` listed in the mapping
        whose schema requires the tag with its own ``const``: any other branch then fails on
        the tag, so "exactly one valid" is "the named one is valid". Anything else gets the
        full count.
        """
        tag = node.get("discriminator", {}).get("propertyName")
        mapping: Mapping[str, str] = node.get("discriminator", {}).get("mapping", {})
        refs = [b.get("$ref") for b in node["oneOf"]]
        if tag is None or None in refs or sorted(refs) != sorted(mapping.values()):
            return None
        for value, ref in mapping.items():
            target = self._schemas.get(urljoin(base, ref), {})
            if tag not in target.get("required", ()) or target.get("properties", {}).get(tag, {}).get("const") != value:
                return None
        branches = {value: self._node({"$ref": ref}, base) for value, ref in mapping.items()}
        counted = self._exactly_one(node["oneOf"], base)

        def tagged(value: Any) -> bool:
            if not isinstance(value, dict):
                return counted(value)  # required/properties say nothing about non-objects
            found = value.get(tag)
            branch = branches.get(found) if isinstance(found, str) else None
            return branch is not None and branch(value)

        return tagged


def _all(checks: list[Check]) -> Check:
    # Unrolled for the usual one to three checks: a generator per call costs more than the checks.
    if not checks:
        return _accept
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        a, b = checks
        return lambda value: a(value) and b(value)
    if len(checks) == 3:
        a, b, c = checks
        return lambda value: a(value) and b(value) and c(value)
    return lambda value: all(check(value) for check in checks)


def _any(checks: list[Check]) -> Check:
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        a, b = checks
        return lambda value: a(value) or b(value)
    return lambda value: any(check(value) for check in checks)


def _type(expected: str | list[str] | None) -> Check | None:
    if expected is None:
        return None
    names = [expected] if isinstance(expected, str) else expected
    if "integer" in names or "number" in names:
        return _any([_TYPE_CHECKS[name] for name in names])
    # Only classes Python's isinstance tells apart exactly (bool is not mixed with int here).
    classes = tuple(_CLASSES[name] for name in names)
    return lambda value: isinstance(value, classes)


def _enumerated(node: Mapping[str, Any]) -> Check | None:
    checks: list[Check] = []
    if "const" in node:
        const = node["const"]
        if isinstance(const, str):  # nearly every const: a plain comparison will do
            checks.append(lambda value: isinstance(value, str) and value == const)
        else:
            checks.append(lambda value: json_equal(value, const))
    if "enum" in node:
        allowed = list(node["enum"])
        if all(isinstance(a, str) for a in allowed):
            strings = frozenset(allowed)
            checks.append(lambda value: isinstance(value, str) and value in strings)
        else:
            checks.append(lambda value: any(json_equal(value, a) for a in allowed))
    if not checks:
        return None
    return checks[0] if len(checks) == 1 else lambda value: all(c(value) for c in checks)
