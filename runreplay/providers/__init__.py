"""What runreplay knows about each API family.

Which provider a recording belongs to, which client SDK made it, and (one module per
family: ``openai``, ``coze``) which documented type each request, reply and stream event
has. A new API family is a new module with a ``PROVIDER`` table, added to :func:`registry`.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from runreplay._urls import split_url
from runreplay.cassette import Interaction

if TYPE_CHECKING:
    from runreplay.providers._routing import Match, Provider

_HOSTS = (("openai", re.compile(r"(^|\.)openai\.(com|azure\.com)$")), ("coze", re.compile(r"(^|\.)coze\.(cn|com)$")))
_PATHS = (
    ("coze", re.compile(r"^/v\d/(chat|bots?|conversations?|workflows?)\b")),
    ("openai", re.compile(r"/(threads|assistants|responses|chat/completions|files|vector_stores)\b")),
)


def detect_provider(interactions: Sequence[Interaction]) -> str | None:
    """The provider most requests went to, judged by host first and path second."""
    votes = Counter(name for name in map(_provider_of, interactions) if name)
    return votes.most_common(1)[0][0] if votes else None


def _provider_of(interaction: Interaction) -> str | None:
    parts = urlsplit(interaction.request.url)
    host = (parts.hostname or "").lower()
    found = next((name for name, rx in _HOSTS if rx.search(host)), None)
    return found or next((name for name, rx in _PATHS if rx.search(parts.path)), None)


@functools.cache
def registry() -> tuple[Provider, ...]:
    """Every provider with a routing table. Imported on first use: the tables load the models."""
    from runreplay.providers import coze, openai

    return (openai.PROVIDER, coze.PROVIDER)


@dataclass(frozen=True)
class Unrouted:
    """An interaction no documented endpoint describes: reported as an unknown endpoint."""

    provider: str | None
    reason: str


def match(interaction: Interaction, version: str | None = None) -> Match | Unrouted:
    """The route, API version and types that apply to one recorded interaction.

    ``version`` overrides the version the request names (check v1 recordings as v2).
    """
    from runreplay.providers._routing import Match

    request = interaction.request
    host = (split_url(request.url).hostname or "").lower()
    owners = [p for p in registry() if p.hosts.search(host)] or list(registry())
    for provider in owners:
        found = provider.find(request.method, request.url)
        if found is None:
            continue
        version = version or provider.version_of(request)
        space = provider.namespace(version)
        if space is None:
            known = ", ".join(sorted(provider.namespaces))
            return Unrouted(provider.name, f"API version {version!r} is not one runreplay knows ({known})")
        return Match(provider, found[0], version, space)
    return Unrouted(_provider_of(interaction), "no documented endpoint has this method and path")


_USER_AGENTS = (
    (re.compile(r"\bOpenAI/Python ([\w.\-+]+)"), "openai"),
    (re.compile(r"\bOpenAI/JS ([\w.\-+]+)"), "openai-node"),
    (re.compile(r"\bOpenAI/(\d[\w.\-+]*) \(\.NET"), "openai-dotnet"),
    (re.compile(r"\bcozepy/([\w.\-+]+)", re.IGNORECASE), "cozepy"),
    (re.compile(r"\bcozego/([\w.\-+]+)", re.IGNORECASE), "cozego"),
)
_STAINLESS_LANGS = {"python": "openai", "js": "openai-node"}


def detect_client(interactions: Sequence[Interaction]) -> dict[str, str] | None:
    """Client SDK name and version from the first request that reveals them."""
    for interaction in interactions:
        headers = interaction.request.headers
        agent = headers.get("user-agent") or ""
        for rx, name in _USER_AGENTS:
            if match := rx.search(agent):
                return {"name": name, "version": match.group(1)}
        # OpenAI's generated SDKs also say who they are in x-stainless-* headers.
        lang, version = headers.get("x-stainless-lang"), headers.get("x-stainless-package-version")
        if lang in _STAINLESS_LANGS and version:
            return {"name": _STAINLESS_LANGS[lang], "version": version}
    return None
