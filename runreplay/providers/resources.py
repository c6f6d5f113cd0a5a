"""Every resource kind whose lifecycle runreplay replays on a timeline."""

from __future__ import annotations

from runreplay.lifecycle import ResourceSpec
from runreplay.providers.coze_chats import CHAT
from runreplay.providers.openai_runs import RUN

RESOURCE_SPECS: tuple[ResourceSpec, ...] = (RUN, CHAT)
