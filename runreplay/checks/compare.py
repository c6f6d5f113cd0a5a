"""What changed between two recordings of the same test (``runreplay drift --compare``).

The re-record workflow: record again, then ask "what did the vendor change since we
last recorded?". Each recording is reduced to its surface: the endpoints it called, the
stream events it received, every field path with the JSON types seen there, and the
values seen at documented enumerations (statuses, tool types, object names). The
difference of two surfaces is a list of :class:`Change`.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from runreplay import schema
from runreplay._github import annotation
from runreplay._jsonpath import JsonPath, join_key, split
from runreplay.cassette import Body, BodyKind, Cassette, Interaction
from runreplay.providers import Unrouted, match
from runreplay.schema.walker import json_type

_ID_SEGMENT = re.compile(r"^(?=.*\d)[\w.-]+$")


@dataclass
class Surface:
    endpoints: set[str] = field(default_factory=set)
    #: endpoint -> the API versions it was called with (``openai v2``)
    versions: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    #: (endpoint, event name)
    events: set[tuple[str, str]] = field(default_factory=set)
    #: (scope, field path) -> JSON types seen
    types: dict[tuple[str, str], set[str]] = field(default_factory=lambda: defaultdict(set))
    #: (scope, field path) -> values seen where the schema enumerates the values
    values: dict[tuple[str, str], set[str]] = field(default_factory=lambda: defaultdict(set))
    #: (scope, object path) -> how many objects were seen there
    objects: Counter[tuple[str, str]] = field(default_factory=Counter)
    #: (scope, field path) -> (the object path it belongs to, how many of those objects had it)
    present: dict[tuple[str, str], tuple[str, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class Change:
    #: endpoint/event/field added or removed, type_changed, value added or removed
    kind: str
    scope: str
    detail: str

    def to_json(self) -> dict[str, str]:
        return asdict(self)


def surface(cassette: Cassette, api_version: str | None = None) -> Surface:
    out = Surface()
    for interaction in cassette.interactions:
        _add_interaction(out, interaction, api_version)
    return out


def _add_interaction(out: Surface, interaction: Interaction, api_version: str | None) -> None:
    matched = match(interaction, api_version)
    if isinstance(matched, Unrouted):
        endpoint = f"{interaction.request.method} {_generic_path(interaction.request.path)} (undocumented)"
        out.endpoints.add(endpoint)
        for part, body in (("request", interaction.request.body), ("response", interaction.response.body)):
            if body.kind is BodyKind.JSON:
                _observe(out, f"{endpoint} {part}", None, body.value)
        return
    # The version is not part of the name: a v1 and a v2 recording of one test line up.
    endpoint = matched.endpoint
    out.endpoints.add(endpoint)
    out.versions[endpoint].add(f"{matched.provider.name} {matched.version}")
    route = matched.route
    if route.request and interaction.request.body.kind is BodyKind.JSON:
        _observe(out, f"{endpoint} request", matched.schema_key(route.request), interaction.request.body.value)
    _add_response(out, endpoint, interaction.response.body, matched.schema_key, matched.event_key, route.response)


def _add_response(
    out: Surface,
    endpoint: str,
    body: Body,
    key_of: Callable[[str], str],
    event_key: Callable[[str | None], str | None],
    response: str | None,
) -> None:
    if body.kind is BodyKind.SSE:
        for event in body.events:
            name = event.event or "(unnamed)"
            out.events.add((endpoint, name))
            if event.data_is_json:
                _observe(out, f"{endpoint} event {name}", event_key(event.event), event.data)
    elif body.kind is BodyKind.JSON:
        _observe(out, f"{endpoint} response", key_of(response) if response else None, body.value)


def _observe(out: Surface, scope: str, key: str | None, value: Any) -> None:
    def seen(path: str, item: Any, enumerated: bool) -> None:
        out.types[(scope, path)].add(json_type(item))
        if enumerated:
            out.values[(scope, path)].add(json.dumps(item, ensure_ascii=False))
        elif isinstance(item, dict):
            # Which fields each object had: a field missing from only some polls is a change too.
            out.objects[(scope, path)] += 1
            for key in item:
                child = (scope, join_key(path, key))
                out.present[child] = (path, out.present.get(child, (path, 0))[1] + 1)

    walker = schema.walker(seen)
    if key is None:
        walker.observe_free("$", value)
    else:
        walker.issues(schema.schema_id(key), value)


def _generic_path(path: str) -> str:
    """``/v1/vector_stores/vs_abc123`` -> ``/v1/vector_stores/{id}``: ids differ per recording."""
    parts = path.split("/")
    return "/".join("{id}" if _ID_SEGMENT.match(p) and not re.fullmatch(r"v\d+", p) else p for p in parts)


def compare(
    old: Cassette, new: Cassette, api_version: str | None = None, ignore: Sequence[JsonPath] = ()
) -> list[Change]:
    """Everything the ``new`` recording has that ``old`` had not, and the other way round.

    The fields of an endpoint or event that came or went are not listed one by one.
    ``api_version`` reads both as that version (compare a v1 and a v2 recording alike).
    ``ignore``: fields at or inside these paths (drift's ``ignore_paths``) are left out.
    """
    before, after = surface(old, api_version), surface(new, api_version)
    if ignore:
        for side in (before, after):
            _forget(side, ignore)
    changes = [Change("endpoint added", e, "") for e in sorted(after.endpoints - before.endpoints)]
    changes += [Change("endpoint removed", e, "") for e in sorted(before.endpoints - after.endpoints)]
    for endpoint in sorted(before.endpoints & after.endpoints):
        if before.versions[endpoint] != after.versions[endpoint]:
            versions = f"{_types(before.versions[endpoint])} -> {_types(after.versions[endpoint])}"
            changes.append(Change("version changed", endpoint, versions))
    changes += [Change("event added", e, name) for e, name in sorted(after.events - before.events)]
    changes += [Change("event removed", e, name) for e, name in sorted(before.events - after.events)]
    whole = {c.scope if c.kind.startswith("endpoint") else f"{c.scope} event {c.detail}" for c in changes}
    whole.discard("")
    for change in _field_changes(before, after):
        if not any(change.scope == w or change.scope.startswith(f"{w} ") for w in whole):
            changes.append(change)
    return changes


def _forget(side: Surface, ignore: Sequence[JsonPath]) -> None:
    for table in (side.types, side.values):
        for where in [w for w in table if _ignored(w[1], ignore)]:
            del table[where]


def _ignored(path: str, ignore: Sequence[JsonPath]) -> bool:
    # A surface path stands for every index ([*]); any index stands for them all here.
    parts = split(path.replace("[*]", "[0]"))
    return any(p.matches(parts, or_inside=True) for p in ignore)


def _field_changes(before: Surface, after: Surface) -> list[Change]:
    changes = []
    for scope, path in sorted(after.types.keys() - before.types.keys()):
        changes.append(Change("field added", scope, f"{path}: {_types(after.types[(scope, path)])}"))
    for scope, path in sorted(before.types.keys() - after.types.keys()):
        changes.append(Change("field removed", scope, f"{path}: {_types(before.types[(scope, path)])}"))
    for where in sorted(before.types.keys() & after.types.keys()):
        change = _type_change(before.types[where], after.types[where])
        if change:
            changes.append(Change("type changed", where[0], f"{where[1]}: {change}"))
        partly = _partly_removed(before, after, where)
        if partly:
            changes.append(Change("field partly removed", where[0], f"{where[1]}: {partly}"))
    for where in sorted(before.values.keys() & after.values.keys()):
        added = after.values[where] - before.values[where]
        removed = before.values[where] - after.values[where]
        if added:
            changes.append(Change("value added", where[0], f"{where[1]}: {', '.join(sorted(added))}"))
        if removed:
            changes.append(Change("value removed", where[0], f"{where[1]}: {', '.join(sorted(removed))}"))
    return changes


def _type_change(old: set[str], new: set[str]) -> str:
    """``"number -> string"``, ``"string -> null"``, or ``""`` when nothing changed.

    A field that is null in some polls and set in others (``completed_at``) depends on the
    states a recording caught, so null alone coming or going beside the same other types
    is no change. A field that only ever was null, or now only is, has changed.
    """
    old_set, new_set = old - {"null"}, new - {"null"}
    if old_set == new_set:
        return ""
    return f"{_types(old_set or old)} -> {_types(new_set or new)}"


def _partly_removed(before: Surface, after: Surface, where: tuple[str, str]) -> str:
    """Say so when a field every old object had is missing from some, not all, new ones."""
    old, new = before.present.get(where), after.present.get(where)
    if old is None or new is None:
        return ""
    old_total, new_total = before.objects[(where[0], old[0])], after.objects[(where[0], new[0])]
    if old[1] < old_total or new[1] >= new_total:
        return ""
    return f"missing from {new_total - new[1]} of {new_total} (was in all {old_total})"


def _types(kinds: set[str]) -> str:
    return " | ".join(sorted(kinds))


def render(changes: list[Change], fmt: str, old: str, new: str) -> str:
    if fmt == "json":
        document = {"old": old, "new": new, "changes": [c.to_json() for c in changes]}
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if fmt == "github":
        lines = [
            annotation("warning", new, f"runreplay drift --compare: {c.kind}", f"{c.scope}: {c.detail}")
            for c in changes
        ]
        return "\n".join([*lines, f"compare: {len(changes)} change(s)"]) + "\n"
    lines = [f"{old} -> {new}"]
    lines += [f"  {c.kind}: {c.scope}{': ' + c.detail if c.detail else ''}" for c in changes]
    lines.append(f"compare: {len(changes)} change(s)" if changes else "compare: no change")
    return "\n".join(lines) + "\n"
