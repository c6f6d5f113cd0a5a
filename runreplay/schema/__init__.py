"""JSON schemas of the documented types: generation, export, compiled validators, drift walk.

::

    from runreplay import schema
    schema.is_valid("openai/v2/Run", payload)          # compiled, cached validator
    schema.classify("openai/v2/Run", payload)          # [Issue(category, path, expected, found)]
    schema.export("schemas/")                          # what `runreplay schemas export` does
    schema.stale_files("schemas/")                     # [] when the folder is up to date
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from runreplay.schema._ids import BASE_URI, schema_id
from runreplay.schema.registry import is_valid, schemas_by_id, validator
from runreplay.schema.walker import SCHEMA_VIOLATIONS, Issue, Observer, Walker

#: The committed copy of the generated schemas, in a source checkout.
DEFAULT_DIR = Path(__file__).resolve().parents[2] / "schemas"

__all__ = [
    "BASE_URI",
    "DEFAULT_DIR",
    "SCHEMA_VIOLATIONS",
    "Issue",
    "classify",
    "export",
    "is_valid",
    "nearest",
    "schema_id",
    "stale_files",
    "validator",
    "walker",
]


def walker(observe: Observer | None = None) -> Walker:
    return Walker(schemas_by_id(), observe)


def classify(key: str, value: Any, path: str = "$") -> list[Issue]:
    """Every difference between ``value`` and schema ``key``, unknown fields included."""
    return walker().issues(schema_id(key), value, path)


def nearest(keys: Iterable[str], value: Any) -> tuple[str, list[Issue]] | None:
    """The schema among ``keys`` that ``value`` differs from least, with the differences;
    None when none of them takes a value of this JSON type."""
    scored = []
    for key in dict.fromkeys(keys):
        if walker().fits(schema_id(key), value):
            issues = classify(key, value)
            scored.append(((len(issues), sum(i.category in SCHEMA_VIOLATIONS for i in issues)), key, issues))
    if not scored:
        return None
    _, key, issues = min(scored, key=lambda item: item[0])
    return key, issues


def export(out_dir: str | os.PathLike[str]) -> list[Path]:
    """Write every schema under ``out_dir`` and delete generated files that no longer exist.

    Only ``*.json`` files are managed, so hand-written files beside them (the spec
    deviations) are left alone. Returns the files written or deleted.
    """
    from runreplay.schema.generate import generate, iter_files

    root = Path(out_dir)
    wanted = dict(iter_files(generate()))
    changed: list[Path] = []
    for relative, text in wanted.items():
        target = root / relative
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            changed.append(target)
    for old in _json_files(root):
        if old.relative_to(root).as_posix() not in wanted:
            old.unlink()
            changed.append(old)
    return changed


def stale_files(schema_dir: str | os.PathLike[str]) -> list[str]:
    """Relative paths that differ between ``schema_dir`` and a fresh generation (missing,
    outdated or no longer generated); empty when the folder is current."""
    from runreplay.schema.generate import generate, iter_files

    root = Path(schema_dir)
    wanted = dict(iter_files(generate()))
    stale = [rel for rel, text in wanted.items() if _read(root / rel) != text]
    stale += [p.relative_to(root).as_posix() for p in _json_files(root) if p.relative_to(root).as_posix() not in wanted]
    return sorted(stale)


def _json_files(root: Path) -> Iterator[Path]:
    return (p for p in root.rglob("*.json") if p.is_file()) if root.is_dir() else iter(())


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None
