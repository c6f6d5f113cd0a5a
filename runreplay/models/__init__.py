"""The documented types of every API family as pydantic v2 models, one models module per family.

A family's module (or package) declares ``NAMESPACES`` (one per API version) and, when
its models live in several modules, ``SCHEMA_MODULES``; it is found here by being in
this package, so adding a family edits nothing else. ``runreplay.schema`` generates the
JSON schemas in ``schemas/`` from them::

    from runreplay.models import openai_assistants, unknown_fields
    run = openai_assistants.v2.Run.model_validate(payload)
    unknown_fields(run)  # ['$.some_new_field', ...]: keys the vendor added
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from runreplay.models import _base
from runreplay.models._base import DoneData, Namespace, OpenModel, unknown_fields


def _families() -> tuple[ModuleType, ...]:
    names = sorted(info.name for info in pkgutil.iter_modules(__path__) if not info.name.startswith("_"))
    return tuple(importlib.import_module(f"{__name__}.{name}") for name in names)


#: Every API family's models module, in name order.
FAMILIES: tuple[ModuleType, ...] = _families()

#: Every module whose public models become schema files (``SCHEMA_NAMESPACE`` each).
MODEL_MODULES: tuple[ModuleType, ...] = (
    _base,
    *(module for family in FAMILIES for module in getattr(family, "SCHEMA_MODULES", (family,))),
)

NAMESPACES: dict[str, Namespace] = {space.name: space for family in FAMILIES for space in family.NAMESPACES}

__all__ = [
    "FAMILIES",
    "MODEL_MODULES",
    "NAMESPACES",
    "DoneData",
    "Namespace",
    "OpenModel",
    "unknown_fields",
]
