"""The OpenAI Assistants stream: which event carries which documented type.

A run stream (``stream: true`` on create-run, create-thread-and-run and
submit_tool_outputs) is a sequence of ``event: <name>`` / ``data: <json>`` pairs that
ends with ``event: done`` / ``data: [DONE]``. Each table maps an event name to the name
of the type its data has, looked up in the API version's module (openai_v1 / openai_v2):
``Run``, ``RunStep``, ``RunStepDelta``, ``Message``, ``MessageDelta``, ``Thread``.
"""

from __future__ import annotations

_RUN_STATES = ("created", "queued", "in_progress", "requires_action", "completed", "failed", "cancelling", "cancelled")
_STEP_STATES = ("created", "in_progress", "completed", "failed", "cancelled", "expired")
_MESSAGE_STATES = ("created", "in_progress", "completed", "incomplete")

EVENTS_V1: dict[str, str] = {
    "thread.created": "Thread",
    **{f"thread.run.{state}": "Run" for state in (*_RUN_STATES, "expired")},
    **{f"thread.run.step.{state}": "RunStep" for state in _STEP_STATES},
    "thread.run.step.delta": "RunStepDelta",
    **{f"thread.message.{state}": "Message" for state in _MESSAGE_STATES},
    "thread.message.delta": "MessageDelta",
    "error": "StreamError",
    "done": "DoneData",
}

#: v2 adds the run status ``incomplete`` and with it its event.
EVENTS_V2: dict[str, str] = {**EVENTS_V1, "thread.run.incomplete": "Run"}
