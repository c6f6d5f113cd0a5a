"""Coze v3 chat: routes and error replies.

Every reply is the ``{code, msg, data, detail}`` envelope; a failure keeps HTTP 200 and
sets a non-zero ``code``. There is one API version. cozepy retrieves chats and lists
messages with POST as well as GET, so both are routed.
"""

from __future__ import annotations

import re

from runreplay.cassette import Request, Response
from runreplay.providers._routing import Provider, route

ROUTES = (
    route("POST", "/v3/chat", "ChatResponse", request="CreateChatsReq", query="CreateChatsQuery", stream=True),
    route("GET|POST", "/v3/chat/retrieve", "ChatResponse", query="ChatIdsQuery"),
    route("POST", "/v3/chat/cancel", "ChatResponse", request="CancelChatsReq"),
    route(
        "POST",
        "/v3/chat/submit_tool_outputs",
        "ChatResponse",
        request="SubmitToolOutputsChatReq",
        query="ChatIdsQuery",
        stream=True,
    ),
    route("GET|POST", "/v3/chat/message/list", "MessageListResponse", query="ChatIdsQuery"),
)


def api_version(request: Request) -> str:
    return "v3"


def error_type(response: Response) -> str | None:
    body = response.body
    failed = body.kind == "json" and isinstance(body.value, dict) and body.value.get("code") not in (0, None)
    return "ErrorResponse" if failed or response.status >= 400 else None


PROVIDER = Provider(
    name="coze",
    hosts=re.compile(r"(^|\.)coze\.(cn|com)$"),
    prefix=re.compile(r"^(?=/)"),  # paths are matched as they are
    routes=ROUTES,
    namespaces={"v3": "coze"},
    version_of=api_version,
    error_of=error_type,
)
