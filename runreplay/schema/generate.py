"""Generate JSON Schema (draft 2020-12) from the models: one file per type.

Every public model of :data:`runreplay.models.MODEL_MODULES` becomes
``<SCHEMA_NAMESPACE>/<ClassName>.json`` with an absolute ``$id``; references between
types are relative file references (``"$ref": "../common/Usage.json"``), so the folder
works with any draft 2020-12 validator. Each API namespace also gets one schema for a
single event of its stream (``AssistantStreamEvent.json``, ``ChatEvent.json``).
"""

from __future__ import annotations

import functools
import json
import posixpath
from collections.abc import Iterator
from types import ModuleType
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue, models_json_schema
from pydantic_core import core_schema

from runreplay.models import FAMILIES, MODEL_MODULES, NAMESPACES, Namespace, _base
from runreplay.models._base import has_schema_file
from runreplay.schema._ids import BASE_URI, schema_id

__all__ = ["BASE_URI", "DIALECT", "generate", "iter_files", "key_of", "model_classes", "schema_id"]

DIALECT = "https://json-schema.org/draft/2020-12/schema"
_DEFS = "#/$defs/"

#: Generated schemas by key (``"openai/v2/Run"``); the file is ``<key>.json``.
Schemas = dict[str, dict[str, Any]]


class _Generator(GenerateJsonSchema):
    """Pydantic's generator without the noise: no per-field titles, no ``default``.

    Defaults describe how Python fills a missing field, not what the wire carries.
    """

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        return self.generate_inner(schema["schema"])


def key_of(model: type[Any]) -> str:
    """The schema key of a model class: its module's namespace and its name."""
    module = _MODULES_BY_NAME[model.__module__]
    return f"{module.SCHEMA_NAMESPACE}/{model.__name__}"


_MODULES_BY_NAME: dict[str, ModuleType] = {m.__name__: m for m in MODEL_MODULES}


def model_classes(modules: tuple[ModuleType, ...] = MODEL_MODULES) -> list[type[BaseModel]]:
    """Public models defined in the model modules (``_Private`` helpers are inlined by inheritance)."""
    found = []
    for module in modules:
        for name, value in vars(module).items():
            is_model = isinstance(value, type) and issubclass(value, BaseModel)
            # pydantic registers parametrized generics ("RootModel[...]") in the module too
            own = is_model and value.__module__ == module.__name__ and name.isidentifier()
            if own and not name.startswith("_") and has_schema_file(value):
                found.append(value)
    return found


@functools.cache
def _generated() -> tuple[tuple[str, str], ...]:
    # Cached as text so no caller can mutate the shared result.
    schemas = _model_schemas()
    for space in NAMESPACES.values():
        key = f"{space.name}/{space.stream_schema}"
        schemas[key] = _stream_schema(space, key)
    return tuple((key, json.dumps(schemas[key])) for key in sorted(schemas))


def generate() -> Schemas:
    """Every schema, keyed by ``namespace/Name``, with ``$schema`` and ``$id`` set."""
    return {key: json.loads(text) for key, text in _generated()}


def _model_schemas() -> Schemas:
    """Each API family's schemas, generated apart: pydantic gives two types of one name and the
    same content one definition, which would merge two families' types (a Responses
    ``RefusalContent`` and an Assistants one) into one file."""
    out: Schemas = {}
    for family in FAMILIES:
        for key, schema in _group_schemas((_base, *getattr(family, "SCHEMA_MODULES", (family,)))).items():
            if key in out and out[key] != schema:
                raise RuntimeError(f"{key} is generated differently by two API families")
            out[key] = schema
    return out


def _group_schemas(modules: tuple[ModuleType, ...]) -> Schemas:
    classes = model_classes(modules)
    refs, top = models_json_schema([(cls, "validation") for cls in classes], schema_generator=_Generator)
    defs: dict[str, Any] = top.get("$defs", {})
    # pydantic names each definition, qualifying clashing names (v1 Run vs v2 Run), but gives
    # types of one name and identical content one definition: each must keep its own file.
    key_by_def: dict[str, str] = {}
    for (cls, _), ref in refs.items():
        def_name, key = ref["$ref"].removeprefix(_DEFS), key_of(cls)
        if key_by_def.setdefault(def_name, key) != key:
            raise RuntimeError(f"{key} and {key_by_def[def_name]} would share one schema: rename one of them")
    missing = set(defs) - set(key_by_def)
    if missing:  # a nested type that is not a public model of a model module
        raise RuntimeError(f"types without a schema file of their own: {sorted(missing)}")
    out: Schemas = {}
    for def_name, body in defs.items():
        key = key_by_def[def_name]
        rewritten = _rewrite_refs(body, lambda target, here=key: _relative(here, key_by_def[target]))
        out[key] = {"$schema": DIALECT, "$id": schema_id(key), **rewritten}
    return out


def _stream_schema(space: Namespace, key: str) -> dict[str, Any]:
    """One event of the stream: ``{"event": <name>, "data": <its type>}``, one branch per name."""
    branches = []
    for event, type_name in space.events.items():
        data_key = key_of(space.resolve(type_name))
        branches.append(
            {
                "type": "object",
                "properties": {"event": {"const": event}, "data": {"$ref": _relative(key, data_key)}},
                "required": ["event", "data"],
            }
        )
    return {
        "$schema": DIALECT,
        "$id": schema_id(key),
        "title": space.stream_schema,
        "description": f"One server-sent event of a {space.name} stream: its name and the type of its data.",
        "oneOf": branches,
    }


def _relative(from_key: str, to_key: str) -> str:
    return posixpath.relpath(f"{to_key}.json", posixpath.dirname(from_key))


def _rewrite_refs(node: Any, target: Any) -> Any:
    """Copy ``node``, turning ``#/$defs/X`` references (and discriminator mappings) into
    files, and ``anyOf`` of bare types into one ``type`` list."""
    if isinstance(node, list):
        return [_rewrite_refs(item, target) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for name, value in node.items():
        if name == "$ref" and isinstance(value, str) and value.startswith(_DEFS):
            out[name] = target(value.removeprefix(_DEFS))
        elif name == "discriminator":
            mapping = {k: target(v.removeprefix(_DEFS)) for k, v in value.get("mapping", {}).items()}
            out[name] = {**value, "mapping": mapping}
        elif name == "anyOf" and all(isinstance(b, dict) and set(b) == {"type"} for b in value):
            # {"anyOf": [{"type": "integer"}, {"type": "null"}]} -> {"type": ["integer", "null"]}:
            # the same meaning, easier to read and cheaper to validate.
            out["type"] = [b["type"] for b in value]
        else:
            out[name] = _rewrite_refs(value, target)
    return out


def iter_files(schemas: Schemas) -> Iterator[tuple[str, str]]:
    """``(relative file path, file text)`` for each schema, in a stable, diff-friendly form."""
    for key in sorted(schemas):
        yield f"{key}.json", json.dumps(schemas[key], indent=2, ensure_ascii=False) + "\n"
