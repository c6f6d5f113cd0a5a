"""Coze v3 chat: the documented types of coze-go ``chats.go`` (seeds/), field by field.

Every JSON reply is an envelope ``{"code": 0, "msg": "", "data": ..., "detail": {"logid"}}``;
failures keep HTTP 200 and set a non-zero ``code`` with no ``data``. Streams are
``event:<name>`` / ``data:<json>`` pairs (no space after the colon) ending with
``event:done`` / ``data:"[DONE]"``. Optional-ness follows the vendor's OpenAPI spec
(specs/coze-openapi.yaml) and the recordings; Go's ``omitempty`` fields may be missing.
"""

from __future__ import annotations

import sys
from typing import Any, Literal

from runreplay.models import _base
from runreplay.models._base import Namespace, OpenModel, absent

SCHEMA_NAMESPACE = "coze"

ChatStatus = Literal["created", "in_progress", "completed", "failed", "requires_action", "canceled"]

# coze-go message.go (MessageType, MessageContentType); "audio" is what audio deltas carry.
MessageRole = Literal["user", "assistant"]
MessageType = Literal["question", "answer", "function_call", "tool_output", "tool_response", "follow_up", "verbose"]
MessageContentType = Literal["text", "object_string", "card", "audio"]

# --------------------------------------------------------------------------- objects


class ChatError(OpenModel):
    """``last_error``: ``{"code": 0, "msg": ""}`` when there is none."""

    code: int
    msg: str


class ChatUsage(OpenModel):
    token_count: int
    output_count: int
    input_count: int


class ChatToolCallFunction(OpenModel):
    name: str
    arguments: str


class ChatToolCall(OpenModel):
    id: str
    type: Literal["function"]
    function: ChatToolCallFunction


class ChatSubmitToolOutputs(OpenModel):
    tool_calls: list[ChatToolCall]


class ChatRequiredAction(OpenModel):
    # "" is what the server sends in chats that need no action (coze-py's captured
    # stream carries {"type": "", "submit_tool_outputs": {"tool_calls": []}}).
    type: Literal["submit_tool_outputs", ""]
    submit_tool_outputs: ChatSubmitToolOutputs | None = absent()


class Chat(OpenModel):
    id: str
    conversation_id: str
    bot_id: str
    status: ChatStatus
    # Always in real traffic, but the spec does not require it and doc examples omit it.
    created_at: int | None = absent()
    completed_at: int | None = None
    failed_at: int | None = None
    meta_data: dict[str, str] | None = None
    last_error: ChatError | None = None
    required_action: ChatRequiredAction | None = None
    usage: ChatUsage | None = None
    section_id: str | None = absent()


class Message(OpenModel):
    id: str
    conversation_id: str
    bot_id: str
    # Required in the spec, but the documented message-list examples leave it out.
    chat_id: str | None = absent()
    role: MessageRole
    type: MessageType
    content: str
    content_type: MessageContentType
    meta_data: dict[str, str] | None = None
    created_at: int | None = absent()
    updated_at: int | None = absent()
    section_id: str | None = absent()
    reasoning_content: str | None = absent()


class Conversation(OpenModel):
    """A conversation: what ``/v1/conversation/create`` and ``/retrieve`` return."""

    id: str
    created_at: int
    meta_data: dict[str, str] | None = None
    last_section_id: str | None = absent()
    name: str | None = absent()
    creator_id: str | None = absent()
    updated_at: int | None = absent()
    connector_id: str | None = absent()


class ResponseDetail(OpenModel):
    logid: str


# --------------------------------------------------------------------------- replies


class Envelope(OpenModel):
    schema_file = False

    code: int
    msg: str
    detail: ResponseDetail | None = absent()


class ChatResponse(Envelope):
    """``/v3/chat`` (non-stream), ``/retrieve``, ``/cancel`` and ``/submit_tool_outputs``."""

    data: Chat


class MessageListResponse(Envelope):
    data: list[Message]


class ConversationResponse(Envelope):
    data: Conversation


class ErrorResponse(Envelope):
    """A failure: non-zero ``code``, ``msg`` says why, no ``data`` (or ``null``)."""

    data: None = None


class ErrorEventData(OpenModel):
    """Data of the ``error`` stream event; coze-py's fixture sends ``{}``."""

    code: int | None = absent()
    msg: str | None = absent()


# --------------------------------------------------------------------------- requests


class EnterMessage(OpenModel):
    """A message sent in ``additional_messages``."""

    role: MessageRole
    type: Literal["question", "answer", "function_call", "tool_output", "tool_response"] | None = None
    content: str | None = None
    content_type: Literal["text", "object_string"] | None = None
    meta_data: dict[str, str] | None = None
    # coze-go's CreateChatsReq takes []*Message, so clients send the whole Message type
    # here (cozepy with every server-side field null); the spec's EnterMessage lacks them.
    id: str | None = None
    conversation_id: str | None = None
    bot_id: str | None = None
    chat_id: str | None = None
    section_id: str | None = None
    created_at: int | None = None
    updated_at: int | None = None
    reasoning_content: str | None = None


class ShortcutCommandDetail(OpenModel):
    command_id: str
    parameters: dict[str, str] | None = absent()


class CreateChatsReq(OpenModel):
    bot_id: str
    user_id: str
    additional_messages: list[EnterMessage] | None = None
    stream: bool | None = None
    custom_variables: dict[str, str] | None = None
    auto_save_history: bool | None = None
    meta_data: dict[str, str] | None = None
    extra_params: dict[str, str] | None = None
    shortcut_command: ShortcutCommandDetail | None = None
    parameters: dict[str, Any] | None = None
    enable_card: bool | None = None
    publish_status: Literal["published_online", "unpublished_draft"] | None = None
    bot_version: str | None = None


class ToolOutput(OpenModel):
    tool_call_id: str
    output: str


class SubmitToolOutputsChatReq(OpenModel):
    tool_outputs: list[ToolOutput]
    stream: bool | None = None


class CancelChatsReq(OpenModel):
    conversation_id: str
    chat_id: str


class CreateConversationReq(OpenModel):
    """``POST /v1/conversation/create``: every field may be left out."""

    bot_id: str | None = absent()
    name: str | None = absent()
    messages: list[EnterMessage] | None = None
    connector_id: str | None = absent()
    meta_data: dict[str, str] | None = None


class ConversationIdQuery(OpenModel):
    """``?conversation_id=`` of ``GET /v1/conversation/retrieve``."""

    conversation_id: str


class CreateChatsQuery(OpenModel):
    """The query string of ``POST /v3/chat``; cozepy sends ``conversation_id=`` when empty."""

    conversation_id: str | None = absent()


class ChatIdsQuery(OpenModel):
    """``?conversation_id=&chat_id=`` of retrieve, submit_tool_outputs and message list."""

    conversation_id: str
    chat_id: str


# --------------------------------------------------------------------------- the stream

_CHAT_EVENTS = ("created", "in_progress", "completed", "failed", "requires_action")

#: Event name -> the type of its data (names in this module).
EVENTS: dict[str, str] = {
    **{f"conversation.chat.{state}": "Chat" for state in _CHAT_EVENTS},
    "conversation.message.delta": "Message",
    "conversation.message.completed": "Message",
    "conversation.audio.delta": "Message",
    "error": "ErrorEventData",
    "done": "DoneData",
}

NAMESPACES = (Namespace("coze", (sys.modules[__name__], _base), EVENTS, "ChatEvent"),)
