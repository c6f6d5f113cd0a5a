"""The Coze v3 chat as a resource with a lifecycle (create -> retrieve polls -> mutations)."""

from __future__ import annotations

from typing import Any

from runreplay.lifecycle import ResourceSpec, Route, requested_tool_calls, submitted_tool_outputs


def _data(body: Any) -> Any:
    # Coze wraps every payload as {"code": 0, "msg": "", "data": ...}.
    return body.get("data") if isinstance(body, dict) else None


CHAT_ID = ("query", "chat_id")

CHAT = ResourceSpec(
    provider="coze",
    kind="chat",
    create=(Route("POST", r"/v3/chat", name="create"),),
    # cozepy retrieves with POST, coze-go with GET.
    poll=(
        Route("GET", r"/v3/chat/retrieve", id_in=CHAT_ID, name="retrieve"),
        Route("POST", r"/v3/chat/retrieve", id_in=CHAT_ID, name="retrieve"),
    ),
    mutate=(
        Route("POST", r"/v3/chat/submit_tool_outputs", id_in=CHAT_ID, name="submit_tool_outputs"),
        Route("POST", r"/v3/chat/cancel", id_in=("body", "chat_id"), name="cancel"),
    ),
    unwrap=_data,
    terminal=frozenset({"completed", "failed", "canceled"}),
    tool_outputs=submitted_tool_outputs,
    required_calls=requested_tool_calls,
)
