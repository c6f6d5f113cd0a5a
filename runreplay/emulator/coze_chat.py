"""The Coze v3 chat API: every JSON reply is ``{"code", "msg", "data", "detail": {"logid"}}``.

Lifecycle of a chat, one phase (``phase_seconds``) per step:

* ``created`` exists only for the first stream event; a chat is ``in_progress`` at once;
* a bot that "has a function tool" (see ``CozeEmulator.needs_tool``) goes to
  ``requires_action``; after ``submit_tool_outputs`` it is ``in_progress`` for one phase,
  then ``completed``; any other bot completes after one phase;
* ``cancel`` makes a chat ``canceled`` at once;
* a bot that fails (see ``CozeEmulator.outcome_of``) ends ``failed`` after one phase, with a
  ``last_error``; a stream of it ends with ``conversation.chat.failed``, or, when the bot id
  contains "error", with the ``error`` event instead (to record error paths).

Error codes are approximations of Coze's: 4000 bad parameter, 4200 unknown id, 4104 a chat
that is already over cannot be cancelled (the code cozepy's create_and_poll checks for).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from starlette.requests import Request
from starlette.responses import Response

from runreplay.cassette import Framing
from runreplay.emulator.common import (
    JSON,
    ApiError,
    Clock,
    Engine,
    IdFactory,
    Job,
    Stage,
    compose_reply,
    count_tokens,
    focus_word,
    guess_arguments,
    json_response,
    read_json,
    sse_event,
    sse_response,
    text_pieces,
)
from runreplay.providers.coze_chat import PROVIDER

INVALID_PARAM = 4000
CANNOT_CANCEL = 4104
NOT_FOUND = 4200
STREAM_STOPS = frozenset({"completed", "failed", "requires_action", "canceled"})
JSON_MEDIA = "application/json; charset=utf-8"
FRAMING = Framing(space_after_colon=False)
_ID_KINDS = {"conversation": 1, "chat": 2, "message": 3}
#: The ``last_error`` of a chat that fails on request.
FAILURE: JSON = {"code": 5000, "msg": "The bot failed to answer (emulated failure)."}

#: The function a tool bot asks the client to run.
TOOL_FUNCTION: JSON = {
    "name": "get_weather",
    "parameters": {"type": "object", "properties": {"location": {"type": "string"}}},
}

# Keys of a message as a delta event carries it; completed events and lists add the times.
_DELTA_KEYS = ("id", "conversation_id", "bot_id", "role", "type", "content", "content_type", "chat_id", "section_id")


@dataclass(eq=False, kw_only=True)
class Conversation:
    obj: JSON
    messages: list[JSON] = field(default_factory=list)


@dataclass(eq=False, kw_only=True)
class ChatRecord(Job):
    obj: JSON
    conversation: Conversation
    user_text: str
    needs_tool: bool
    outcome: str | None = None
    messages: list[JSON] = field(default_factory=list)
    outputs: list[tuple[str, str]] = field(default_factory=list)


def chat_view(obj: JSON) -> JSON:
    # Like coze-go's omitempty: unset times and the required action are left out.
    return {k: v for k, v in obj.items() if v is not None or k not in ("completed_at", "failed_at", "required_action")}


def zero_usage() -> JSON:
    return {"token_count": 0, "output_count": 0, "input_count": 0}


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _user_text(message: Mapping[str, Any]) -> str:
    content = str(message.get("content") or "")
    if message.get("content_type") == "object_string":
        try:
            parts = json.loads(content)
        except ValueError:
            return content
        return " ".join(str(p.get("text", "")) for p in parts if isinstance(p, Mapping) and p.get("type") == "text")
    return content


class CozeEmulator(Engine[ChatRecord]):
    provider = PROVIDER.name
    settings: ClassVar[Mapping[str, str]] = {
        "coze_tool_bots": "bot ids whose chats ask for a function call (so does any bot id containing 'tool')",
        "coze_failing_bots": "bot ids whose chats fail (so does any bot id containing 'fail'; 'error': with an "
        "error stream event)",
    }

    def __init__(
        self,
        clock: Clock,
        ids: IdFactory,
        phase_seconds: float,
        coze_tool_bots: Iterable[str] = (),
        coze_failing_bots: Iterable[str] = (),
    ) -> None:
        super().__init__(clock, ids, phase_seconds)
        self.tool_bots = frozenset(coze_tool_bots)
        self.failing_bots = frozenset(coze_failing_bots)
        self.conversations: dict[str, Conversation] = {}
        self.chats: dict[str, ChatRecord] = {}

    def needs_tool(self, bot_id: str) -> bool:
        """A bot has a function tool if it was named in ``coze_tool_bots`` or its id contains "tool"."""
        return bot_id in self.tool_bots or "tool" in bot_id.lower()

    def outcome_of(self, bot_id: str) -> str | None:
        """``"fail"`` for a bot named in ``coze_failing_bots`` or whose id contains "fail",
        ``"stream-error"`` for one whose id contains "error", else None."""
        lowered = bot_id.lower()
        if "error" in lowered:
            return "stream-error"
        return "fail" if bot_id in self.failing_bots or "fail" in lowered else None

    def new_id(self, kind: str) -> str:
        """A 19-digit numeric id like Coze's: ``74`` + kind digit + counter + hash digits."""
        n = self.ids.next(f"coze-{kind}")
        tail = str(int.from_bytes(self.ids.digest(kind, n), "big"))[-10:]
        return f"74{_ID_KINDS.get(kind, 9)}{n:06d}{tail}"

    def call_id(self) -> str:
        n = self.ids.next("coze-call")
        return base64.b64encode(self.ids.digest("call", n)[:30]).decode()

    def logid(self) -> str:
        n = self.ids.next("logid")
        return f"2025{n:010d}" + self.ids.digest("logid", n).hex()[:20].upper()

    # --- responses ---------------------------------------------------------------------------

    def _envelope(self, code: int, msg: str, data: Any = None, *, with_data: bool = True) -> Response:
        logid = self.logid()
        body: JSON = {"code": code, "msg": msg}
        if with_data:
            body["data"] = data
        body["detail"] = {"logid": logid}
        return json_response(body, headers={"x-tt-logid": logid}, media_type=JSON_MEDIA)

    def _ok(self, data: Any) -> Response:
        return self._envelope(0, "", data)

    def error_response(self, exc: ApiError) -> Response:
        # Coze reports failures in the body with HTTP 200.
        code = exc.code if isinstance(exc.code, int) else INVALID_PARAM
        return self._envelope(code, exc.message, with_data=False)

    def _stream(self, chat: ChatRecord, start: int) -> Response:
        logid = self.logid()

        def encode(name: str, payload: JSON) -> bytes:
            return sse_event(name, payload, FRAMING)

        stream = self.follow(chat, start, encode, epilogue=[sse_event("done", "[DONE]", FRAMING)])
        return sse_response(stream, {"x-tt-logid": logid})

    # --- lookups -----------------------------------------------------------------------------

    @staticmethod
    def _param(request: Request, body: Mapping[str, Any], name: str) -> str:
        value = request.query_params.get(name) or body.get(name)
        if not value:
            raise ApiError(f"Invalid parameter: {name} is required.", code=INVALID_PARAM)
        return str(value)

    def _conversation(self, conversation_id: str) -> Conversation:
        found = self.conversations.get(conversation_id)
        if found is None:
            raise ApiError(f"Conversation {conversation_id} not found.", code=NOT_FOUND)
        return found

    def _chat(self, conversation_id: str, chat_id: str) -> ChatRecord:
        found = self.chats.get(chat_id)
        if found is None or found.obj["conversation_id"] != conversation_id:
            raise ApiError(f"Chat {chat_id} not found in conversation {conversation_id}.", code=NOT_FOUND)
        self.advance(found)
        return found

    # --- builders ----------------------------------------------------------------------------

    def _new_conversation(self, at: float, meta_data: Mapping[str, Any] | None = None) -> Conversation:
        conversation_id = self.new_id("conversation")
        conversation = Conversation(
            obj={
                "id": conversation_id,
                "created_at": self.clock.unix(at),
                "meta_data": dict(meta_data or {}),
                "last_section_id": conversation_id,
            }
        )
        self.conversations[conversation_id] = conversation
        return conversation

    def _message(
        self, conversation: Conversation, chat: ChatRecord | None, role: str, kind: str, content: str, at: float
    ) -> JSON:
        conversation_id = conversation.obj["id"]
        message = {
            "id": self.new_id("message"),
            "conversation_id": conversation_id,
            "bot_id": chat.obj["bot_id"] if chat else "",
            "role": role,
            "type": kind,
            "content": content,
            "content_type": "text",
            "chat_id": chat.obj["id"] if chat else "",
            "section_id": conversation_id,
            "created_at": self.clock.unix(at),
            "updated_at": self.clock.unix(at),
        }
        conversation.messages.append(message)
        if chat is not None and role == "assistant":
            chat.messages.append(message)
        return message

    def _set_status(self, chat: ChatRecord, status: str) -> None:
        chat.obj["status"] = status
        chat.log(f"conversation.chat.{status}", chat_view(chat.obj))

    # --- lifecycle ---------------------------------------------------------------------------

    def stages(self, job: ChatRecord) -> tuple[Stage[ChatRecord] | None, ...]:
        if job.segment == "start" and job.outcome is not None:
            return (None, self._fail)
        if job.segment == "start":
            return (None, self._request_tool if job.needs_tool else self._answer)
        if job.segment == "resume":
            return (None, self._answer)
        return ()

    def stream_finished(self, job: ChatRecord) -> bool:
        return job.obj["status"] in STREAM_STOPS

    def _fail(self, chat: ChatRecord, at: float) -> None:
        chat.obj.update(status="failed", failed_at=self.clock.unix(at), last_error=dict(FAILURE))
        if chat.outcome == "stream-error":
            # The stream breaks off with Coze's error event; a retrieve still sees the failed chat.
            chat.log("error", PROVIDER.stream_error(FAILURE["msg"]).data)
        else:
            chat.log("conversation.chat.failed", chat_view(chat.obj))

    def _request_tool(self, chat: ChatRecord, at: float) -> None:
        name = TOOL_FUNCTION["name"]
        arguments = guess_arguments(TOOL_FUNCTION["parameters"], chat.user_text)
        content = _compact({"name": name, "arguments": json.loads(arguments)})
        call = self._message(chat.conversation, chat, "assistant", "function_call", content, at)
        chat.log("conversation.message.completed", call)
        function = {"name": name, "arguments": arguments}
        tool_call = {"id": self.call_id(), "type": "function", "function": function}
        chat.obj["required_action"] = {
            "type": "submit_tool_outputs",
            "submit_tool_outputs": {"tool_calls": [tool_call]},
        }
        self._set_status(chat, "requires_action")

    def _answer(self, chat: ChatRecord, at: float) -> None:
        text = compose_reply(chat.user_text, chat.outputs)
        answer = self._message(chat.conversation, chat, "assistant", "answer", text, at)
        for piece in text_pieces(text):
            delta = {key: answer[key] for key in _DELTA_KEYS}
            chat.log("conversation.message.delta", {**delta, "content": piece})
        chat.log("conversation.message.completed", answer)
        finish = _compact({"finish_reason": 0, "FinData": ""})
        verbose = _compact(
            {"msg_type": "generate_answer_finish", "data": finish, "from_module": None, "from_unit": None}
        )
        follow_up = f"What else should I know about {focus_word(chat.user_text) or 'this'}?"
        for kind, content in (("verbose", verbose), ("follow_up", follow_up)):
            extra = self._message(chat.conversation, chat, "assistant", kind, content, at)
            chat.log("conversation.message.completed", extra)
        prompt = count_tokens(chat.user_text) + sum(count_tokens(out) for _, out in chat.outputs)
        output = count_tokens(text)
        chat.obj.update(
            completed_at=self.clock.unix(at),
            usage={"token_count": prompt + output, "output_count": output, "input_count": prompt},
        )
        self._set_status(chat, "completed")

    # --- endpoints ---------------------------------------------------------------------------

    async def create_chat(self, request: Request) -> Response:
        body = await read_json(request)
        bot_id = str(body.get("bot_id") or "")
        if not bot_id:
            raise ApiError("Invalid parameter: bot_id is required.", code=INVALID_PARAM)
        if not body.get("user_id"):
            raise ApiError("Invalid parameter: user_id is required.", code=INVALID_PARAM)
        incoming = body.get("additional_messages") or []
        for item in incoming:
            if not isinstance(item, Mapping) or item.get("role") not in ("user", "assistant"):
                raise ApiError("Invalid parameter: additional_messages[].role must be user or assistant.")
        with self.lock:
            at = self.clock.now()
            conversation_id = request.query_params.get("conversation_id")
            conversation = self._conversation(conversation_id) if conversation_id else self._new_conversation(at)
            chat_id = self.new_id("chat")
            chat = ChatRecord(
                obj={
                    "id": chat_id,
                    "conversation_id": conversation.obj["id"],
                    "bot_id": bot_id,
                    "created_at": self.clock.unix(at),
                    "completed_at": None,
                    "failed_at": None,
                    "meta_data": dict(body.get("meta_data") or {}),
                    "last_error": {"code": 0, "msg": ""},
                    "status": "created",
                    "required_action": None,
                    "usage": zero_usage(),
                    "section_id": conversation.obj["id"],
                },
                conversation=conversation,
                user_text="",
                needs_tool=self.needs_tool(bot_id),
                outcome=self.outcome_of(bot_id),
                segment="start",
                segment_start=at,
            )
            for item in incoming:
                kind = item.get("type") or ("question" if item["role"] == "user" else "answer")
                message = self._message(conversation, chat, item["role"], kind, str(item.get("content") or ""), at)
                message["content_type"] = item.get("content_type") or "text"
            users = [m for m in conversation.messages if m["role"] == "user"]
            chat.user_text = _user_text(users[-1]) if users else ""
            self.chats[chat_id] = chat
            chat.log("conversation.chat.created", chat_view(chat.obj))
            self._set_status(chat, "in_progress")
            if body.get("stream"):
                return self._stream(chat, 0)
            return self._ok(chat_view(chat.obj))

    async def retrieve_chat(self, request: Request) -> Response:
        body = await read_json(request) if request.method == "POST" else {}
        with self.lock:
            chat = self._chat(self._param(request, body, "conversation_id"), self._param(request, body, "chat_id"))
            return self._ok(chat_view(chat.obj))

    async def cancel_chat(self, request: Request) -> Response:
        body = await read_json(request)
        with self.lock:
            chat = self._chat(self._param(request, body, "conversation_id"), self._param(request, body, "chat_id"))
            status = chat.obj["status"]
            if status in ("completed", "failed", "canceled"):
                raise ApiError(f"Chat {chat.obj['id']} is {status} and cannot be canceled.", code=CANNOT_CANCEL)
            chat.obj["required_action"] = None
            chat.begin("final", self.clock.now())
            chat.obj["status"] = "canceled"
            return self._ok(chat_view(chat.obj))

    async def submit_tool_outputs(self, request: Request) -> Response:
        body = await read_json(request)
        with self.lock:
            chat = self._chat(self._param(request, body, "conversation_id"), self._param(request, body, "chat_id"))
            status = chat.obj["status"]
            if status != "requires_action":
                raise ApiError(f"Chat status is {status}; tool outputs are only accepted in requires_action.")
            outputs = body.get("tool_outputs")
            if not isinstance(outputs, list) or not outputs:
                raise ApiError("Invalid parameter: tool_outputs is required.")
            calls = chat.obj["required_action"]["submit_tool_outputs"]["tool_calls"]
            expected = sorted(c["id"] for c in calls)
            given = [o.get("tool_call_id") for o in outputs if isinstance(o, Mapping)]
            if sorted(map(str, given)) != expected or len(given) != len(outputs):
                raise ApiError(f"Invalid parameter: tool_call_id mismatch, expected {expected}, got {given}.")
            by_id = {str(o["tool_call_id"]): str(o.get("output") or "") for o in outputs}

            at = self.clock.now()
            start = len(chat.events)
            chat.outputs = [(c["function"]["name"], by_id[c["id"]]) for c in calls]
            chat.obj["required_action"] = None
            self._set_status(chat, "in_progress")
            for call in calls:
                response = self._message(chat.conversation, chat, "assistant", "tool_response", by_id[call["id"]], at)
                chat.log("conversation.message.completed", response)
            chat.begin("resume", at)
            if body.get("stream"):
                return self._stream(chat, start)
            return self._ok(chat_view(chat.obj))

    async def list_messages(self, request: Request) -> Response:
        body = await read_json(request) if request.method == "POST" else {}
        with self.lock:
            chat = self._chat(self._param(request, body, "conversation_id"), self._param(request, body, "chat_id"))
            return self._ok([dict(m) for m in chat.messages])

    async def create_conversation(self, request: Request) -> Response:
        body = await read_json(request)
        with self.lock:
            at = self.clock.now()
            conversation = self._new_conversation(at, body.get("meta_data"))
            for item in body.get("messages") or []:
                if isinstance(item, Mapping) and item.get("role") in ("user", "assistant"):
                    kind = item.get("type") or ("question" if item["role"] == "user" else "answer")
                    self._message(conversation, None, item["role"], kind, str(item.get("content") or ""), at)
            return self._ok(conversation.obj)

    async def retrieve_conversation(self, request: Request) -> Response:
        with self.lock:
            conversation = self._conversation(self._param(request, {}, "conversation_id"))
            return self._ok(conversation.obj)


EMULATOR = CozeEmulator
