"""The base every documented type derives from, and the helpers that shape its schema.

Vendors add fields without notice, so a model accepts keys it does not declare; those
keys are kept (``model_extra``) and :func:`unknown_fields` lists where they were.

Three kinds of optional field, because real APIs distinguish them:

* ``x: T | None`` (no default): always sent, may be ``null``;
* ``x: T | None = None``: may be missing, may be ``null``;
* ``x: T | None = absent()``: may be missing, never ``null`` when sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

from runreplay._jsonpath import join_index, join_key

#: Where generated schema files of this module go, under ``schemas/``.
SCHEMA_NAMESPACE = "common"


class OpenModel(BaseModel):
    """A documented object: strict about declared fields, open to undeclared ones."""

    # strict: JSON types only (no "1" -> 1 coercion), so models agree with their schemas.
    model_config = ConfigDict(extra="allow", strict=True)

    #: Set to False in the body of a building block that exists only to be inherited:
    #: it gets no schema file (read from the class's own namespace, so not inherited).
    schema_file: ClassVar[bool] = False


@dataclass(frozen=True)
class Namespace:
    """One API version's set of types: where a type name such as ``"Run"`` is looked up.

    Each models module of an API family declares its namespaces in ``NAMESPACES``.
    """

    name: str
    #: Searched in order, so a version module's ``Run`` wins over a common one.
    modules: tuple[ModuleType, ...]
    #: Stream event name -> the name of the type of its data.
    events: Mapping[str, str]
    #: File name (without ``.json``) of the schema describing one event of the stream.
    stream_schema: str

    def resolve(self, type_name: str) -> type[BaseModel]:
        for module in self.modules:
            found = getattr(module, type_name, None)
            if isinstance(found, type) and issubclass(found, BaseModel):
                return found
        raise KeyError(f"no type {type_name!r} in namespace {self.name}")


def has_schema_file(model: type[BaseModel]) -> bool:
    return bool(vars(model).get("schema_file", True))


def _never_null(schema: dict[str, Any]) -> None:
    """Drop the ``null`` branch pydantic adds for ``T | None``: the key may be absent, not null."""
    branches = [b for b in schema.pop("anyOf", []) if b != {"type": "null"}]
    if len(branches) == 1:
        schema.update(branches[0])
    else:
        schema["anyOf"] = branches


def absent() -> Any:
    """Default for a field that may be missing but is never ``null`` when present."""
    return Field(default=None, json_schema_extra=_never_null)


class DoneData(RootModel[Literal["[DONE]"]]):
    """The data of the ``done`` event that ends OpenAI and Coze streams."""


def unknown_fields(value: Any, path: str = "$") -> list[str]:
    """JSON paths of every key a validated model (and the models inside it) did not declare."""
    found: list[str] = []
    _collect(value, path, found)
    return found


def _collect(value: Any, path: str, found: list[str]) -> None:
    if isinstance(value, BaseModel):
        found.extend(join_key(path, name) for name in value.model_extra or {})
        for name, field in type(value).model_fields.items():
            _collect(getattr(value, name), join_key(path, field.alias or name), found)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _collect(item, join_index(path, index), found)
    elif isinstance(value, dict):
        for key, item in value.items():
            _collect(item, join_key(path, str(key)), found)
