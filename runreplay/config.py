"""Reading runreplay's settings from ``[tool.runreplay.*]`` tables in TOML files."""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from runreplay.errors import ConfigError


def find_pyproject(start: str | os.PathLike[str] | None = None) -> Path | None:
    """The nearest ``pyproject.toml`` in ``start`` (default: the working folder) or above."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def read_toml(path: Path) -> dict[str, Any]:
    """A TOML document, or a :class:`ConfigError` naming the file."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: configuration file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the configuration file ({exc})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None


def tool_table(document: dict[str, Any], name: str, source: Path) -> dict[str, Any] | None:
    """``[tool.runreplay.<name>]`` of a document, None when absent."""
    tool = document.get("tool", {})
    if not isinstance(tool, dict):
        raise ConfigError(f"{source}: [tool] must be a table")
    table = tool.get("runreplay", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{source}: [tool.runreplay] must be a table")
    section = table.get(name)
    if section is not None and not isinstance(section, dict):
        raise ConfigError(f"{source}: [tool.runreplay] {name} must be a table ([tool.runreplay.{name}])")
    return section


def check_keys(table: dict[str, Any], known: Iterable[str], where: str) -> None:
    """Refuse unknown keys, suggesting the closest known one (typos are the usual cause)."""
    names = list(known)
    for key in table:
        if key not in names:
            close = difflib.get_close_matches(key, names, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"{where}: unknown key {key!r}{hint}; known keys: {', '.join(names)}")
