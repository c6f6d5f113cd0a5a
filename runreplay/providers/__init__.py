"""What runreplay knows about each API family.

Today: telling which provider a request belongs to and which client SDK sent it. The
schemas, routes and polling timelines of each provider grow here, one module per family.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

_CLIENT_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\bOpenAI/Python ([\w.\-]+)", re.I), "openai"),
    (re.compile(r"\bAsyncOpenAI/Python ([\w.\-]+)", re.I), "openai"),
    (re.compile(r"\bOpenAI/([\d.]+) \(\.NET", re.I), "openai-dotnet"),
    (re.compile(r"\bOpenAI/NodeJS/([\w.\-]+)", re.I), "openai-node"),
    (re.compile(r"\bcozepy/([\w.\-]+)", re.I), "cozepy"),
    (re.compile(r"\bcoze-go/([\w.\-]+)", re.I), "coze-go"),
    (re.compile(r"\bpython-requests/([\w.\-]+)", re.I), "requests"),
    (re.compile(r"\bpython-httpx/([\w.\-]+)", re.I), "httpx"),
)


def detect_provider(url: str) -> str | None:
    """``"openai"``, ``"coze"`` or ``None`` for a request URL."""
    parts = urlsplit(url)
    host, path = parts.netloc.lower(), parts.path
    if "coze" in host or path.startswith("/v3/chat") or path.startswith("/v1/conversation"):
        return "coze"
    if "openai" in host or re.search(r"/(threads|assistants|responses|chat/completions)(/|$)", path):
        return "openai"
    return None


def detect_client(user_agent: str | None) -> dict[str, str] | None:
    """``{"name": ..., "version": ...}`` for a known SDK's User-Agent, else ``None``."""
    if not user_agent:
        return None
    for pattern, name in _CLIENT_PATTERNS:
        match = pattern.search(user_agent)
        if match:
            return {"name": name, "version": match.group(1)}
    return None
