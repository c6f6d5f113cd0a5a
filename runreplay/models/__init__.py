"""The documented types of every provider as pydantic v2 models, one module per API family.

``openai_common`` / ``openai_v1`` / ``openai_v2`` / ``openai_events`` describe OpenAI
Assistants, ``coze`` the Coze v3 chat API. ``runreplay.schema`` generates the JSON
schemas in ``schemas/`` from them::

    from runreplay.models import openai_v2, unknown_fields
    run = openai_v2.Run.model_validate(payload)
    unknown_fields(run)  # ['$.some_new_field', ...]: keys the vendor added
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import ModuleType

from pydantic import BaseModel

from runreplay.models import _base, coze, openai_common, openai_events, openai_v1, openai_v2
from runreplay.models._base import DoneData, OpenModel, unknown_fields

#: Every module whose public models become schema files (``SCHEMA_NAMESPACE`` each).
MODEL_MODULES: tuple[ModuleType, ...] = (_base, openai_common, openai_v1, openai_v2, coze)


@dataclass(frozen=True)
class Namespace:
    """One API version's set of types: where a type name such as ``"Run"`` is looked up."""

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


NAMESPACES: dict[str, Namespace] = {
    space.name: space
    for space in (
        Namespace("openai/v1", (openai_v1, openai_common, _base), openai_events.EVENTS_V1, "AssistantStreamEvent"),
        Namespace("openai/v2", (openai_v2, openai_common, _base), openai_events.EVENTS_V2, "AssistantStreamEvent"),
        Namespace("coze", (coze, _base), coze.EVENTS, "ChatEvent"),
    )
}

__all__ = [
    "MODEL_MODULES",
    "NAMESPACES",
    "DoneData",
    "Namespace",
    "OpenModel",
    "coze",
    "openai_common",
    "openai_events",
    "openai_v1",
    "openai_v2",
    "unknown_fields",
]
