"""The generated schemas and the type-name tables, shipped in the package as ``catalog.json``.

Replay checks every payload it serves, and routing a payload to its schema needs only
names: which schema key a type name (``"Run"``) has in an API version, and which type each
stream event carries. Importing the pydantic models to find out costs about 0.3 s per
process; reading this file costs milliseconds. The models stay the source: the file is
generated from them (``python -m runreplay.schema`` rewrites it, and a test keeps it
equal to a fresh generation).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runreplay import _json

PATH = Path(__file__).with_name("catalog.json")


@dataclass(frozen=True)
class TypeSpace:
    """One API version's type names, as routing needs them (see ``runreplay.models.Namespace``)."""

    name: str
    #: Type name -> schema key, for every type that has a schema.
    types: Mapping[str, str]
    #: Stream event name -> the name of the type of its data.
    events: Mapping[str, str]
    #: Schema key of one event of the stream.
    stream_schema: str

    def key(self, type_name: str) -> str:
        try:
            return self.types[type_name]
        except KeyError:
            raise KeyError(f"no type {type_name!r} in namespace {self.name}") from None


def build() -> dict[str, Any]:
    """The catalog, generated from the models (slow: imports and builds them all)."""
    from pydantic import BaseModel

    from runreplay.models import NAMESPACES
    from runreplay.schema.generate import generate, key_of

    schemas = generate()
    spaces: dict[str, Any] = {}
    for space in NAMESPACES.values():
        types: dict[str, str] = {}
        for module in space.modules:  # in lookup order: the first module naming a type wins
            for name, value in vars(module).items():
                if name in types or not (isinstance(value, type) and issubclass(value, BaseModel)):
                    continue
                try:
                    key = key_of(value)
                except KeyError:  # pydantic's own classes, imported for annotations
                    continue
                if key in schemas:
                    types[name] = key
        spaces[space.name] = {
            "types": dict(sorted(types.items())),
            "events": dict(space.events),
            "stream_schema": f"{space.name}/{space.stream_schema}",
        }
    return {"namespaces": spaces, "schemas": schemas}


def render(catalog: Mapping[str, Any]) -> str:
    return json.dumps(catalog, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n"


@functools.cache
def load() -> dict[str, Any]:
    """The shipped catalog (generated afresh if the file is missing). Treat it as read-only."""
    try:
        data = PATH.read_bytes()
    except FileNotFoundError:
        return build()
    return _json.loads(data)  # type: ignore[no-any-return]


@functools.cache
def namespaces() -> dict[str, TypeSpace]:
    return {
        name: TypeSpace(name, body["types"], body["events"], body["stream_schema"])
        for name, body in load()["namespaces"].items()
    }


def refresh() -> bool:
    """Rewrite the shipped file from the models; True when it changed."""
    text = render(build())
    if PATH.is_file() and PATH.read_text(encoding="utf-8") == text:
        return False
    PATH.write_text(text, encoding="utf-8")
    return True
