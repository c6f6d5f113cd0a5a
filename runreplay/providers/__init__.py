"""What runreplay knows about each API family: one provider module per family, one registry.

A provider module (``openai_assistants``, ``coze_chat``, ...) declares a ``PROVIDER``
(see :mod:`runreplay.providers.base`); :func:`registry` finds every module in this
package, so a new family is a new module and nothing else here changes. The functions
below answer the engine's and the checks' questions about a request: which provider and
route it belongs to (:func:`find`), which documented types apply (:func:`match`), which
provider and client SDK a recording came from.
"""

from __future__ import annotations

import difflib
import functools
import importlib
import pkgutil
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import NamedTuple
from urllib.parse import urlsplit

from runreplay.cassette import Interaction, Request
from runreplay.errors import ConfigError
from runreplay.options import CallRules
from runreplay.providers.base import Lifecycle, Provider, Role, Route
from runreplay.schema.catalog import TypeSpace

__all__ = [
    "Match",
    "Provider",
    "Role",
    "Route",
    "Routed",
    "Unrouted",
    "call_rules",
    "check_match_headers",
    "detect_client",
    "detect_provider",
    "find",
    "match",
    "registry",
    "sdk_environment",
    "version_parameters",
]


@functools.cache
def registry() -> tuple[Provider, ...]:
    """Every provider, in module-name order. Imported on first use: the tables load the type catalog."""
    names = sorted(info.name for info in pkgutil.iter_modules(__path__) if info.name != "base")
    return tuple(importlib.import_module(f"{__name__}.{name}").PROVIDER for name in names)


def sdk_environment(base_url: str, key: str, providers: Sequence[Provider] | None = None) -> dict[str, str]:
    """The environment variables that point each family's SDK at a server on ``base_url`` (the
    family's ``emulator_mount`` added), with ``key`` as the API key, as the providers declare them."""
    env: dict[str, str] = {}
    for provider in registry() if providers is None else providers:
        if provider.base_url_env:
            env[provider.base_url_env] = base_url + provider.emulator_mount
        if provider.api_key_env:
            env[provider.api_key_env] = key
    return env


def version_parameters() -> tuple[str, ...]:
    """The query parameters some family names its API version in (``allow_versions`` reads them)."""
    return tuple(sorted({p.version_parameter for p in registry() if p.version_parameter}))


def call_rules(request: Request) -> CallRules | None:
    """What the server of ``request``'s route reads the same sent or not (``None``: nothing)."""
    routed = find(request)
    if routed is None:
        return None
    provider, route = routed.provider, routed.route
    if not provider.blank_query_absent and not route.defaults:
        return None
    return CallRules(provider.blank_query_absent, route.defaults)


def provider_named(name: str) -> Provider:
    for provider in registry():
        if provider.name == name:
            return provider
    raise KeyError(f"no provider named {name!r} (known: {', '.join(p.name for p in registry())})")


class Routed(NamedTuple):
    """The provider and route of one request, with its path parameters."""

    provider: Provider
    route: Route
    params: Mapping[str, str]

    @property
    def lifecycle(self) -> Lifecycle | None:
        return self.provider.lifecycle(self.route.resource)

    def resource_id(self, request: Request) -> str | None:
        ref = self.route.resource_id
        return ref.read(request, self.params) if ref is not None else None


def find(request: Request) -> Routed | None:
    """The route of ``request``: among the providers that own its host, else among all.

    A route depends on the method and the URL only (path, host, query), and replay asks for
    the same request's route several times (its match key, its lifecycle step, its repeats):
    answers are remembered by method and URL.
    """
    return _find(request.method, request.url)


@functools.lru_cache(maxsize=4096)
def _find(method: str, url: str) -> Routed | None:
    request = Request(method, url)
    for provider in _owners(request.parts.netloc) or registry():
        found = provider.find(request)
        if found is not None:
            return Routed(provider, found[0], MappingProxyType(found[1]))
    return None


@functools.lru_cache(maxsize=64)
def _owners(netloc: str) -> tuple[Provider, ...]:
    """The providers whose real API lives at this host (none for a local server or a proxy)."""
    host = urlsplit(f"//{netloc}").hostname or ""
    return tuple(p for p in registry() if p.hosts.search(host))


@dataclass(frozen=True)
class Match:
    """What applies to one recorded interaction: its route, API version and types."""

    provider: Provider
    route: Route
    version: str
    namespace: TypeSpace

    @property
    def endpoint(self) -> str:
        """``POST /threads/{thread_id}/runs``, for messages."""
        return self.route.endpoint

    def schema_key(self, type_name: str) -> str:
        return self.namespace.key(type_name)

    def event_key(self, event: str | None) -> str | None:
        type_name = self.namespace.events.get(event or "")
        return self.schema_key(type_name) if type_name else None


@dataclass(frozen=True)
class Unrouted:
    """An interaction no documented endpoint describes: reported as an unknown endpoint."""

    provider: str | None
    reason: str


def match(interaction: Interaction, version: str | None = None) -> Match | Unrouted:
    """The route, API version and types that apply to one recorded interaction.

    ``version`` overrides the version the request names (check v1 recordings as v2).
    """
    request = interaction.request
    routed = find(request)
    if routed is None:
        owner = _host_owner(request)
        return Unrouted(owner.name if owner else None, "no documented endpoint has this method and path")
    provider = routed.provider
    version = version or provider.version_of(request)
    space = provider.namespace(version)
    if space is None:
        known = ", ".join(sorted(provider.namespaces))
        return Unrouted(provider.name, f"API version {version!r} is not one runreplay knows ({known})")
    return Match(provider, routed.route, version, space)


def _host_owner(request: Request) -> Provider | None:
    owners = _owners(request.parts.netloc)
    return owners[0] if owners else None


def detect_provider(interactions: Sequence[Interaction]) -> str | None:
    """The provider most requests went to: by route, else by host."""
    votes: Counter[str] = Counter()
    for interaction in interactions:
        routed = find(interaction.request)
        owner = routed.provider if routed is not None else _host_owner(interaction.request)
        if owner is not None:
            votes[owner.name] += 1
    return votes.most_common(1)[0][0] if votes else None


def check_match_headers(names: Sequence[str]) -> None:
    """Refuse to match on a header some provider's SDK varies between runs."""
    for name in names:
        owner = next((p for p in registry() if p.volatile(name)), None)
        if owner is not None:
            raise ConfigError(f"header {name!r} is volatile ({owner.title} SDKs vary it) and cannot be matched on")


def check_route_names(names: Sequence[str], where: str = "allow_repeats") -> None:
    """Refuse a route name no provider declares (with the closest known one as a hint)."""
    known = sorted({route.name for provider in registry() for route in provider.routes})
    for name in names:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"{where}: no API route is named {name!r}{hint}; known: {', '.join(known)}")


def detect_client(interactions: Sequence[Interaction]) -> dict[str, str] | None:
    """Client SDK name and version from the first request that reveals them."""
    for interaction in interactions:
        for provider in registry():
            found = provider.client_of(interaction.request.headers)
            if found is not None:
                return {"name": found[0], "version": found[1]}
    return None
