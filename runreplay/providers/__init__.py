"""What runreplay knows about each API family.

Today: telling which provider a recording belongs to and which client SDK made it. The
schemas, routes and polling timelines of each provider grow here, one module per family.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from urllib.parse import urlsplit

from runreplay.cassette import Interaction

_HOSTS = (("openai", re.compile(r"(^|\.)openai\.(com|azure\.com)$")), ("coze", re.compile(r"(^|\.)coze\.(cn|com)$")))
_PATHS = (
    ("coze", re.compile(r"^/v\d/(chat|bots?|conversations?|workflows?)\b")),
    ("openai", re.compile(r"/(threads|assistants|responses|chat/completions|files|vector_stores)\b")),
)


def detect_provider(interactions: Sequence[Interaction]) -> str | None:
    """The provider most requests went to, judged by host first and path second."""
    votes: Counter[str] = Counter()
    for interaction in interactions:
        parts = urlsplit(interaction.request.url)
        host = (parts.hostname or "").lower()
        found = next((name for name, rx in _HOSTS if rx.search(host)), None)
        found = found or next((name for name, rx in _PATHS if rx.search(parts.path)), None)
        if found:
            votes[found] += 1
    return votes.most_common(1)[0][0] if votes else None


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
