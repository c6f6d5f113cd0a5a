"""Scrub rules: which values are secrets, read from ``[tool.runreplay.scrub]``.

The rules are configuration (see :class:`ScrubRules`); :mod:`runreplay.engine.scrub`
applies them. Kept apart so that options and checks can name the rules without the
scrubbing engine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runreplay.config import check_keys, find_pyproject, read_toml, tool_table
from runreplay.errors import ConfigError

PSEUDONYM = re.compile(r"scrubbed-[a-z0-9_]+-[0-9a-f]{10}")

#: Known secret shapes. Each is (kind, pattern); the kind names the pseudonym.
SECRET_PATTERNS: tuple[tuple[str, str], ...] = (
    ("openai_key", r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}"),
    ("coze_token", r"\b(?:pat|sat)_[A-Za-z0-9]{20,}"),
    ("jwt", r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
    ("aws_key", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    ("bearer", r"(?<=Bearer )(?!scrubbed-)[A-Za-z0-9._~+/-]{16,}=*"),
)
#: Literals each built-in shape cannot match without (the patterns are case-sensitive):
#: a string holding none of them skips that regex, which is most strings by far.
_NEEDLES: dict[str, tuple[str, ...]] = {
    SECRET_PATTERNS[0][1]: ("sk-",),
    SECRET_PATTERNS[1][1]: ("pat_", "sat_"),
    SECRET_PATTERNS[2][1]: ("eyJ",),
    SECRET_PATTERNS[3][1]: ("AKIA", "ASIA"),
    SECRET_PATTERNS[4][1]: ("Bearer ",),
}
DEFAULT_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "api-key",
        "x-api-key",
        "cookie",
        "set-cookie",
        "openai-organization",
        "openai-project",
        "x-coze-token",
    }
)
DEFAULT_QUERY_PARAMS = frozenset({"api_key", "apikey", "key", "token", "access_token", "auth", "sig", "signature"})
HIGH_ENTROPY = re.compile(r"[A-Za-z0-9+/_=-]{32,}")
_CONFIG_KEYS = {
    "headers": "extra header names whose values are secrets",
    "query_params": "extra query parameters that carry secrets",
    "json_paths": "JSON paths whose values are scrubbed (e.g. user_id, meta.email, messages.*.content)",
    "patterns": "extra secret shapes: a table of name = regular expression",
    "high_entropy": "also scrub long random-looking strings (true/false)",
    "salt_env": "environment variable holding a private salt for the pseudonyms",
    "enabled": "scrub at record time (true/false; default true)",
}


@dataclass(frozen=True)
class ScrubRules:
    headers: frozenset[str] = DEFAULT_HEADERS
    query_params: frozenset[str] = DEFAULT_QUERY_PARAMS
    json_paths: tuple[str, ...] = ()
    patterns: tuple[tuple[str, str], ...] = SECRET_PATTERNS
    high_entropy: bool = False
    salt_env: str = "RUNREPLAY_SCRUB_SALT"
    enabled: bool = True
    _compiled: tuple[tuple[str, re.Pattern[str], tuple[str, ...]], ...] = field(
        default=(), init=False, compare=False, repr=False
    )
    #: Any literal of the built-in shapes (None: no shape has one), and the shapes without literals.
    _any_needle: re.Pattern[str] | None = field(default=None, init=False, compare=False, repr=False)
    _always: list[tuple[str, re.Pattern[str]]] = field(default_factory=list, init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        compiled = tuple((kind, re.compile(rx), _NEEDLES.get(rx, ())) for kind, rx in self.patterns)
        object.__setattr__(self, "_compiled", compiled)
        needles = [needle for _, _, some in compiled for needle in some]
        object.__setattr__(self, "_any_needle", re.compile("|".join(map(re.escape, needles))) if needles else None)
        object.__setattr__(self, "_always", [(kind, rx) for kind, rx, some in compiled if not some])

    def candidates(self, value: str) -> list[tuple[str, re.Pattern[str]]]:
        """The secret shapes that may occur in ``value``: those whose literals it holds, and
        every configured pattern (their literals are not known)."""
        if self._any_needle is None or self._any_needle.search(value) is None:
            return self._always
        return [(kind, rx) for kind, rx, some in self._compiled if not some or any(n in value for n in some)]


# ---------------------------------------------------------------------------- configuration


def load_rules(path: Path | None = None, *, search_from: Path | None = None) -> ScrubRules:
    """Rules from a TOML file: ``[tool.runreplay.scrub]`` of a pyproject.toml, or a rule file
    whose top level holds the same keys.

    Without ``path``, the nearest pyproject.toml above ``search_from`` (default: the
    working directory) is used if it has the table; otherwise the defaults apply.
    """
    source = Path(path) if path is not None else find_pyproject(search_from)
    if source is None:
        return ScrubRules()
    document = read_toml(source)
    if source.name != "pyproject.toml" and "tool" not in document:
        return rules_from_table(document, f"{source}")
    table = tool_table(document, "scrub", source)
    if table is None:
        if path is not None:
            raise ConfigError(f"{source}: no [tool.runreplay.scrub] table")
        return ScrubRules()
    return rules_from_table(table, f"{source}: [tool.runreplay.scrub]")


def rules_from_table(table: Any, where: str) -> ScrubRules:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: must be a table")
    check_keys(table, _CONFIG_KEYS, where)
    headers = _string_list(table, "headers", where)
    params = _string_list(table, "query_params", where)
    paths = _string_list(table, "json_paths", where)
    extra = table.get("patterns", {})
    if not isinstance(extra, dict) or not all(isinstance(v, str) for v in extra.values()):
        raise ConfigError(f"{where}: 'patterns' must be a table of name = \"regular expression\"")
    patterns = list(SECRET_PATTERNS)
    for name, rx in extra.items():
        if not re.fullmatch(r"[a-z0-9_]+", name):
            raise ConfigError(f"{where}: pattern name {name!r} must be lower-case letters, digits and _")
        try:
            re.compile(rx)
        except re.error as exc:
            raise ConfigError(f"{where}: pattern {name!r} is not a valid regular expression: {exc}") from None
        patterns.append((name, rx))
    for flag in ("high_entropy", "enabled"):
        if flag in table and not isinstance(table[flag], bool):
            raise ConfigError(f"{where}: {flag!r} must be true or false, found {table[flag]!r}")
    salt_env = table.get("salt_env", "RUNREPLAY_SCRUB_SALT")
    if not isinstance(salt_env, str):
        raise ConfigError(f"{where}: 'salt_env' must be a string")
    return ScrubRules(
        headers=DEFAULT_HEADERS | {h.lower() for h in headers},
        query_params=DEFAULT_QUERY_PARAMS | {p.lower() for p in params},
        json_paths=tuple(paths),
        patterns=tuple(patterns),
        high_entropy=bool(table.get("high_entropy", False)),
        salt_env=salt_env,
        enabled=bool(table.get("enabled", True)),
    )


def _string_list(table: dict[str, Any], key: str, where: str) -> list[str]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{where}: {key!r} must be a list of non-empty strings, found {value!r}")
    return value
