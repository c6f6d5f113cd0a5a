"""Cross-check our schemas with the vendors' own OpenAPI specs.

For each pair (one of our schemas, one place in a vendor spec) the two are compared
structurally: which fields one side has and the other lacks, which enumerated values,
which members of a tagged union (``tools[]`` by ``type``), recursively through nested
objects, arrays and references on both sides. The parts of an ``allOf`` make one object
(a field several parts define takes the values any of them allows), and a spec's
``$recursiveRef`` / ``$dynamicRef`` resolves to the enclosing schema with that anchor.
Nullability and required-ness are not compared: real traffic decides those (see the
models' comments). Stream event names (an event's ``event``, or else its ``type``) are
compared with the spec's list of events.

Deliberate differences are listed, each with a reason, in ``schemas/deviations.yaml``;
:func:`check_spec` returns the differences nobody listed and the listed ones that no
longer exist, and the tests fail on either.
"""

from __future__ import annotations

import functools
import itertools
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import yaml

from runreplay.errors import ConfigError
from runreplay.providers import registry
from runreplay.providers.base import VendorSpec
from runreplay.schema._ids import schema_id
from runreplay.schema.catalog import namespaces
from runreplay.schema.registry import schemas_by_id

_MAX_DEPTH = 12


@dataclass(frozen=True, order=True)
class Difference:
    """Something one side has and the other lacks."""

    schema: str
    #: Where inside the schema: ``$.tools[]<file_search>.file_search``.
    path: str
    #: ``field``, ``value`` (of an enumeration), ``variant`` (of a tagged union) or
    #: ``enum`` (one side lists the allowed values, the other takes any).
    what: str
    #: ``ours`` or ``spec``: the side that has it.
    only_in: str
    item: str

    def format(self) -> str:
        return f"{self.schema} {self.path}: {self.what} {self.item!r} only in {self.only_in}"


# --------------------------------------------------------------------------- the two sides


@dataclass(frozen=True)
class _At:
    """A subschema with the context its references resolve in: the parts of an ``allOf``
    merged into one object may come from different schema files."""

    node: Any
    ctx: str


class _Side:
    """Reference resolution for one side: our schema files or a spec document."""

    def deref(self, node: Any, ctx: str) -> tuple[Any, str]:
        raise NotImplementedError


class _Ours(_Side):
    def __init__(self) -> None:
        self.schemas = schemas_by_id()

    def deref(self, node: Any, ctx: str) -> tuple[Any, str]:
        while True:
            if isinstance(node, _At):
                node, ctx = node.node, node.ctx
            elif isinstance(node, Mapping) and "$ref" in node:
                ctx = urljoin(ctx, node["$ref"])
                node = self.schemas[ctx]
            else:
                return node, ctx


class _Spec(_Side):
    """In a spec the context is the pointer of the innermost schema, in the chain of
    references followed so far, that declares ``$recursiveAnchor`` or ``$dynamicAnchor``
    ("" if none, then the compared schema itself, ``top``): what a ``$recursiveRef`` /
    ``$dynamicRef`` inside resolves to."""

    def __init__(self, document: Mapping[str, Any], top: Any = None) -> None:
        self.document = document
        self.top = top

    def deref(self, node: Any, ctx: str) -> tuple[Any, str]:
        while True:
            if isinstance(node, _At):
                node, ctx = node.node, node.ctx
            elif not isinstance(node, Mapping):
                return node, ctx
            elif "$ref" in node:
                pointer = node["$ref"].removeprefix("#")
                node = resolve_pointer(self.document, pointer)
                if isinstance(node, Mapping) and (node.get("$recursiveAnchor") is True or "$dynamicAnchor" in node):
                    ctx = pointer
            elif ("$recursiveRef" in node or "$dynamicRef" in node) and (found := self._anchor(node, ctx)):
                node, ctx = found
            else:
                return node, ctx

    def _anchor(self, node: Mapping[str, Any], ctx: str) -> tuple[Any, str] | None:
        """What a ``$recursiveRef: "#"`` or ``$dynamicRef: "#name"`` resolves to: the
        enclosing schema with that anchor (None, left unresolved, when there is none)."""
        ref = str(node.get("$recursiveRef", node.get("$dynamicRef", "")))
        if ref.startswith("#/"):  # a plain pointer: resolved like $ref
            return self.deref({"$ref": ref}, ctx)
        enclosing = resolve_pointer(self.document, ctx) if ctx else self.top
        if not isinstance(enclosing, Mapping):
            return None
        if "$recursiveRef" in node:
            anchored = ref == "#" and enclosing.get("$recursiveAnchor") is True
        else:
            anchored = enclosing.get("$dynamicAnchor") == ref.removeprefix("#")
        return (enclosing, ctx) if anchored else None

    def subtypes(self, node: Any) -> list[Any]:
        """The members of a Swagger 2.0 polymorphic type that ``node`` references: a definition
        with ``discriminator: <property>`` is the base every definition that extends it (``allOf``
        with a reference to it) may stand for, each with the property fixed to its name or its
        ``x-ms-discriminator-value`` (what OpenAPI 3 writes as ``oneOf`` with a mapping)."""
        if not isinstance(node, Mapping) or not str(node.get("$ref", "")).startswith("#/definitions/"):
            return []
        return self._subtypes(node["$ref"])

    @functools.cached_property
    def _extended(self) -> dict[str, list[str]]:
        """Base reference -> the names of the definitions whose ``allOf`` extends it."""
        found: dict[str, list[str]] = {}
        for name, definition in (self.document.get("definitions") or {}).items():
            for part in definition.get("allOf", ()) if isinstance(definition, Mapping) else ():
                if isinstance(part, Mapping) and "$ref" in part:
                    found.setdefault(part["$ref"], []).append(name)
        return found

    def _subtypes(self, ref: str) -> list[Any]:
        base = resolve_pointer(self.document, ref.removeprefix("#"))
        tag = base.get("discriminator") if isinstance(base, Mapping) else None
        if not isinstance(tag, str):
            return []
        out = []
        for name in self._extended.get(ref, ()):
            definition = self.document["definitions"][name]
            value = definition.get("x-ms-discriminator-value", name)
            fixed = {k: v for k, v in base.items() if k != "discriminator"}
            fixed["properties"] = {**base.get("properties", {}), tag: {"type": "string", "enum": [value]}}
            parts = [fixed if part == {"$ref": ref} else part for part in definition["allOf"]]
            out.append({**definition, "allOf": parts})
        return out


def resolve_pointer(document: Any, pointer: str) -> Any:
    node = document
    for raw in pointer.strip("/").split("/") if pointer.strip("/") else ():
        part = raw.replace("~1", "/").replace("~0", "~")
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


@dataclass
class _Shape:
    """A schema flattened through references and unions: what it allows, by kind."""

    #: Enumerated scalar values; None when some scalar branch takes any value.
    values: set[str] | None = None
    scalar: bool = False
    #: Object branches by tag (the ``type`` const of a tagged union, "" otherwise): each
    #: field with its schema in every branch of that tag.
    objects: dict[str, dict[str, list[tuple[Any, str]]]] = field(default_factory=dict)
    free_object: bool = False
    items: list[tuple[Any, str]] = field(default_factory=list)


def _shape(side: _Side, node: Any, ctx: str) -> _Shape:
    shape = _Shape()
    enumerated: set[str] = set()
    unconstrained = False
    for leaf, leaf_ctx in _leaves(side, node, ctx):
        kinds = _kinds(leaf)
        if "object" in kinds:
            properties = leaf.get("properties")
            if properties:
                tag = _tag(side, properties, leaf_ctx)
                merged = shape.objects.setdefault(tag, {})
                for name, sub in properties.items():
                    merged.setdefault(name, []).append((sub, leaf_ctx))
            else:
                shape.free_object = True
        if "array" in kinds and "items" in leaf:
            shape.items.append((leaf["items"], leaf_ctx))
        if kinds & {"string", "integer", "number", "boolean"} or "enum" in leaf or "const" in leaf:
            shape.scalar = True
            if "enum" in leaf or "const" in leaf:
                enumerated |= {str(v) for v in _enumerated(leaf) if v is not None}
            else:
                unconstrained = True
    shape.values = None if unconstrained else enumerated
    return shape


def _field(alternatives: list[tuple[Any, str]]) -> tuple[Any, str]:
    """One field's schema from the branches that define it: where several do (two parts of
    an ``allOf``, two branches of one tag), any of theirs, so enumerated values add up."""
    unique = list({(id(sub), ctx): (sub, ctx) for sub, ctx in alternatives}.values())
    if len(unique) == 1:
        return unique[0]
    return {"anyOf": [_At(sub, ctx) for sub, ctx in unique]}, ""


def _leaves(
    side: _Side, node: Any, ctx: str, depth: int = 0, *, extending: bool = False
) -> Iterator[tuple[Mapping[str, Any], str]]:
    # A reference to a Swagger 2.0 base type stands for its subtypes (not when a subtype's
    # own allOf names its base: that is the base's fields).
    if not extending and isinstance(side, _Spec) and (members := side.subtypes(node)):
        for member in members:
            yield from _leaves(side, member, ctx, depth + 1)
        return
    node, ctx = side.deref(node, ctx)
    if not isinstance(node, Mapping) or depth > _MAX_DEPTH:
        return
    parts = node.get("allOf", ())
    branches = [*node.get("anyOf", ()), *node.get("oneOf", ())]
    rest = {k: v for k, v in node.items() if k not in ("anyOf", "oneOf", "allOf")}
    if parts:
        # Every part applies at once: one object per choice of a leaf in each part (a base
        # item and its extension with id, status and created_by make one item).
        choices = [found for part in parts if (found := list(_leaves(side, part, ctx, depth + 1, extending=True)))]
        if branches and (found := [leaf for b in branches for leaf in _leaves(side, b, ctx, depth + 1)]):
            choices.append(found)
        if _kinds(rest) - {"null"} or "enum" in rest or "const" in rest:
            choices.append([(rest, ctx)])
        for combination in itertools.product(*choices) if choices else ():
            yield _merge(combination)
    elif branches:
        for branch in branches:
            yield from _leaves(side, branch, ctx, depth + 1)
        if _kinds(rest) - {"null"} or "properties" in rest:  # e.g. {"type": "object", "oneOf": [...]}
            yield rest, ctx
    elif _kinds(node) != {"null"}:
        yield node, ctx


def _merge(parts: Sequence[tuple[Mapping[str, Any], str]]) -> tuple[Mapping[str, Any], str]:
    """The parts of an ``allOf`` as one schema: the fields of every part, the types they
    share and the values any of them enumerates."""
    if len(parts) == 1:
        return parts[0]
    merged: dict[str, Any] = {}
    declared = [_declared(leaf) for leaf, _ in parts if "type" in leaf]
    if declared:
        merged["type"] = sorted(set.intersection(*declared) or set.union(*declared))
    properties: dict[str, list[tuple[Any, str]]] = {}
    items: list[tuple[Any, str]] = []
    values: list[Any] = []
    for leaf, ctx in parts:
        for name, sub in leaf.get("properties", {}).items():
            properties.setdefault(name, []).append((sub, ctx))
        if "items" in leaf:
            items.append((leaf["items"], ctx))
        if "enum" in leaf or "const" in leaf:
            merged["enum"] = values
            values += [v for v in _enumerated(leaf) if v not in values]
    if properties:
        merged["properties"] = {name: _At(*_field(found)) for name, found in properties.items()}
    if items:
        merged["items"] = _At(*_field(items))
    return merged, parts[0][1]


def _declared(node: Mapping[str, Any]) -> set[str]:
    kind = node["type"]
    return set(kind) if isinstance(kind, list) else {kind}


def _enumerated(node: Mapping[str, Any]) -> list[Any]:
    return list(node["enum"]) if "enum" in node else [node["const"]]


def _kinds(node: Mapping[str, Any]) -> set[str]:
    kind = node.get("type")
    kinds = set(kind) if isinstance(kind, list) else ({kind} if kind else set())
    if "properties" in node:
        kinds.add("object")
    if "items" in node:
        kinds.add("array")
    return kinds


def _tag(side: _Side, properties: Mapping[str, Any], ctx: str) -> str:
    """The value of a ``type`` property that has exactly one allowed value ("" if none)."""
    if "type" not in properties:
        return ""
    values: set[str] = set()
    for leaf, _ in _leaves(side, properties["type"], ctx):
        if "enum" not in leaf and "const" not in leaf:
            return ""
        values |= {str(v) for v in _enumerated(leaf) if v is not None}
    return values.pop() if len(values) == 1 else ""


# --------------------------------------------------------------------------- comparison


def compare(
    ours_key: str, spec_document: Mapping[str, Any], spec_node: Any, *, parameters: bool = False
) -> list[Difference]:
    """Every field, value and variant one side has and the other lacks."""
    if parameters:
        spec_node = _parameters_schema(_Spec(spec_document), spec_node)
    out: list[Difference] = []
    uri = schema_id(ours_key)
    spec = _Spec(spec_document, top=spec_node)
    _compare(ours_key, (_Ours(), {"$ref": uri}, uri), (spec, spec_node, ""), "$", out, 0)
    return sorted(set(out))


def _parameters_schema(side: _Spec, parameters: list[Any]) -> dict[str, Any]:
    """An operation's query parameters as the object schema our query models are."""
    properties = {}
    for raw in parameters:
        param, _ = side.deref(raw, "")
        if param.get("in") == "query":
            # OpenAPI 3 nests the type in "schema"; Swagger 2.0 puts it on the parameter itself.
            properties[param["name"].removesuffix("[]")] = param.get("schema", param)
    return {"type": "object", "properties": properties}


_Node = tuple[_Side, Any, str]


@functools.cache
def _paired() -> frozenset[str]:
    """Types compared through their own pair are not compared again inside others (a run
    list holds runs: the differences of Run are reported once, for Run)."""
    return frozenset(schema_id(pair.ours) for _, spec in _checked() for pair in spec.pairs)


def _checked() -> list[tuple[str, VendorSpec]]:
    """Each provider that names a vendor spec to compare with, and that spec."""
    return [(p.name, p.spec) for p in registry() if p.spec is not None]


def _compare(schema: str, ours: _Node, spec: _Node, path: str, out: list[Difference], depth: int) -> None:
    side, node, ctx = ours
    if isinstance(node, _At):
        node, ctx = node.node, node.ctx
        ours = (side, node, ctx)
    paired = depth > 0 and isinstance(node, Mapping) and "$ref" in node and urljoin(ctx, node["$ref"]) in _paired()
    if paired or depth > _MAX_DEPTH:
        return
    a, b = _shape(*ours), _shape(*spec)

    def diff(what: str, mine: set[str], theirs: set[str], where: str = path) -> None:
        out.extend(Difference(schema, where, what, "ours", item) for item in mine - theirs)
        out.extend(Difference(schema, where, what, "spec", item) for item in theirs - mine)

    if a.scalar and b.scalar:
        if a.values is not None and b.values is not None:
            diff("value", a.values, b.values)
        elif (a.values is None) != (b.values is None):
            out.append(Difference(schema, path, "enum", "ours" if a.values is not None else "spec", "*"))
    if a.objects and b.objects and not (a.free_object or b.free_object):
        tags_a, tags_b = set(a.objects), set(b.objects)
        if tags_a == {""} or tags_b == {""}:  # untagged on one side: compare all fields together
            a_props, b_props = _all_fields(a), _all_fields(b)
            _compare_fields(schema, ours[0], spec[0], a_props, b_props, path, out, depth, diff)
        else:
            diff("variant", tags_a, tags_b)
            for tag in sorted(tags_a & tags_b):
                where = f"{path}<{tag}>"
                _compare_fields(schema, ours[0], spec[0], a.objects[tag], b.objects[tag], where, out, depth, diff)
    for item_a in a.items[:1]:
        for item_b in b.items[:1]:
            _compare(schema, (ours[0], *item_a), (spec[0], *item_b), f"{path}[]", out, depth + 1)


def _compare_fields(
    schema: str,
    side_a: _Side,
    side_b: _Side,
    props_a: Mapping[str, list[tuple[Any, str]]],
    props_b: Mapping[str, list[tuple[Any, str]]],
    path: str,
    out: list[Difference],
    depth: int,
    diff: Any,
) -> None:
    diff("field", set(props_a), set(props_b), path)
    for name in sorted(set(props_a) & set(props_b)):
        mine, theirs = _field(props_a[name]), _field(props_b[name])
        _compare(schema, (side_a, *mine), (side_b, *theirs), f"{path}.{name}", out, depth + 1)


def _all_fields(shape: _Shape) -> dict[str, list[tuple[Any, str]]]:
    fields: dict[str, list[tuple[Any, str]]] = {}
    for properties in shape.objects.values():
        for name, found in properties.items():
            fields.setdefault(name, []).extend(found)
    return fields


def event_names(spec_document: Mapping[str, Any], node: Any) -> set[str]:
    """Event names a spec lists for a stream, directly or per branch: the values (enum or
    const) of an ``event`` property (Assistants, Coze), or else of the ``type`` property
    (Responses events name themselves there)."""
    side = _Spec(spec_document)
    names: set[str] = set()
    for leaf, ctx in _leaves(side, node, ""):
        if "enum" in leaf and "properties" not in leaf:  # a list of the names itself (Azure's)
            names |= {str(v) for v in _enumerated(leaf)}
            continue
        properties = leaf.get("properties", {})
        name = properties.get("event", properties.get("type"))
        if name is not None:
            names |= _shape(side, name, ctx).values or set()
    return names


# --------------------------------------------------------------------------- the whole check


@functools.cache
def _load_yaml(path: str, mtime: float) -> Any:
    # The OpenAI spec is 3 MB: the C loader reads it in under a second, the Python one in ten.
    with open(path, encoding="utf-8") as handle:
        return yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def load_spec(path: str | os.PathLike[str]) -> Any:
    p = Path(path)
    try:
        return _load_yaml(str(p.resolve()), p.stat().st_mtime)
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read the vendor spec ({exc.strerror or exc})") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: not valid YAML ({exc})") from exc


def differences(specs: Mapping[str, Any]) -> list[Difference]:
    """Every difference between our schemas and the vendor specs (``{provider name: document}``)."""
    found: set[Difference] = set()
    spaces = namespaces()
    for name, declared in _checked():
        document = specs[name]
        for pair in declared.pairs:
            node = resolve_pointer(document, pair.pointer)
            found.update(compare(pair.ours, document, node, parameters=pair.parameters))
        for namespace, pointer in declared.event_lists:
            space = spaces[namespace]
            theirs = event_names(document, resolve_pointer(document, pointer))
            key = space.stream_schema
            found.update(Difference(key, "$.event", "value", "ours", e) for e in set(space.events) - theirs)
            found.update(Difference(key, "$.event", "value", "spec", e) for e in theirs - set(space.events))
    return sorted(found)


# --------------------------------------------------------------------------- deviations file

_ENTRY_KEYS = {"schema", "path", "what", "only_in", "items", "reason"}


def load_deviations(path: str | os.PathLike[str]) -> dict[Difference, str]:
    """The reviewed differences, each with its reason. ConfigError names the entry at fault."""
    p = Path(path)
    try:
        entries = yaml.safe_load(p.read_text(encoding="utf-8")) or []
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read the deviations file ({exc.strerror or exc})") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: not valid YAML ({exc})") from exc
    if not isinstance(entries, list):
        raise ConfigError(f"{p}: must be a list of entries")
    listed: dict[Difference, str] = {}
    for number, entry in enumerate(entries, start=1):
        where = f"{p}: entry {number}"
        if not isinstance(entry, dict) or set(entry) != _ENTRY_KEYS:
            keys = sorted(entry) if isinstance(entry, dict) else entry
            raise ConfigError(f"{where}: needs exactly the keys {sorted(_ENTRY_KEYS)} (found {keys})")
        if not str(entry["reason"]).strip():
            raise ConfigError(f"{where}: the reason is empty")
        if entry["what"] not in ("field", "value", "variant", "enum") or entry["only_in"] not in ("ours", "spec"):
            raise ConfigError(f"{where}: what must be field/value/variant/enum and only_in ours/spec")
        for item in entry["items"]:
            listed[Difference(entry["schema"], entry["path"], entry["what"], entry["only_in"], str(item))] = str(
                entry["reason"]
            )
    return listed


@dataclass
class SpecReport:
    unlisted: list[Difference]
    #: Listed deviations that no longer exist.
    stale: list[Difference]
    listed: int

    @property
    def ok(self) -> bool:
        return not self.unlisted and not self.stale

    def to_text(self) -> str:
        lines = [f"unlisted difference: {d.format()}" for d in self.unlisted]
        lines += [f"listed deviation no longer found: {d.format()}" for d in self.stale]
        verdict = "match the specs" if self.ok else "differ from the specs"
        lines.append(f"check-spec: our schemas {verdict} ({self.listed} reviewed deviation(s))")
        return "\n".join(lines) + "\n"


def spec_files(folder: Path) -> dict[str, Path]:
    """Each provider's vendor spec in ``folder`` (by the file name its provider declares)."""
    return {name: folder / spec.file for name, spec in _checked()}


def check_spec(specs: Mapping[str, str | os.PathLike[str]], deviations: str | os.PathLike[str]) -> SpecReport:
    """Compare our schemas with the vendor specs (``{provider name: spec file}``, one per
    provider that declares a spec) and the reviewed deviations."""
    missing = sorted({name for name, _ in _checked()} - set(specs))
    if missing:
        raise ConfigError(f"no vendor spec given for {', '.join(missing)}")
    found = set(differences({name: load_spec(path) for name, path in specs.items()}))
    listed = load_deviations(deviations)
    return SpecReport(sorted(found - set(listed)), sorted(set(listed) - found), len(listed))
