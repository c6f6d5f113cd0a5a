"""OpenAI Assistants (v1 and v2): runs, steps, threads, messages, assistants, and their stream.

``common`` holds what both versions share, ``v1``/``v2`` what differs, ``events`` which
stream event carries which type.
"""

from __future__ import annotations

from runreplay.models import _base
from runreplay.models._base import Namespace
from runreplay.models.openai_assistants import common, events, v1, v2

#: Modules whose public models become schema files.
SCHEMA_MODULES = (common, v1, v2)

NAMESPACES = (
    Namespace("openai/v1", (v1, common, _base), events.EVENTS_V1, "AssistantStreamEvent"),
    Namespace("openai/v2", (v2, common, _base), events.EVENTS_V2, "AssistantStreamEvent"),
)

__all__ = ["NAMESPACES", "SCHEMA_MODULES", "common", "events", "v1", "v2"]
