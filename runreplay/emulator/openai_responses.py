"""The OpenAI Responses API, background mode included.

Lifecycle of a response, one phase (``phase_seconds``) per step:

* ``background: true``: the create answers at once with ``queued``; one phase later the
  response is ``in_progress`` (its output item is added), one more and it is ``completed``;
* ``stream: true`` without background: ``in_progress`` at once, ``completed`` one phase later;
* neither: the create answers with the finished response;
* a function tool (``type: "function"``; the one ``tool_choice`` forces, else the first)
  is called once: the response completes with one ``function_call`` output item. The next
  create answers it with ``previous_response_id`` and ``function_call_output`` input items
  for exactly that response's ``call_id`` s, and gets a message naming each tool output;
* a model whose name ends with ``-fail`` fails while ``in_progress``: status ``failed``,
  ``error: {"code": "server_error", ...}``, and the stream's last event is
  ``response.failed`` (a way to record error paths);
* ``cancel`` makes a queued or in-progress background response ``cancelled`` at once; its
  stream then closes (the streaming API has no cancelled event).

Every stream follows the response's event log; events carry their ``type`` and a
``sequence_number`` from 0, and ``GET /responses/{id}?stream=true&starting_after=N``
replays the log after event N, then continues live. Only a response created with both
``background`` and ``stream`` can be streamed again, as with the real API.
"""

from __future__ import annotations

import json
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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
    guess_arguments,
    json_pieces,
    json_response,
    list_page,
    missing_parameter,
    read_json,
    sse_event,
    sse_response,
    text_pieces,
)
from runreplay.providers.openai_responses import PROVIDER

TERMINAL = frozenset({"completed", "failed", "cancelled", "incomplete"})
FAIL_SUFFIX = "-fail"
FRAMING = Framing(space_after_colon=True)
#: Delta events pad ``delta`` + ``obfuscation`` to this many characters, as real streams do.
OBFUSCATED_LENGTH = 16
FAILURE_MESSAGE = (
    "An error occurred while processing your request. You can retry your request, or contact us "
    "through our help center at help.openai.com if the error persists."
)
_BASE62 = string.ascii_letters + string.digits
_ROLES = ("user", "assistant", "system", "developer")


@dataclass(eq=False, kw_only=True)
class ResponseRecord(Job):
    obj: JSON
    inputs: list[JSON]
    function: JSON | None
    user_text: str
    tool_results: list[tuple[str, str]]
    input_tokens: int
    streamed: bool
    fails: bool
    item: JSON | None = None


def usage(input_tokens: int, output_tokens: int) -> JSON:
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": input_tokens + output_tokens,
    }


def output_text_part(text: str) -> JSON:
    return {"type": "output_text", "annotations": [], "logprobs": [], "text": text}


def item_text(item: Mapping[str, Any]) -> str:
    """The text of a message item's content parts."""
    content = item.get("content")
    if isinstance(content, str):
        return content
    return " ".join(
        str(part["text"]) for part in content or () if isinstance(part, Mapping) and isinstance(part.get("text"), str)
    )


def _output_string(output: Any) -> str:
    return output if isinstance(output, str) else json.dumps(output, ensure_ascii=False, separators=(",", ":"))


def _pick_function(tools: list[JSON], tool_choice: Any) -> JSON | None:
    """The function the emulated model calls: the forced one, else the first, never for "none"."""
    functions = [t for t in tools if t.get("type") == "function"]
    if tool_choice == "none":
        return None
    if isinstance(tool_choice, Mapping):
        if tool_choice.get("type") != "function":
            return None
        return next((f for f in functions if f["name"] == tool_choice.get("name")), None)
    return functions[0] if functions else None


def _flag(value: str | None) -> bool | None:
    """A boolean query parameter (``true``/``false``), ``None`` when absent."""
    if value is None:
        return None
    return value.strip().lower() in ("true", "1")


class ResponsesEmulator(Engine[ResponseRecord]):
    provider = PROVIDER.name

    def __init__(self, clock: Clock, ids: IdFactory, phase_seconds: float) -> None:
        super().__init__(clock, ids, phase_seconds)
        self.responses: dict[str, ResponseRecord] = {}

    # --- ids ---------------------------------------------------------------------------------

    def new_id(self, kind: str) -> str:
        """The provider's prefix for ``kind``, ``_emu``, a counter and hash characters: 50 hex
        characters after the prefix as real response and item ids have (``call_`` ids: 24
        base62 characters)."""
        prefix = PROVIDER.id_prefixes[kind]
        namespace = f"responses:{prefix}"
        n = self.ids.next(namespace)
        digest = self.ids.digest(namespace, n)
        if kind == "call":
            number = int.from_bytes(digest, "big")
            tail = []
            for _ in range(15):
                number, rem = divmod(number, 62)
                tail.append(_BASE62[rem])
            return f"{prefix}_emu{n:06d}{''.join(tail)}"
        return f"{prefix}_emu{n:06d}{digest.hex()[:41]}"

    def request_id(self) -> str:
        n = self.ids.next("req")
        return "req_" + self.ids.digest("req", n).hex()[:32]

    def obfuscation(self, response_id: str, sequence_number: int, delta: str) -> str:
        """Deterministic padding for a delta event (real streams add it unless told not to)."""
        digest = int.from_bytes(self.ids.digest(f"obfuscation:{response_id}", sequence_number), "big")
        out = []
        for _ in range(max(1, OBFUSCATED_LENGTH - len(delta))):
            digest, rem = divmod(digest, 62)
            out.append(_BASE62[rem])
        return "".join(out)

    # --- HTTP --------------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        return {"openai-version": "2020-10-01", "x-request-id": self.request_id()}

    def error_response(self, exc: ApiError) -> Response:
        code = exc.code if isinstance(exc.code, str) else None
        body = {"error": {"message": exc.message, "type": "invalid_request_error", "param": exc.param, "code": code}}
        return json_response(body, status=exc.status, headers=self._headers())

    def _reply(self, payload: JSON) -> Response:
        return json_response(payload, headers=self._headers())

    def _stream(self, job: ResponseRecord, start: int, *, obfuscate: bool) -> Response:
        """SSE of the response's events from log index (= sequence number) ``start``."""
        response_id = job.obj["id"]

        def encode(name: str, payload: JSON) -> bytes:
            if obfuscate and name.endswith(".delta"):
                padding = self.obfuscation(response_id, payload["sequence_number"], payload["delta"])
                payload = {**payload, "obfuscation": padding}
            return sse_event(name, payload, FRAMING)

        return sse_response(self.follow(job, start, encode), self._headers())

    # --- lookups (call with the lock held) ---------------------------------------------------

    def _job(self, response_id: str) -> ResponseRecord:
        found = self.responses.get(response_id)
        if found is None:
            raise ApiError(f"Response with id '{response_id}' not found.", status=404)
        self.advance(found)
        return found

    def _previous(self, body: Mapping[str, Any]) -> ResponseRecord | None:
        previous_id = body.get("previous_response_id")
        if not previous_id:
            return None
        found = self.responses.get(str(previous_id))
        if found is None:
            raise ApiError(
                f"Previous response with id '{previous_id}' not found.",
                param="previous_response_id",
                code="previous_response_not_found",
            )
        self.advance(found)
        return found

    # --- request parsing ---------------------------------------------------------------------

    @staticmethod
    def _tool(tool: Any, index: int) -> JSON:
        if not isinstance(tool, Mapping) or not isinstance(tool.get("type"), str):
            raise missing_parameter(f"tools[{index}].type")
        if tool["type"] != "function":
            return dict(tool)
        if not tool.get("name"):
            raise missing_parameter(f"tools[{index}].name")
        return {
            "type": "function",
            "description": tool.get("description"),
            "name": tool["name"],
            "parameters": tool.get("parameters") or {"type": "object", "properties": {}},
            "strict": bool(tool.get("strict", True)),
        }

    @staticmethod
    def _input_items(raw: Any) -> list[JSON]:
        """The create's ``input`` as stored items (without ids yet)."""
        if raw is None:
            return []
        if isinstance(raw, str):
            raw = [{"type": "message", "role": "user", "content": raw}]
        if not isinstance(raw, list):
            raise ApiError(
                "Invalid type for 'input': expected a string or an array of input items.",
                param="input",
                code="invalid_type",
            )
        items: list[JSON] = []
        for index, item in enumerate(raw):
            if not isinstance(item, Mapping):
                raise ApiError(f"Invalid type for 'input[{index}]': expected an object.", param=f"input[{index}]")
            kind = item.get("type", "message" if "role" in item else None)
            if kind == "message":
                role = item.get("role")
                if role not in _ROLES:
                    raise ApiError(
                        f"Invalid value: '{role}'. Supported values are: 'user', 'assistant', 'system', and "
                        "'developer'.",
                        param=f"input[{index}].role",
                        code="invalid_value",
                    )
                content = item.get("content")
                if content is None:
                    raise missing_parameter(f"input[{index}].content")
                if isinstance(content, str):
                    text_kind = "output_text" if role == "assistant" else "input_text"
                    parts: list[Any] = [{"type": text_kind, "text": content}]
                else:
                    parts = [dict(p) if isinstance(p, Mapping) else p for p in content]
                items.append({"type": "message", "role": role, "content": parts})
            elif kind == "function_call_output":
                if not item.get("call_id"):
                    raise missing_parameter(f"input[{index}].call_id")
                if "output" not in item:
                    raise missing_parameter(f"input[{index}].output")
                items.append(
                    {
                        "type": "function_call_output",
                        "call_id": str(item["call_id"]),
                        "output": item["output"],
                        "status": "completed",
                    }
                )
            elif isinstance(kind, str):
                items.append({k: v for k, v in item.items() if k != "id"})
            else:
                raise missing_parameter(f"input[{index}].type")
            if isinstance(item.get("id"), str):
                items[-1]["id"] = item["id"]
        return items

    @staticmethod
    def _tool_results(inputs: list[JSON], previous: ResponseRecord | None) -> list[tuple[str, str]]:
        """``(function name, output)`` of each ``function_call_output``; every call the previous
        response asked for must be answered, and every output must answer a known call."""
        requested = {
            str(i["call_id"]): str(i["name"])
            for i in (previous.obj["output"] if previous is not None else [])
            if i.get("type") == "function_call"
        }
        known = {**requested}
        known.update({str(i.get("call_id")): str(i.get("name")) for i in inputs if i["type"] == "function_call"})
        given = [
            (str(i["call_id"]), _output_string(i["output"])) for i in inputs if i["type"] == "function_call_output"
        ]
        for call_id, _ in given:
            if call_id not in known:
                raise ApiError(f"No tool call found for function call output with call_id {call_id}.", param="input")
        answered = {call_id for call_id, _ in given}
        for call_id in requested:
            if call_id not in answered:
                raise ApiError(f"No tool output found for function call {call_id}.", param="input")
        return [(known[call_id], output) for call_id, output in given]

    # --- lifecycle ---------------------------------------------------------------------------

    def stages(self, job: ResponseRecord) -> tuple[Stage[ResponseRecord] | None, ...]:
        table: dict[str, tuple[Stage[ResponseRecord] | None, ...]] = {
            "background": (None, self._start, self._finish),
            "foreground": (None, self._finish),
        }
        return table.get(job.segment, ())

    def stream_finished(self, job: ResponseRecord) -> bool:
        return job.obj["status"] in TERMINAL

    def _emit(self, job: ResponseRecord, name: str, **fields: Any) -> None:
        """Log one event; its sequence number is its place in the log."""
        job.log(name, {"type": name, "sequence_number": len(job.events), **fields})

    def _lifecycle(self, job: ResponseRecord, name: str) -> None:
        self._emit(job, name, response=job.obj)

    def _start(self, job: ResponseRecord, at: float) -> None:
        """``in_progress``: the output item is added (nothing, for a failing model)."""
        job.obj["status"] = "in_progress"
        self._lifecycle(job, "response.in_progress")
        if job.fails:
            return
        index = len(job.obj["output"])
        if job.function is not None:
            item: JSON = {
                "id": self.new_id("function_call"),
                "type": "function_call",
                "status": "in_progress",
                "arguments": "",
                "call_id": self.new_id("call"),
                "name": job.function["name"],
            }
            job.obj["output"].append(item)
            self._emit(job, "response.output_item.added", output_index=index, item=item)
        else:
            item = {
                "id": self.new_id("message"),
                "type": "message",
                "status": "in_progress",
                "content": [],
                "role": "assistant",
            }
            job.obj["output"].append(item)
            self._emit(job, "response.output_item.added", output_index=index, item=item)
            item["content"].append(output_text_part(""))
            self._emit(
                job,
                "response.content_part.added",
                item_id=item["id"],
                output_index=index,
                content_index=0,
                part=output_text_part(""),
            )
        job.item = item

    def _finish(self, job: ResponseRecord, at: float) -> None:
        if job.fails:
            job.obj.update(status="failed", error={"code": "server_error", "message": FAILURE_MESSAGE})
            self._lifecycle(job, "response.failed")
            return
        item = job.item
        assert item is not None
        index = job.obj["output"].index(item)
        if item["type"] == "function_call":
            assert job.function is not None
            produced = guess_arguments(job.function.get("parameters"), job.user_text)
            for piece in json_pieces(produced):
                self._emit(
                    job, "response.function_call_arguments.delta", item_id=item["id"], output_index=index, delta=piece
                )
            self._emit(
                job, "response.function_call_arguments.done", item_id=item["id"], output_index=index, arguments=produced
            )
            item.update(status="completed", arguments=produced)
        else:
            produced = compose_reply(job.user_text, job.tool_results)
            where = {"item_id": item["id"], "output_index": index, "content_index": 0}
            for piece in text_pieces(produced):
                self._emit(job, "response.output_text.delta", **where, delta=piece, logprobs=[])
            self._emit(job, "response.output_text.done", **where, text=produced, logprobs=[])
            self._emit(job, "response.content_part.done", **where, part=output_text_part(produced))
            item.update(status="completed", content=[output_text_part(produced)])
        self._emit(job, "response.output_item.done", output_index=index, item=item)
        tier = job.obj["service_tier"]
        job.obj.update(
            status="completed",
            completed_at=self.clock.unix(at),
            service_tier="default" if tier == "auto" else tier,
            usage=usage(job.input_tokens, count_tokens(produced)),
        )
        self._lifecycle(job, "response.completed")

    # --- routes ------------------------------------------------------------------------------

    async def create_response(self, request: Request) -> Response:
        body = await read_json(request)
        model = body.get("model")
        if not model:
            raise missing_parameter("model")
        background, stream = bool(body.get("background")), bool(body.get("stream"))
        with self.lock:
            previous = self._previous(body)
            tools = [self._tool(t, i) for i, t in enumerate(body.get("tools") or [])]
            inputs = self._input_items(body.get("input"))
            tool_results = self._tool_results(inputs, previous)
            for i, item in enumerate(inputs):
                if "id" not in item:
                    kind = "function_call" if item["type"] == "function_call_output" else "message"
                    inputs[i] = {"id": self.new_id(kind), **item}
            user_texts = [item_text(i) for i in inputs if i["type"] == "message" and i["role"] == "user"]
            user_text = user_texts[-1] if user_texts else previous.user_text if previous is not None else ""
            tool_choice = body.get("tool_choice") if body.get("tool_choice") is not None else "auto"
            function = None if tool_results else _pick_function(tools, tool_choice)
            instructions = body.get("instructions")
            context = [instructions or "", *(item_text(i) for i in inputs), *(o for _, o in tool_results)]
            input_tokens = count_tokens(" ".join(context))
            if previous is not None and previous.obj["usage"]:
                input_tokens += previous.obj["usage"]["total_tokens"]

            at = self.clock.now()
            obj: JSON = {
                "id": self.new_id("response"),
                "object": "response",
                "created_at": self.clock.unix(at),
                "status": "queued" if background else "in_progress",
                "background": background,
                "completed_at": None,
                "error": None,
                "frequency_penalty": body.get("frequency_penalty") or 0.0,
                "incomplete_details": None,
                "instructions": instructions,
                "max_output_tokens": body.get("max_output_tokens"),
                "max_tool_calls": body.get("max_tool_calls"),
                "model": model,
                "output": [],
                "parallel_tool_calls": body.get("parallel_tool_calls", True),
                "presence_penalty": body.get("presence_penalty") or 0.0,
                "previous_response_id": previous.obj["id"] if previous is not None else None,
                "prompt_cache_key": body.get("prompt_cache_key"),
                "prompt_cache_retention": body.get("prompt_cache_retention"),
                "reasoning": body.get("reasoning") or {"effort": None, "summary": None},
                "safety_identifier": body.get("safety_identifier"),
                "service_tier": body.get("service_tier") or "auto",
                "store": body.get("store", True) is not False,
                "temperature": body.get("temperature") if body.get("temperature") is not None else 1.0,
                "text": body.get("text") or {"format": {"type": "text"}, "verbosity": "medium"},
                "tool_choice": tool_choice,
                "tools": tools,
                "top_logprobs": body.get("top_logprobs") or 0,
                "top_p": body.get("top_p") if body.get("top_p") is not None else 1.0,
                "truncation": body.get("truncation") or "disabled",
                "usage": None,
                "user": body.get("user"),
                "metadata": dict(body.get("metadata") or {}),
            }
            job = ResponseRecord(
                obj=obj,
                inputs=inputs,
                function=function,
                user_text=user_text,
                tool_results=tool_results,
                input_tokens=input_tokens,
                streamed=stream,
                fails=str(model).endswith(FAIL_SUFFIX),
                segment="background" if background else "foreground" if stream else "done",
                segment_start=at,
            )
            self._lifecycle(job, "response.created")
            if background:
                self._lifecycle(job, "response.queued")
            else:
                self._start(job, at)
                if not stream:
                    self._finish(job, at)
            if obj["store"]:
                self.responses[obj["id"]] = job
            if stream:
                options = body.get("stream_options") or {}
                include = not isinstance(options, Mapping) or options.get("include_obfuscation") is not False
                return self._stream(job, 0, obfuscate=include and not background)
            return self._reply(obj)

    async def retrieve_response(self, request: Request) -> Response:
        # GET /responses/{id} also serves ?stream=true: both routes share the path, and the
        # server's first route for it (this one) is the one that matches.
        if _flag(request.query_params.get("stream")):
            return await self.resume_response_stream(request)
        with self.lock:
            return self._reply(self._job(request.path_params["response_id"]).obj)

    async def resume_response_stream(self, request: Request) -> Response:
        query = request.query_params
        raw_cursor = query.get("starting_after")
        try:
            start = int(raw_cursor) + 1 if raw_cursor not in (None, "") else 0
        except ValueError as exc:
            raise ApiError(
                f"Invalid type for 'starting_after': expected an integer, but got '{raw_cursor}' instead.",
                param="starting_after",
                code="invalid_type",
            ) from exc
        with self.lock:
            job = self._job(request.path_params["response_id"])
            if not job.obj["background"]:
                raise ApiError(
                    "This response cannot be streamed because it was not created with background=true.",
                    param="stream",
                )
            if not job.streamed:
                raise ApiError(
                    "This response cannot be streamed because it was not created with stream=true "
                    "or the stream TTL has expired.",
                    param="stream",
                )
            return self._stream(job, max(0, start), obfuscate=False)

    async def cancel_response(self, request: Request) -> Response:
        with self.lock:
            job = self._job(request.path_params["response_id"])
            status = job.obj["status"]
            if not job.obj["background"]:
                raise ApiError("Cannot cancel a synchronous response.")
            if status in ("queued", "in_progress"):
                job.obj["status"] = "cancelled"
                job.begin("cancelled", self.clock.now())
            elif status != "cancelled":  # cancelling twice returns the cancelled response
                raise ApiError("Cannot cancel a response in terminal state.")
            return self._reply(job.obj)

    async def delete_response(self, request: Request) -> Response:
        with self.lock:
            job = self._job(request.path_params["response_id"])
            del self.responses[job.obj["id"]]
            return self._reply({"id": job.obj["id"], "object": "response", "deleted": True})

    async def list_input_items(self, request: Request) -> Response:
        with self.lock:
            job = self._job(request.path_params["response_id"])
            return self._reply(list_page(job.inputs, request))


EMULATOR = ResponsesEmulator
