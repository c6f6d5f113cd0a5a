"""Check recorded traffic against the documented types.

Every request body, query string, reply body and stream event's ``data`` of an
interaction is checked against the schema its route gives it (see
:mod:`runreplay.providers`). Each finding is a :class:`Violation` naming the cassette,
the interaction, the JSON path inside the cassette file, what the schema expects and
what was found::

    from runreplay import validate_interaction
    from runreplay.checks.validation import format_violations
    problems = validate_interaction(interaction, index=3, cassette="cassettes/t.json")
    if problems:
        raise AssertionError(format_violations(problems))

``validate_*`` returns what a schema rejects (the record-time check); ``check_*`` also
returns what drift reports but the open schemas accept: undeclared fields and requests
to endpoints no documented type describes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from runreplay import schema
from runreplay._jsonpath import join_index, join_key
from runreplay.cassette import Body, BodyKind, Cassette, Interaction
from runreplay.providers import Match, Unrouted, match
from runreplay.schema.registry import schemas_by_id
from runreplay.schema.walker import (
    MISSING_REQUIRED,
    NEW_ENUM_VALUE,
    SCHEMA_VIOLATIONS,
    TYPE_CHANGE,
    UNKNOWN_FIELD,
    Issue,
    describe_value,
)

UNKNOWN_ENDPOINT = "unknown_endpoint"
UNKNOWN_EVENT = "unknown_event"

#: Every category, in the order reports list them.
CATEGORIES = (UNKNOWN_FIELD, MISSING_REQUIRED, TYPE_CHANGE, NEW_ENUM_VALUE, UNKNOWN_ENDPOINT, UNKNOWN_EVENT)
#: The categories a schema rejects. An unknown field is allowed (vendors add fields) and an
#: unknown endpoint has no schema at all; drift reports both.
VIOLATIONS = SCHEMA_VIOLATIONS | {UNKNOWN_EVENT}

_LABELS = {
    UNKNOWN_FIELD: "unknown field",
    MISSING_REQUIRED: "missing required field",
    TYPE_CHANGE: "type change",
    NEW_ENUM_VALUE: "new enum value",
    UNKNOWN_ENDPOINT: "unknown endpoint",
    UNKNOWN_EVENT: "unknown event type",
}


@dataclass(frozen=True)
class Violation:
    """One place where recorded traffic departs from the documented types."""

    category: str
    #: JSON path in the cassette file: ``$.interactions[3].response.body.json.status``.
    path: str
    expected: str
    found: str
    interaction: int | None = None
    cassette: str | None = None
    #: ``POST /threads/{thread_id}/runs (openai v2)``
    endpoint: str | None = None
    #: The schema applied: ``openai/v2/Run``.
    schema: str | None = None

    @property
    def is_violation(self) -> bool:
        """True when a schema rejects it; False for what only drift reports."""
        return self.category in VIOLATIONS

    @property
    def label(self) -> str:
        return _LABELS.get(self.category, self.category)

    def format(self) -> str:
        """One line: where, what kind, expected and found."""
        where = [self.cassette or "<cassette>"]
        if self.interaction is not None:
            where.append(f"interaction #{self.interaction}")
        if self.endpoint:
            where.append(self.endpoint)
        return f"{', '.join(where)}: {self.path}: {self.label}: expected {self.expected}, found {self.found}"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def format_violations(violations: Iterable[Violation]) -> str:
    """A readable multi-line report, one violation per line."""
    lines = [v.format() for v in violations]
    head = f"runreplay: {len(lines)} schema violation(s):"
    return "\n".join([head, *(f"  {line}" for line in lines)])


# --------------------------------------------------------------------------- entry points


def validate_interaction(
    interaction: Interaction,
    *,
    index: int | None = None,
    cassette: str | None = None,
    api_version: str | None = None,
) -> list[Violation]:
    """What the schemas reject in one interaction (empty when it is valid).

    ``index`` and ``cassette`` only label the result; without ``index`` paths start at
    the interaction (``$.response.body.json.status``). ``api_version`` checks against
    another version than the request names (``"v2"`` for a v1 recording).
    """
    found = check_interaction(
        interaction, index=index, cassette=cassette, api_version=api_version, unknown_fields=False
    )
    return [v for v in found if v.is_violation]


def check_interaction(
    interaction: Interaction,
    *,
    index: int | None = None,
    cassette: str | None = None,
    api_version: str | None = None,
    unknown_fields: bool = True,
) -> list[Violation]:
    """Everything found in one interaction: violations, unknown endpoints and (unless
    ``unknown_fields`` is false, which saves a walk of every valid payload) undeclared fields."""
    return _Inspection(interaction, index, cassette, unknown_fields).run(api_version)


def validate_cassette(cassette: Cassette, *, api_version: str | None = None) -> list[Violation]:
    found = check_cassette(cassette, api_version=api_version, unknown_fields=False)
    return [v for v in found if v.is_violation]


def check_cassette(
    cassette: Cassette, *, api_version: str | None = None, unknown_fields: bool = True
) -> list[Violation]:
    name = str(cassette.path) if cassette.path is not None else None
    out: list[Violation] = []
    for index, interaction in enumerate(cassette.interactions):
        out.extend(
            check_interaction(
                interaction, index=index, cassette=name, api_version=api_version, unknown_fields=unknown_fields
            )
        )
    return out


# --------------------------------------------------------------------------- one interaction


class _Inspection:
    def __init__(self, interaction: Interaction, index: int | None, cassette: str | None, unknown: bool) -> None:
        self.interaction = interaction
        self.index = index
        self.cassette = cassette
        self.unknown = unknown
        self.root = f"$.interactions[{index}]" if index is not None else "$"
        self.endpoint: str | None = None
        self.found: list[Violation] = []

    def run(self, api_version: str | None) -> list[Violation]:
        matched = match(self.interaction, api_version)
        if isinstance(matched, Unrouted):
            request = self.interaction.request
            self._add(
                UNKNOWN_ENDPOINT,
                f"{self.root}.request.url",
                "an endpoint with documented types" + (f" ({matched.provider})" if matched.provider else ""),
                f"{request.method} {request.path} ({matched.reason})",
            )
            return self.found
        self.endpoint = f"{matched.endpoint} ({matched.provider.name} {matched.version})"
        self._request(matched)
        self._response(matched)
        return self.found

    def _add(self, category: str, path: str, expected: str, found: str, key: str | None = None) -> None:
        self.found.append(Violation(category, path, expected, found, self.index, self.cassette, self.endpoint, key))

    # -- the request

    def _request(self, matched: Match) -> None:
        route, request = matched.route, self.interaction.request
        if route.query:
            key = matched.schema_key(route.query)
            # The version parameter selects the types (it is the namespace), it is not one of them.
            version = matched.provider.version_parameter
            pairs = [(name, value) for name, value in request.query() if name != version]
            self._payload(key, query_params(pairs, key), f"{self.root}.request.query")
        if route.request:
            key = matched.schema_key(route.request)
            self._body(key, request.body, f"{self.root}.request.body", empty={})

    # -- the reply

    def _response(self, matched: Match) -> None:
        response = self.interaction.response
        error = matched.provider.error_of(response)
        where = f"{self.root}.response.body"
        if error is not None:
            if response.body.kind is BodyKind.JSON:  # a proxy's HTML error page is not the API's
                self._payload(matched.schema_key(error), response.body.value, f"{where}.json")
        elif response.body.kind is BodyKind.SSE:
            self._events(matched, response.body, where)
        elif matched.route.response:
            self._body(matched.schema_key(matched.route.response), response.body, where, empty=None)

    def _body(self, key: str, body: Body, where: str, empty: Any) -> None:
        if body.kind is BodyKind.JSON:
            self._payload(key, body.value, f"{where}.json")
        elif body.kind is BodyKind.EMPTY and empty is not None:  # no body: no parameters given
            self._payload(key, empty, f"{where}.json")
        else:
            self._add(TYPE_CHANGE, where, f"a JSON body ({key})", f"{body.kind} body", key)

    def _events(self, matched: Match, body: Body, where: str) -> None:
        space = matched.namespace
        for number, event in enumerate(body.events):
            if event.event is None and event.data is None:
                continue  # a keep-alive (comment-only) block carries nothing to check
            place = join_index(f"{where}.sse.events", number)
            data_path = f"{place}.data" if event.data_is_json else f"{place}.data_text"
            key = matched.event_key(event.event)
            if key is not None:
                value = self._event_data(key, event.data, event.data_is_json, data_path)
                if value is not None:
                    self._payload(key, value, data_path)
                continue
            expected = f"one of the {len(space.events)} documented {space.name} stream events"
            self._add(UNKNOWN_EVENT, f"{place}.event", expected, describe_value(event.event))
            value = event.data if event.data_is_json else lenient_json(event.data)
            if value is not None:
                self._nearest_event(matched, value, data_path)

    def _event_data(self, key: str, data: Any, is_json: bool, where: str) -> Any:
        """The value to check: JSON data as is. Text is fine when the schema takes it
        (``[DONE]``); otherwise a type change, and when it is almost JSON (unquoted keys,
        as in documentation) what it would say if it were."""
        if is_json:
            return data
        if schema.is_valid(key, data):
            return None
        self._add(TYPE_CHANGE, where, f"JSON data ({key})", describe_value(data), key)
        return lenient_json(data)

    def _nearest_event(self, matched: Match, value: Any, where: str) -> None:
        """Read an unknown event's data as the documented type it resembles most, so the
        payload of a renamed (or annotated) event is still checked."""
        found = schema.nearest((matched.schema_key(t) for t in matched.namespace.events.values()), value)
        if found is None:
            return
        key, issues = found
        for issue in issues:
            if self.unknown or issue.category in SCHEMA_VIOLATIONS:
                self._add(issue.category, where + issue.path[1:], issue.expected, issue.found, key)

    # -- one payload

    def _payload(self, key: str, value: Any, where: str) -> None:
        if self.unknown:
            issues = schema.classify(key, value)
            if not any(i.category in SCHEMA_VIOLATIONS for i in issues) and not schema.is_valid(key, value):
                issues.append(_jsonschema_issue(key, value))
        elif schema.is_valid(key, value):
            return
        else:
            issues = [i for i in schema.classify(key, value) if i.category in SCHEMA_VIOLATIONS]
            issues = issues or [_jsonschema_issue(key, value)]
        for issue in issues:
            self._add(issue.category, where + issue.path[1:], issue.expected, issue.found, key)


def _jsonschema_issue(key: str, value: Any) -> Issue:
    """What jsonschema itself says, for a rejection the walker did not explain (a safety net)."""
    from jsonschema.exceptions import best_match  # only for a rejection: a slow import

    error = best_match(schema.validator(key).iter_errors(value))
    path = "$"
    for part in error.absolute_path:
        path = join_index(path, part) if isinstance(part, int) else join_key(path, str(part))
    keyword = str(error.validator)
    category = {"required": MISSING_REQUIRED, "enum": NEW_ENUM_VALUE, "const": NEW_ENUM_VALUE}.get(keyword, TYPE_CHANGE)
    return Issue(category, path, error.message, describe_value(error.instance))


# --------------------------------------------------------------------------- helpers


def query_params(pairs: Iterable[tuple[str, str]], key: str) -> dict[str, Any]:
    """A query string's pairs as the schema expects them: ``a[]=x`` and repeated keys as
    lists, numbers and booleans converted where the schema's property wants them."""
    values: dict[str, Any] = {}
    for name, value in pairs:
        name, is_list = (name[:-2], True) if name.endswith("[]") else (name, False)
        if name in values or is_list:
            current = values.get(name, [])
            values[name] = [*(current if isinstance(current, list) else [current]), value]
        else:
            values[name] = value
    properties = schemas_by_id()[schema.schema_id(key)].get("properties", {})
    return {name: _convert(value, _types(properties.get(name, {}))) for name, value in values.items()}


def _types(node: dict[str, Any]) -> set[str]:
    kinds = {node["type"]} if isinstance(node.get("type"), str) else set(node.get("type", ()))
    for branch in node.get("anyOf", ()):
        kinds |= _types(branch)
    return kinds


def _convert(value: Any, kinds: set[str]) -> Any:
    if isinstance(value, list) or not isinstance(value, str):
        return value
    if "integer" in kinds and re.fullmatch(r"-?\d+", value):
        return int(value)
    if "boolean" in kinds and value in ("true", "false"):
        return value == "true"
    if "array" in kinds:
        return [value]
    return value


_BARE_KEY = re.compile(r"([{,]\s*)([A-Za-z_][A-Za-z0-9_]*)\s*:")


def lenient_json(text: str | None) -> Any:
    """Parse object-like text that is JSON except for unquoted keys; None if that fails.

    Only for diagnosing documentation-style streams; never used to accept a payload.
    """
    if not text or not text.lstrip().startswith("{"):
        return None
    try:
        return json.loads(_BARE_KEY.sub(r'\1"\2":', text))
    except ValueError:
        return None
