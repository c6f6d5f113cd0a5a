"""Coze v3 chat: create a chat, poll it, answer its tool calls, list its messages.

Every reply is the ``{code, msg, data, detail}`` envelope; a failure keeps HTTP 200 and
sets a non-zero ``code``. There is one API version. cozepy retrieves chats and lists
messages with POST as well as GET, so both are routed. A chat is the lifecycle: created
by ``create_chat``, polled by ``retrieve_chat`` (the id is in the query), moved on by
``submit_tool_outputs`` and ``cancel_chat`` (the id is in the body).
"""

from __future__ import annotations

import re
from typing import Any

from runreplay.cassette import Headers, Request, Response
from runreplay.providers.base import (
    Lifecycle,
    Provider,
    Role,
    SpecPair,
    VendorSpec,
    body,
    body_schema,
    component,
    query,
    query_parameters,
    reply_schema,
    requested_tool_calls,
    route,
    submitted_tool_outputs,
)
from runreplay.sse import SSEEvent

_CHAT_ID = query("chat_id")

ROUTES = (
    route(
        "POST",
        "/v3/chat",
        "create_chat",
        "ChatResponse",
        Role.CREATE,
        request="CreateChatsReq",
        query="CreateChatsQuery",
        stream=True,
        resource="chat",
        # cozepy always sends both; coze-js sends neither unless its caller does. The chat API
        # documents auto_save_history as true by default, and no additional messages is none.
        defaults=(("auto_save_history", True), ("additional_messages", [])),
    ),
    route(
        "GET|POST",
        "/v3/chat/retrieve",
        "retrieve_chat",
        "ChatResponse",
        Role.POLL,
        query="ChatIdsQuery",
        resource="chat",
        resource_id=_CHAT_ID,
    ),
    route(
        "POST",
        "/v3/chat/cancel",
        "cancel_chat",
        "ChatResponse",
        Role.MUTATE,
        request="CancelChatsReq",
        resource="chat",
        resource_id=body("chat_id"),
    ),
    route(
        "POST",
        "/v3/chat/submit_tool_outputs",
        "submit_tool_outputs",
        "ChatResponse",
        Role.MUTATE,
        request="SubmitToolOutputsChatReq",
        query="ChatIdsQuery",
        stream=True,
        resource="chat",
        resource_id=_CHAT_ID,
    ),
    route("GET|POST", "/v3/chat/message/list", "list_messages", "MessageListResponse", Role.LIST, query="ChatIdsQuery"),
    route(
        "POST",
        "/v1/conversation/create",
        "create_conversation",
        "ConversationResponse",
        request="CreateConversationReq",
    ),
    route(
        "GET", "/v1/conversation/retrieve", "retrieve_conversation", "ConversationResponse", query="ConversationIdQuery"
    ),
)


def _data(body: Any) -> Any:
    # Coze wraps every payload as {"code": 0, "msg": "", "data": ...}.
    return body.get("data") if isinstance(body, dict) else None


def chat_of_event(event: SSEEvent) -> Any:
    """The chat a ``conversation.chat.<status>`` event carries."""
    name = event.event or ""
    return event.data if name.startswith("conversation.chat.") and event.data_is_json else None


CHAT_LIFECYCLE = Lifecycle(
    kind="chat",
    terminal=frozenset({"completed", "failed", "canceled"}),
    unwrap=_data,
    submit="submit_tool_outputs",
    tool_outputs=submitted_tool_outputs,
    required_calls=requested_tool_calls,
    event_resource=chat_of_event,
)


def api_version(request: Request) -> str:
    return "v3"


def error_type(response: Response) -> str | None:
    value = response.body.json_value
    failed = isinstance(value, dict) and value.get("code") not in (0, None)
    return "ErrorResponse" if failed or response.status >= 400 else None


def stream_error(message: str) -> SSEEvent:
    """What Coze sends when a chat stream fails: ``event:error`` with ``{code, msg}``."""
    return SSEEvent(event="error", data={"code": 5000, "msg": message}, data_is_json=True)


_USER_AGENTS = (
    (re.compile(r"\bcozepy/([\w.\-+]+)", re.IGNORECASE), "cozepy"),
    (re.compile(r"\bcozego/([\w.\-+]+)", re.IGNORECASE), "cozego"),
)


def client(headers: Headers) -> tuple[str, str] | None:
    agent = headers.get("user-agent") or ""
    for rx, name in _USER_AGENTS:
        if found := rx.search(agent):
            return name, found.group(1)
    return None


SPEC = VendorSpec(
    file="coze-openapi.yaml",
    pairs=(
        SpecPair("coze/Chat", component("ChatV3ChatDetail")),
        SpecPair("coze/Message", component("ChatV3MessageDetail")),
        SpecPair("coze/EnterMessage", component("EnterMessage2")),
        SpecPair("coze/ToolOutput", component("ToolOutput")),
        SpecPair("coze/Conversation", component("ConversationData")),
        SpecPair("coze/CreateConversationReq", body_schema("/v1/conversation/create")),
        SpecPair("coze/ConversationIdQuery", query_parameters("/v1/conversation/retrieve", "get"), parameters=True),
        *(
            SpecPair("coze/ChatResponse", reply_schema(path, method))
            for path, method in (
                ("/v3/chat", "post"),
                ("/v3/chat/retrieve", "get"),
                ("/v3/chat/cancel", "post"),
                ("/v3/chat/submit_tool_outputs", "post"),
            )
        ),
        SpecPair("coze/MessageListResponse", reply_schema("/v3/chat/message/list", "get")),
        SpecPair("coze/CreateChatsReq", body_schema("/v3/chat")),
        SpecPair("coze/CancelChatsReq", body_schema("/v3/chat/cancel")),
        SpecPair("coze/SubmitToolOutputsChatReq", body_schema("/v3/chat/submit_tool_outputs")),
        SpecPair("coze/CreateChatsQuery", query_parameters("/v3/chat", "post"), parameters=True),
        *(
            SpecPair("coze/ChatIdsQuery", query_parameters(path, method), parameters=True)
            for path, method in (
                ("/v3/chat/retrieve", "get"),
                ("/v3/chat/submit_tool_outputs", "post"),
                ("/v3/chat/message/list", "get"),
            )
        ),
    ),
    event_lists=(
        ("coze", reply_schema("/v3/chat", "post", "text/event-stream")),
        ("coze", reply_schema("/v3/chat/submit_tool_outputs", "post", "text/event-stream")),
    ),
)

PROVIDER = Provider(
    name="coze",
    title="Coze v3 chat",
    hosts=re.compile(r"(^|\.)coze\.(cn|com)$"),
    prefix=re.compile(r"^(?=/)"),  # paths are routed as they are
    routes=ROUTES,
    namespaces={"v3": "coze"},
    version_of=api_version,
    error_of=error_type,
    stream_error=stream_error,
    lifecycles=(CHAT_LIFECYCLE,),
    # cozepy sends a chat without a conversation as POST /v3/chat?conversation_id=, coze-js
    # leaves the parameter out: the server starts a new conversation for both.
    blank_query_absent=True,
    client_of=client,
    volatile_headers=("x-coze-client-user-agent",),
    spec=SPEC,
    # cozepy reads no environment itself; its README and examples read these two.
    base_url_env="COZE_API_BASE",
    api_key_env="COZE_API_TOKEN",
)
