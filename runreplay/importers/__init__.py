"""Convert recordings made by other tools into runreplay cassettes (format v1).

The format is recognised from the file's content, not its name::

    cassette = import_file("tests/cassettes/test_run.yaml")
    import_many(["a.yaml", "b.json"], "cassettes/")  # -> [cassettes/a.json, cassettes/b.json]

Every problem is a :class:`~runreplay.errors.CassetteError` naming the file and, where
known, the place: a JSON path such as ``$.Entries[3].ResponseBody`` and, for YAML, the line
and column.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from runreplay.cassette import Cassette, save
from runreplay.errors import CassetteError
from runreplay.importers import azure, har, vcr_yaml, vcrpy
from runreplay.importers._build import Exchange, build_cassette
from runreplay.importers._fields import SourceError
from runreplay.importers._http import EXACT_SSE
from runreplay.importers._source import Document, read_document

__all__ = ["FORMATS", "detect_format", "import_file", "import_many"]

Converter = Callable[[Any, Path], list[Exchange]]

_CONVERTERS: dict[str, Converter] = {
    vcrpy.NAME: vcrpy.convert,
    vcr_yaml.RUBY: vcr_yaml.convert,
    vcr_yaml.R: vcr_yaml.convert,
    azure.NAME: azure.convert,
    har.NAME: har.convert,
}

#: The source formats :func:`import_file` understands.
FORMATS: tuple[str, ...] = tuple(_CONVERTERS)


def detect_format(path: str | os.PathLike[str]) -> str:
    """Name the format of a recording file (one of :data:`FORMATS`)."""
    return _detect(read_document(Path(path)))


def import_file(path: str | os.PathLike[str], *, exact: bool = False) -> Cassette:
    """Read a recording in any of :data:`FORMATS` and return it as an unsaved cassette.

    ``exact`` keeps every SSE event's original bytes, so streams replay byte for byte.
    """
    document = read_document(Path(path))
    fmt = _detect(document)
    token = EXACT_SSE.set(exact)
    try:
        exchanges = _CONVERTERS[fmt](document.data, document.path)
        return build_cassette(exchanges, fmt, document.path)
    except SourceError as exc:
        position = document.position(exc.where)
        if position:
            exc.location = f"{exc.location} ({position})"
        exc.path = document.path
        raise
    except CassetteError as exc:
        exc.path = exc.path or document.path
        raise
    except Exception as exc:  # a shape no check anticipated must still name the file
        raise CassetteError(f"cannot convert {fmt} recording: {exc!r}", path=document.path) from exc
    finally:
        EXACT_SSE.reset(token)


def import_many(
    paths: Iterable[str | os.PathLike[str]], out_dir: str | os.PathLike[str], *, exact: bool = False
) -> list[Path]:
    """Convert each file and save it as ``out_dir/<stem>.json``; return the written paths.

    Everything is converted before anything is written, so a bad input leaves ``out_dir``
    untouched. Two inputs with the same stem would overwrite each other and are refused.
    """
    sources = [Path(p) for p in paths]
    targets = [Path(out_dir) / f"{src.stem}.json" for src in sources]
    seen: dict[Path, Path] = {}
    for src, target in zip(sources, targets, strict=True):
        if target in seen:
            raise CassetteError(f"would write {target} for both {seen[target]} and {src}", path=src)
        seen[target] = src
    cassettes = [import_file(src, exact=exact) for src in sources]
    return [save(cassette, target) for cassette, target in zip(cassettes, targets, strict=True)]


def _detect(document: Document) -> str:
    data = document.data
    if not isinstance(data, dict):
        found = "a list" if isinstance(data, list) else f"a {type(data).__name__}"
        raise CassetteError(
            f"unrecognised recording: expected a mapping at the top, found {found}", path=document.path, location="$"
        )
    if isinstance(data.get("log"), dict) and "entries" in data["log"]:
        return har.NAME
    if "Entries" in data:
        return azure.NAME
    if "http_interactions" in data:
        return vcr_yaml.flavour(data)
    if "interactions" in data:
        if data.get("format") == 1:
            raise CassetteError(
                "this is already a runreplay cassette; load it with runreplay.load", path=document.path, location="$"
            )
        return vcrpy.NAME
    keys = ", ".join(repr(k) for k in list(data)[:8]) or "none"
    raise CassetteError(
        "unrecognised recording: expected VCR.py 'interactions', Ruby/R vcr 'http_interactions', "
        f"Azure test-proxy 'Entries' or HAR 'log.entries'; found top-level keys {keys}",
        path=document.path,
        location="$",
    )
