"""Declarative routing: which documented type each request, reply and stream event has.

A provider module declares a :class:`Provider`: its routes (method, path pattern, type
names), how to read the API version from a request, which models namespace a version
uses, and which type an error reply has. Type names (``"Run"``) are resolved in the
version's namespace (``openai/v1`` or ``openai/v2``), so one route serves every version.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from runreplay._urls import split_url
from runreplay.cassette import Request, Response
from runreplay.schema.catalog import TypeSpace, namespaces

_PARAM = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Route:
    """One endpoint. ``request``/``query``/``response`` are type names, ``None`` when unchecked."""

    methods: tuple[str, ...]
    path: str
    response: str | None
    request: str | None = None
    query: str | None = None
    #: The endpoint answers with an event stream when asked to (``stream: true``).
    stream: bool = False
    _regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        pattern = _PARAM.sub(r"[^/]+", re.escape(self.path).replace(r"\{", "{").replace(r"\}", "}"))
        object.__setattr__(self, "_regex", re.compile(f"^{pattern}$"))

    @property
    def parameters(self) -> int:
        return len(_PARAM.findall(self.path))

    def matches(self, method: str, path: str) -> bool:
        return method in self.methods and self._regex.match(path) is not None


def route(methods: str, path: str, response: str | None, **kwargs: Any) -> Route:
    """``route("GET|POST", "/v3/chat/retrieve", "ChatResponse", query="ChatIdsQuery")``."""
    return Route(tuple(methods.split("|")), path, response, **kwargs)


@dataclass(frozen=True)
class Provider:
    name: str
    #: Hosts of the real API (the emulator and proxies are recognised by path).
    hosts: re.Pattern[str]
    #: Removed from the start of a URL path before matching (a base URL's ``/v1``).
    prefix: re.Pattern[str]
    routes: tuple[Route, ...]
    #: API version -> models namespace name.
    namespaces: Mapping[str, str]
    version_of: Callable[[Request], str]
    #: The error type name of a reply, or None when the reply is not an error.
    error_of: Callable[[Response], str | None]

    def find(self, method: str, url: str) -> tuple[Route, str] | None:
        """The route of a request (literal path segments win over parameters)."""
        path = split_url(url).path
        if (found := self.prefix.search(path)) is not None:
            path = path[found.end() :]
        # Only routes of this method and number of segments can match (a parameter never
        # spans a "/"); they are kept fewest parameters first, so the first match wins.
        for candidate in self._by_shape.get((method.upper(), path.count("/")), ()):
            if candidate._regex.match(path) is not None:
                return candidate, path
        return None

    @functools.cached_property
    def _by_shape(self) -> dict[tuple[str, int], list[Route]]:
        shapes: dict[tuple[str, int], list[Route]] = {}
        for candidate in self.routes:
            for method in candidate.methods:
                shapes.setdefault((method, candidate.path.count("/")), []).append(candidate)
        for routes in shapes.values():
            routes.sort(key=lambda r: r.parameters)  # stable: declaration order among equals
        return shapes

    def namespace(self, version: str) -> TypeSpace | None:
        name = self.namespaces.get(version)
        return namespaces()[name] if name else None


@dataclass(frozen=True)
class Match:
    """What applies to one recorded interaction."""

    provider: Provider
    route: Route
    version: str
    namespace: TypeSpace

    @property
    def endpoint(self) -> str:
        """``POST /threads/{thread_id}/runs (assistants v2)``, for messages."""
        methods = "|".join(self.route.methods)
        return f"{methods} {self.route.path}"

    def schema_key(self, type_name: str) -> str:
        return self.namespace.key(type_name)

    def event_key(self, event: str | None) -> str | None:
        type_name = self.namespace.events.get(event or "")
        return self.schema_key(type_name) if type_name else None
