"""The generated schemas, loaded once per process, and validators for them.

Schemas come from the package's catalog (see :mod:`runreplay.schema.catalog`), so an
installed runreplay needs neither the repository's ``schemas/`` folder nor, to validate,
the pydantic models. Validators are created once and reused: jsonschema resolves
each ``$ref`` on first use and keeps it, so checking a payload costs only the walk.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from runreplay.schema import catalog
from runreplay.schema._ids import schema_id
from runreplay.schema.compiled import Compiler

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from referencing import Registry


@functools.cache
def schemas_by_id() -> dict[str, dict[str, Any]]:
    """Every schema by its ``$id``. Treat the result as read-only: it is shared."""
    return {schema_id(key): body for key, body in catalog.load()["schemas"].items()}


@functools.cache
def _registry() -> Registry[Any]:
    # jsonschema is imported only when a rejection is explained or a caller asks for it.
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    resources = [(uri, Resource.from_contents(body, DRAFT202012)) for uri, body in schemas_by_id().items()]
    return Registry().with_resources(resources)


@functools.cache
def validator(key: str) -> Draft202012Validator:
    """The compiled validator of schema ``key`` (``"openai/v2/Run"``); KeyError if unknown."""
    from jsonschema import Draft202012Validator

    body = schemas_by_id()[schema_id(key)]
    return Draft202012Validator(body, registry=_registry())


@functools.cache
def _compiler() -> Compiler:
    return Compiler(schemas_by_id())


def is_valid(key: str, value: Any) -> bool:
    """Whether ``value`` is valid for schema ``key``: jsonschema's verdict, computed by the
    compiled closures of :mod:`runreplay.schema.compiled` (many times faster)."""
    return _compiler().check(schema_id(key))(value)
