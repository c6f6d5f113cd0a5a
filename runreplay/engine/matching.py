"""Request matching that survives a new machine and a new SDK version.

A request is reduced to a key of method, path, decoded and sorted query, and a canonical
form of its body (parsed JSON with keys sorted, ``null`` fields and ``"stream": false``
dropped, whole-valued numbers written as integers, configured JSON paths ignored). Host,
port and every header are left out: the base URL differs between machines and SDKs add
volatile headers (User-Agent, X-Stainless-*, retry counts, timeouts). What a route's
server reads the same sent or not (:class:`CallRules`: empty query values, body fields at
their default) is left out too, so that SDKs in different languages making the same call
match one recording (docs/matching.md).
"""

from __future__ import annotations

import base64
import difflib
import json
from collections.abc import Collection, Sequence
from typing import Any, NamedTuple
from urllib.parse import unquote

from runreplay import _json
from runreplay.cassette import Body, BodyKind, Interaction, Request, encode_body
from runreplay.options import CallRules, MatchConfig


class RequestKey(NamedTuple):
    # A named tuple: built and hashed for every replayed request, faster than a dataclass.
    method: str
    host: str
    path: str
    query: tuple[tuple[str, str], ...]
    body: str
    headers: tuple[tuple[str, str], ...] = ()

    def describe(self) -> str:
        """A readable multi-line form, used in diffs."""
        query = "&".join(f"{k}={v}" for k, v in self.query)
        lines = [f"{self.method} {self.host}{self.path}{'?' + query if query else ''}"]
        lines.extend(f"{k}: {v}" for k, v in self.headers)
        if self.body:
            lines.extend(_pretty_body(self.body))
        return "\n".join(lines)


def _pretty_body(body: str) -> list[str]:
    try:
        return json.dumps(_json.loads(body), indent=2, sort_keys=True, ensure_ascii=False).splitlines()
    except ValueError:
        return body.splitlines() or [body]


def make_key(request: Request, config: MatchConfig) -> RequestKey:
    """The request as matching sees it (see the module docstring)."""
    parts = request.parts
    host = parts.netloc.lower() if config.match_host else ""
    rules = _rules_for(request, config)
    pairs = request.query()
    if rules is not None and rules.blank_query_absent:
        pairs = [pair for pair in pairs if pair[1]]
    query = tuple(sorted(pairs))
    if config.allow_versions:
        query = _same_versions(query, config)
    path = unquote(parts.path) or "/"
    matched_headers: tuple[tuple[str, str], ...] = ()
    if config.match_headers:  # usually none: then the request's headers need not be looked at
        wanted = {h.lower() for h in config.match_headers}
        matched_headers = tuple(sorted((k, v) for k, v in request.headers.items() if k in wanted))
    body = canonical_body(request.body, config, rules.body_defaults if rules is not None else ())
    return RequestKey(request.method.upper(), host, path, query, body, matched_headers)


def _rules_for(request: Request, config: MatchConfig) -> CallRules | None:
    # Only a query or a body can hold what a rule leaves out: polls without either skip routing.
    if config.call_rules is None or (not request.parts.query and request.body.kind is BodyKind.EMPTY):
        return None
    return config.call_rules(request)


#: What an allowed API version becomes in a key: all of them compare equal.
ANY_ALLOWED_VERSION = "<allowed version>"


def _same_versions(query: tuple[tuple[str, str], ...], config: MatchConfig) -> tuple[tuple[str, str], ...]:
    return tuple(
        (name, ANY_ALLOWED_VERSION if name in config.version_parameters and value in config.allow_versions else value)
        for name, value in query
    )


def canonical_body(body: Body, config: MatchConfig, defaults: tuple[tuple[str, Any], ...] = ()) -> str:
    """The body as matching compares it; ``defaults``: top-level fields left out at these values."""
    kind = body.kind
    if kind is BodyKind.EMPTY:
        return ""
    if kind is BodyKind.JSON:
        value = normalise_json(body.value, config, defaults)
        if value in ({}, None):
            return ""
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if kind is BodyKind.TEXT:
        # A text body may still be JSON sent without a JSON content type (or JSON stored as text
        # for nesting too deep to keep as a value: _json refuses it with a ValueError).
        try:
            return canonical_body(Body.json(_json.loads(body.value)), config, defaults)
        except ValueError:
            return str(body.value)
    if kind is BodyKind.BINARY:
        return "base64:" + base64.b64encode(body.value).decode("ascii")
    return encode_body(body).decode("utf-8", errors="replace")


def normalise_json(value: Any, config: MatchConfig, defaults: tuple[tuple[str, Any], ...] = ()) -> Any:
    if isinstance(value, dict):
        if config.drop_stream_false and value.get("stream") is False:
            value = {k: v for k, v in value.items() if k != "stream"}
        if defaults:
            value = {k: v for k, v in value.items() if not _is_default(k, v, defaults)}
    value = _canonical(value, config.drop_null_fields)
    for path in config.compiled_paths:
        value = path.drop(value)
    return value


def _is_default(name: str, value: Any, defaults: tuple[tuple[str, Any], ...]) -> bool:
    # Same type too: True == 1 in Python, but 1 is not a boolean field's default.
    return any(name == field and type(value) is type(default) and value == default for field, default in defaults)


def _canonical(value: Any, drop_nulls: bool) -> Any:
    """``null`` fields dropped (when asked) and whole floats made integers, in one walk: JSON
    has one number type, and Node writes ``1.0`` as ``1`` where Python keeps ``1.0``."""
    if isinstance(value, dict):
        return {k: _canonical(v, drop_nulls) for k, v in value.items() if v is not None or not drop_nulls}
    if isinstance(value, list):
        return [_canonical(v, drop_nulls) for v in value]
    if type(value) is float and value.is_integer():
        return int(value)
    return value


#: Re-record advice when nothing more is known about the request.
GENERIC_ADVICE = (
    "If the change is expected, re-record the test with --record-mode=rewrite "
    "(new_episodes only suits a new request that names no id from the recording)."
)


class Matcher:
    """Finds the recorded interaction for a request.

    Identical requests are served in recorded order, then the last one repeats: a client
    that polls more often than during recording keeps getting the final state instead of
    an error, and one that polls less often still moves forward.
    """

    def __init__(self, interactions: Sequence[Interaction], config: MatchConfig) -> None:
        self.config = config
        self.interactions: list[Interaction] = list(interactions)
        self.keys: list[RequestKey] = [make_key(i.request, config) for i in interactions]
        self._by_key: dict[RequestKey, list[int]] = {}
        for index, key in enumerate(self.keys):
            self._by_key.setdefault(key, []).append(index)
        self._served: dict[RequestKey, int] = {}
        self.used: set[int] = set()

    def add(self, interaction: Interaction) -> None:
        key = make_key(interaction.request, self.config)
        self.interactions.append(interaction)
        self.keys.append(key)
        self._by_key.setdefault(key, []).append(len(self.keys) - 1)

    def has(self, key: RequestKey) -> bool:
        return key in self._by_key

    def take(self, key: RequestKey) -> int | None:
        """Index of the interaction to replay for ``key``, advancing its cursor."""
        indexes = self._by_key.get(key)
        if not indexes:
            return None
        served = self._served.get(key, 0)
        self._served[key] = served + 1
        index = indexes[min(served, len(indexes) - 1)]
        self.used.add(index)
        return index

    def exhausted(self, key: RequestKey) -> bool:
        """Whether every recorded interaction for ``key`` was served (the next one would repeat)."""
        indexes = self._by_key.get(key)
        return indexes is not None and self._served.get(key, 0) >= len(indexes)

    def recorded_count(self, key: RequestKey) -> int:
        return len(self._by_key.get(key, ()))

    def closest(self, key: RequestKey, limit: int = 3, preferred: Collection[int] = ()) -> list[tuple[int, float]]:
        """The recorded interactions most like ``key``, best first, with a similarity score.

        ``preferred`` interactions (those of the request's own route) come before all others:
        a diff against the same endpoint says what changed, one against another endpoint does not.
        """
        target = key.describe()
        scored: list[tuple[bool, float, int]] = []
        seen: set[RequestKey] = set()
        for index, other in enumerate(self.keys):
            if other in seen:
                continue
            seen.add(other)
            score = (
                (other.method == key.method) * 2.0
                + (other.path == key.path) * 3.0
                + (other.query == key.query) * 1.0
                + difflib.SequenceMatcher(None, target, other.describe()).ratio() * 2.0
            )
            scored.append((index in preferred, score, index))
        scored.sort(key=lambda item: (not item[0], -item[1]))
        return [(index, score) for _same, score, index in scored[:limit]]

    def explain_miss(
        self,
        key: RequestKey,
        cassette_name: str,
        *,
        preferred: Collection[int] = (),
        route: str | None = None,
        advice: str = GENERIC_ADVICE,
    ) -> str:
        """Why nothing matched: the request (and its ``route``), a diff against the closest, what to do."""
        shown = [*key.describe().splitlines()]
        if route is not None:
            shown[0] += f"    ({route})"
        lines = [
            f"runreplay: no recorded interaction in {cassette_name} matches this request:",
            "",
            *("    " + line for line in shown),
            "",
        ]
        candidates = self.closest(key, preferred=preferred)
        if not candidates:
            lines.append("The cassette has no interactions.")
        else:
            lines.append("Closest recorded interactions (diff: - recorded, + this request):")
            for index, _score in candidates:
                lines.append("")
                lines.extend(key_diff(self.keys[index], key, f"interaction #{index}"))
        lines += [
            "",
            "Matching uses method, path, sorted query and the JSON body (null fields, "
            '"stream": false and the ignored JSON paths left out); ignore volatile body fields '
            "with match_ignore_paths (e.g. $.metadata.trace_id, $..trace_id). " + advice,
        ]
        return "\n".join(lines)


def key_diff(recorded: RequestKey, key: RequestKey, name: str) -> list[str]:
    """A recorded request's key against ``key``, as an indented unified diff (- recorded, + request)."""
    diff = difflib.unified_diff(
        recorded.describe().splitlines(), key.describe().splitlines(), fromfile=name, tofile="request", lineterm="", n=2
    )
    return ["    " + line for line in diff]
