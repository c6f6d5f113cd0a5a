"""The OpenAI Assistants API (v2 shapes; v1 shapes when ``OpenAI-Beta: assistants=v1``).

Lifecycle of a run, one phase (``phase_seconds``) per step:

* with a function tool to call: queued -> in_progress -> requires_action (until it expires);
  after ``submit_tool_outputs``: queued -> in_progress -> completed;
* without: queued -> in_progress -> completed;
* ``cancel``: cancelling -> cancelled.

A run's model name can ask for a bad end, one phase after ``in_progress`` (to record error
paths; see :data:`OUTCOMES`): ``-fail`` and ``-rate-limit`` fail the run and its open step
with a ``last_error``; ``-stream-error`` fails it too, but its stream ends with an ``error``
event instead of ``thread.run.failed``; ``-incomplete`` stops the answer half-way
(``incomplete``, ``max_completion_tokens``); ``-expire`` lets the run expire.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
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
from runreplay.providers.openai_assistants import PROVIDER

ACTIVE = frozenset({"queued", "in_progress", "requires_action", "cancelling"})
STREAM_STOPS = frozenset({"requires_action", "completed", "cancelled", "failed", "expired", "incomplete"})
RUN_TTL_SECONDS = 600.0
FRAMING = Framing(space_after_colon=True)
_BASE62 = string.ascii_letters + string.digits

#: The ``last_error`` of a run that fails on request, by the model name's ending.
FAILURES: dict[str, JSON] = {
    "fail": {"code": "server_error", "message": "Sorry, something went wrong."},
    "rate-limit": {
        "code": "rate_limit_exceeded",
        "message": "You exceeded your current quota, please check your plan and billing details.",
    },
    "stream-error": {"code": "server_error", "message": "Sorry, something went wrong."},
}
#: Model name endings (after a "-") that make a run end badly, to record error paths.
OUTCOMES = (*FAILURES, "incomplete", "expire")


def outcome_of(model: str) -> str | None:
    """The bad end a model name asks for (``gpt-4o-mini-fail`` -> ``fail``), or None."""
    return next((name for name in OUTCOMES if model.endswith("-" + name)), None)


@dataclass(eq=False, kw_only=True)
class ThreadRecord:
    obj: JSON
    messages: list[JSON] = field(default_factory=list)
    runs: list[RunRecord] = field(default_factory=list)


@dataclass(eq=False, kw_only=True)
class RunRecord(Job):
    obj: JSON
    thread: ThreadRecord
    function: JSON | None
    user_text: str
    context_tokens: int
    created_clock: float
    steps: list[JSON] = field(default_factory=list)
    tool_step: JSON | None = None
    message: JSON | None = None
    message_step: JSON | None = None
    outputs: list[tuple[str, str]] = field(default_factory=list)
    outcome: str | None = None


def text_block(value: str) -> JSON:
    return {"type": "text", "text": {"value": value, "annotations": []}}


def message_text(message: Mapping[str, Any]) -> str:
    return "".join(b["text"]["value"] for b in message.get("content", ()) if b.get("type") == "text")


def usage(prompt: int, completion: int) -> JSON:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_token_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0},
    }


def render(payload: JSON, v1: bool) -> JSON:
    """Shape a stored (v2) object for the API version the client asked for."""
    if not v1:
        return payload
    if payload.get("object") == "list":
        return {**payload, "data": [render(item, v1) for item in payload["data"]]}
    out: JSON = {}
    for key, value in payload.items():
        if key in ("reasoning_effort", "parallel_tool_calls"):
            continue
        if key == "tool_resources":
            if payload.get("object") != "thread":  # v1 threads had no file list at all
                out["file_ids"] = list(((value or {}).get("code_interpreter") or {}).get("file_ids", []))
        elif key == "attachments":
            out["file_ids"] = [a.get("file_id") for a in value if isinstance(a, Mapping)]
        else:
            out[key] = value
    return out


class OpenAIEmulator(Engine[RunRecord]):
    provider = PROVIDER.name
    settings: ClassVar[Mapping[str, str]] = {
        "poll_after_ms": "send openai-poll-after-ms with every run (the SDK's poll helpers then sleep that long)",
    }

    def __init__(self, clock: Clock, ids: IdFactory, phase_seconds: float, poll_after_ms: int | None = None) -> None:
        super().__init__(clock, ids, phase_seconds)
        self.poll_after_ms = poll_after_ms
        self.assistants: dict[str, JSON] = {}
        self.threads: dict[str, ThreadRecord] = {}
        self.runs: dict[str, RunRecord] = {}

    def new_id(self, kind: str) -> str:
        """The provider's prefix for ``kind`` (``run``), ``_emu``, a counter and 15 hash
        characters: 24 characters after the prefix, as real ids have."""
        prefix = PROVIDER.id_prefixes[kind]
        n = self.ids.next(prefix)
        digest = int.from_bytes(self.ids.digest(prefix, n), "big")
        tail = []
        for _ in range(15):
            digest, rem = divmod(digest, 62)
            tail.append(_BASE62[rem])
        return f"{prefix}_emu{n:06d}{''.join(tail)}"

    def request_id(self) -> str:
        n = self.ids.next("req")
        return "req_" + self.ids.digest("req", n).hex()[:32]

    # --- responses ---------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        return {"openai-version": "2020-10-01", "x-request-id": self.request_id()}

    def error_response(self, exc: ApiError) -> Response:
        code = exc.code if isinstance(exc.code, str) else None
        body = {"error": {"message": exc.message, "type": "invalid_request_error", "param": exc.param, "code": code}}
        return json_response(body, status=exc.status, headers=self._headers())

    def _reply(self, request: Request, payload: JSON, *, is_run: bool = False) -> Response:
        headers = self._headers()
        if is_run and self.poll_after_ms is not None:
            headers["openai-poll-after-ms"] = str(self.poll_after_ms)
        return json_response(render(payload, _is_v1(request)), headers=headers)

    def _stream(self, request: Request, run: RunRecord, start: int, new_thread: JSON | None = None) -> Response:
        """SSE of the run's events from ``start``; create-thread-and-run opens with thread.created."""
        v1 = _is_v1(request)

        def encode(name: str, payload: JSON) -> bytes:
            return sse_event(name, render(payload, v1), FRAMING)

        stream = self.follow(
            run,
            start,
            encode,
            prologue=[encode("thread.created", new_thread)] if new_thread is not None else [],
            epilogue=[sse_event("done", "[DONE]", FRAMING, raw=True)],
        )
        return sse_response(stream, self._headers())

    # --- lookups (call with the lock held) ---------------------------------------------------

    def _assistant(self, assistant_id: str) -> JSON:
        found = self.assistants.get(assistant_id)
        if found is None:
            raise ApiError(f"No assistant found with id '{assistant_id}'.", status=404)
        return found

    def _thread(self, thread_id: str) -> ThreadRecord:
        found = self.threads.get(thread_id)
        if found is None:
            raise ApiError(f"No thread found with id '{thread_id}'.", status=404)
        for run in found.runs:
            self.advance(run)
        return found

    def _run(self, thread_id: str, run_id: str) -> RunRecord:
        thread = self._thread(thread_id)
        found = self.runs.get(run_id)
        if found is None or found.thread is not thread:
            raise ApiError(f"No run found with id '{run_id}'.", status=404)
        return found

    # --- object builders ---------------------------------------------------------------------

    def _tool(self, tool: Any) -> JSON:
        if not isinstance(tool, Mapping) or not isinstance(tool.get("type"), str):
            raise ApiError("Invalid tool: each tool needs a 'type'.", param="tools")
        if tool["type"] != "function":
            return dict(tool)
        fn = tool.get("function")
        if not isinstance(fn, Mapping) or not fn.get("name"):
            raise missing_parameter("tools[].function.name")
        out: JSON = {"name": fn["name"]}
        if fn.get("description") is not None:
            out["description"] = fn["description"]
        out["parameters"] = fn.get("parameters") or {"type": "object", "properties": {}}
        out["strict"] = bool(fn.get("strict") or False)
        return {"type": "function", "function": out}

    def _message_input(self, item: Any) -> tuple[str, list[JSON], list[JSON], JSON]:
        if not isinstance(item, Mapping):
            raise ApiError("Invalid message: expected an object.", param="messages")
        role = item.get("role")
        if role not in ("user", "assistant"):
            raise ApiError(
                f"Invalid value: '{role}'. Supported values are: 'user' and 'assistant'.",
                param="role",
                code="invalid_value",
            )
        content = item.get("content")
        if content is None:
            raise missing_parameter("content")
        blocks: list[JSON] = []
        for part in [content] if isinstance(content, str) else content:
            if isinstance(part, str):
                blocks.append(text_block(part))
            elif isinstance(part, Mapping) and part.get("type") == "text":
                blocks.append(text_block(str(part.get("text", ""))))
            elif isinstance(part, Mapping) and part.get("type") in ("image_file", "image_url"):
                blocks.append({"type": part["type"], part["type"]: part.get(part["type"])})
        attachments = item.get("attachments") or [{"file_id": f, "tools": []} for f in item.get("file_ids") or []]
        return role, blocks, list(attachments), dict(item.get("metadata") or {})

    def _add_message(
        self,
        thread: ThreadRecord,
        role: str,
        content: list[JSON],
        at: float,
        *,
        attachments: list[JSON] | None = None,
        metadata: JSON | None = None,
        run: RunRecord | None = None,
    ) -> JSON:
        done = run is None
        message = {
            "id": self.new_id("message"),
            "object": "thread.message",
            "created_at": self.clock.unix(at),
            "assistant_id": run.obj["assistant_id"] if run else None,
            "thread_id": thread.obj["id"],
            "run_id": run.obj["id"] if run else None,
            "status": "completed" if done else "in_progress",
            "incomplete_details": None,
            "incomplete_at": None,
            "completed_at": self.clock.unix(at) if done else None,
            "role": role,
            "content": content,
            "attachments": attachments or [],
            "metadata": metadata or {},
        }
        thread.messages.append(message)
        return message

    def _new_thread(self, body: Mapping[str, Any], at: float) -> ThreadRecord:
        messages = [self._message_input(m) for m in body.get("messages") or []]
        thread = ThreadRecord(
            obj={
                "id": self.new_id("thread"),
                "object": "thread",
                "created_at": self.clock.unix(at),
                "metadata": dict(body.get("metadata") or {}),
                "tool_resources": dict(body.get("tool_resources") or {}),
            }
        )
        for role, blocks, attachments, metadata in messages:
            self._add_message(thread, role, blocks, at, attachments=attachments, metadata=metadata)
        self.threads[thread.obj["id"]] = thread
        return thread

    def _check_run_request(self, body: Mapping[str, Any]) -> JSON:
        """Validate what does not depend on the thread; returns the assistant."""
        assistant_id = body.get("assistant_id")
        if not assistant_id:
            raise missing_parameter("assistant_id")
        return self._assistant(str(assistant_id))

    def _new_run(self, thread: ThreadRecord, assistant: JSON, body: Mapping[str, Any], at: float) -> RunRecord:
        active = next((r for r in thread.runs if r.obj["status"] in ACTIVE), None)
        if active is not None:
            raise ApiError(f"Thread {thread.obj['id']} already has an active run {active.obj['id']}.")
        extra = [self._message_input(m) for m in body.get("additional_messages") or []]
        tools = [self._tool(t) for t in body["tools"]] if body.get("tools") is not None else list(assistant["tools"])
        instructions = body.get("instructions")
        if instructions is None:
            instructions = assistant["instructions"]
        if body.get("additional_instructions"):
            add = str(body["additional_instructions"])
            instructions = f"{instructions}\n{add}" if instructions else add
        has_user = any(m["role"] == "user" for m in thread.messages) or any(e[0] == "user" for e in extra)
        if not has_user and not instructions:
            raise ApiError(
                "Run creation requires a Thread with a user message or an assistant with instructions.",
                code="invalid_thread",
            )
        for role, blocks, attachments, metadata in extra:
            self._add_message(thread, role, blocks, at, attachments=attachments, metadata=metadata)

        user_texts = [message_text(m) for m in thread.messages if m["role"] == "user"]
        tool_choice = body.get("tool_choice") if body.get("tool_choice") is not None else "auto"
        run_id = self.new_id("run")
        created = self.clock.unix(at)
        obj: JSON = {
            "id": run_id,
            "object": "thread.run",
            "created_at": created,
            "assistant_id": assistant["id"],
            "thread_id": thread.obj["id"],
            "status": "queued",
            "started_at": None,
            "expires_at": created + int(RUN_TTL_SECONDS),
            "cancelled_at": None,
            "failed_at": None,
            "completed_at": None,
            "required_action": None,
            "last_error": None,
            "model": body.get("model") or assistant["model"],
            "instructions": instructions,
            "tools": tools,
            "tool_resources": {},
            "metadata": dict(body.get("metadata") or {}),
            "temperature": _number(body.get("temperature"), assistant["temperature"]),
            "top_p": _number(body.get("top_p"), assistant["top_p"]),
            "reasoning_effort": body.get("reasoning_effort", assistant.get("reasoning_effort")),
            "max_completion_tokens": body.get("max_completion_tokens"),
            "max_prompt_tokens": body.get("max_prompt_tokens"),
            "truncation_strategy": body.get("truncation_strategy") or {"type": "auto", "last_messages": None},
            "incomplete_details": None,
            "usage": None,
            "response_format": body.get("response_format") or assistant["response_format"],
            "tool_choice": tool_choice,
            "parallel_tool_calls": body.get("parallel_tool_calls", True),
        }
        function = _pick_function(tools, tool_choice)
        run = RunRecord(
            obj=obj,
            thread=thread,
            function=function,
            user_text=user_texts[-1] if user_texts else "",
            context_tokens=count_tokens(" ".join([instructions or "", *map(message_text, thread.messages)])),
            created_clock=at,
            segment="start_tool" if function else "start",
            segment_start=at,
            outcome=outcome_of(str(obj["model"])),
        )
        run.log("thread.run.created", obj)
        run.log("thread.run.queued", obj)
        thread.runs.append(run)
        self.runs[run_id] = run
        return run

    # --- lifecycle ---------------------------------------------------------------------------

    def stages(self, job: RunRecord) -> tuple[Stage[RunRecord] | None, ...]:
        if job.outcome is not None and job.segment.startswith("start"):
            return self._bad_end(job)
        table: dict[str, tuple[Stage[RunRecord] | None, ...]] = {
            "start_tool": (None, self._begin_tool_call, self._require_action),
            "start": (None, self._begin_answer, self._finish),
            "resume": (None, self._begin_answer, self._finish),
            "cancel": (None, self._cancelled),
        }
        return table.get(job.segment, ())

    def _bad_end(self, job: RunRecord) -> tuple[Stage[RunRecord] | None, ...]:
        """The stages of a run whose model asked for a bad end: it begins, then ends that way."""
        if job.outcome == "incomplete":
            return (None, self._begin_answer, self._incomplete)
        begin = self._begin_tool_call if job.segment == "start_tool" else self._begin_answer
        return (None, begin, self._expire if job.outcome == "expire" else self._fail)

    def stream_finished(self, job: RunRecord) -> bool:
        return job.obj["status"] in STREAM_STOPS

    def after_advance(self, job: RunRecord, now: float) -> None:
        expiry = job.created_clock + RUN_TTL_SECONDS
        if job.obj["status"] in ACTIVE and now >= expiry:
            self._expire(job, expiry)

    def _status(self, run: RunRecord, status: str) -> None:
        run.obj["status"] = status
        run.log(f"thread.run.{status}", run.obj)

    def _new_step(self, run: RunRecord, kind: str, details: JSON, at: float) -> JSON:
        step = {
            "id": self.new_id("step"),
            "object": "thread.run.step",
            "created_at": self.clock.unix(at),
            "run_id": run.obj["id"],
            "assistant_id": run.obj["assistant_id"],
            "thread_id": run.obj["thread_id"],
            "type": kind,
            "status": "in_progress",
            "cancelled_at": None,
            "completed_at": None,
            "expires_at": run.obj["expires_at"],
            "failed_at": None,
            "last_error": None,
            "step_details": details,
            "usage": None,
        }
        run.steps.append(step)
        run.log("thread.run.step.created", step)
        run.log("thread.run.step.in_progress", step)
        return step

    def _terminal(self, run: RunRecord) -> None:
        # Real runs and their steps drop the expiry once they are over.
        run.obj["expires_at"] = None
        for step in run.steps:
            step["expires_at"] = None

    def _begin_tool_call(self, run: RunRecord, at: float) -> None:
        run.obj["started_at"] = self.clock.unix(at)
        self._status(run, "in_progress")
        run.tool_step = self._new_step(run, "tool_calls", {"type": "tool_calls", "tool_calls": []}, at)

    def _require_action(self, run: RunRecord, at: float) -> None:
        assert run.function is not None and run.tool_step is not None
        name = run.function["name"]
        arguments = guess_arguments(run.function.get("parameters"), run.user_text)
        call_id = self.new_id("call")
        step = run.tool_step
        step["step_details"]["tool_calls"] = [
            {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments, "output": None}}
        ]
        first = {"index": 0, "id": call_id, "type": "function"}
        run.log("thread.run.step.delta", _step_delta(step, {**first, "function": {**_fn(name, ""), "output": None}}))
        for piece in json_pieces(arguments):
            call = {"index": 0, "type": "function", "function": {"arguments": piece}}
            run.log("thread.run.step.delta", _step_delta(step, call))
        call = {"id": call_id, "type": "function", "function": _fn(name, arguments)}
        run.obj["required_action"] = {"type": "submit_tool_outputs", "submit_tool_outputs": {"tool_calls": [call]}}
        self._status(run, "requires_action")

    def _begin_answer(self, run: RunRecord, at: float) -> None:
        run.obj["started_at"] = self.clock.unix(at)
        self._status(run, "in_progress")
        message = self._add_message(run.thread, "assistant", [], at, run=run)
        run.message = message
        details = {"type": "message_creation", "message_creation": {"message_id": message["id"]}}
        run.message_step = self._new_step(run, "message_creation", details, at)
        run.log("thread.message.created", message)
        run.log("thread.message.in_progress", message)

    def _finish(self, run: RunRecord, at: float) -> None:
        assert run.message is not None
        text = compose_reply(run.user_text, run.outputs)
        self._write_answer(run, text)
        run.message.update(status="completed", completed_at=self.clock.unix(at))
        run.log("thread.message.completed", run.message)
        self._close_answer_step(run, at, text)
        run.obj["completed_at"] = self.clock.unix(at)
        self._terminal(run)
        self._status(run, "completed")

    def _write_answer(self, run: RunRecord, text: str) -> None:
        """Stream ``text`` into the run's message, as deltas, and set it as the message's content."""
        assert run.message is not None
        message = run.message
        for i, piece in enumerate(text_pieces(text)):
            delta_text: JSON = {"value": piece, "annotations": []} if i == 0 else {"value": piece}
            delta = {"content": [{"index": 0, "type": "text", "text": delta_text}]}
            run.log("thread.message.delta", {"id": message["id"], "object": "thread.message.delta", "delta": delta})
        message["content"] = [text_block(text)]

    def _close_answer_step(self, run: RunRecord, at: float, text: str) -> None:
        """The message step completes; the run's usage adds up its steps'."""
        assert run.message_step is not None
        step = run.message_step
        prompt = run.context_tokens + sum(count_tokens(output) for _, output in run.outputs)
        step.update(status="completed", completed_at=self.clock.unix(at), usage=usage(prompt, count_tokens(text)))
        run.log("thread.run.step.completed", step)
        used = [s["usage"] for s in run.steps if s["usage"]]
        run.obj["usage"] = usage(sum(u["prompt_tokens"] for u in used), sum(u["completion_tokens"] for u in used))

    def _incomplete(self, run: RunRecord, at: float) -> None:
        """The answer stops half-way, as when ``max_completion_tokens`` runs out."""
        assert run.message is not None
        pieces = text_pieces(compose_reply(run.user_text, run.outputs))
        text = "".join(pieces[: max(1, len(pieces) // 2)])
        self._write_answer(run, text)
        self._stop_message(run, at, "max_tokens")
        self._close_answer_step(run, at, text)
        run.obj["incomplete_details"] = {"reason": "max_completion_tokens"}
        self._terminal(run)
        self._status(run, "incomplete")

    def _fail(self, run: RunRecord, at: float) -> None:
        """The run and its open step fail with the ``last_error`` its model name chose."""
        error = FAILURES.get(run.outcome or "fail", FAILURES["fail"])
        stamp = self.clock.unix(at)
        for step in run.steps:
            if step["status"] == "in_progress":
                step.update(status="failed", failed_at=stamp, last_error=dict(error))
                run.log("thread.run.step.failed", step)
        self._stop_message(run, at, "run_failed")
        run.obj.update(failed_at=stamp, last_error=dict(error), status="failed")
        self._terminal(run)
        if run.outcome == "stream-error":
            # The stream breaks off with the API's error event; a poll still sees the failed run.
            run.log("error", PROVIDER.stream_error(error["message"]).data)
        else:
            run.log("thread.run.failed", run.obj)

    def _expire(self, run: RunRecord, at: float) -> None:
        for step in run.steps:
            if step["status"] == "in_progress":
                step["status"] = "expired"
                run.log("thread.run.step.expired", step)
        self._stop_message(run, at, "run_expired")
        run.obj.update(status="expired", required_action=None)
        run.begin("final", at)
        run.log("thread.run.expired", run.obj)

    def _stop_message(self, run: RunRecord, at: float, reason: str) -> None:
        """The run's unfinished message becomes ``incomplete`` for ``reason``."""
        message = run.message
        if message is not None and message["status"] == "in_progress":
            details = {"reason": reason}
            message.update(status="incomplete", incomplete_at=self.clock.unix(at), incomplete_details=details)
            run.log("thread.message.incomplete", message)

    def _cancelled(self, run: RunRecord, at: float) -> None:
        stamp = self.clock.unix(at)
        for step in run.steps:
            if step["status"] == "in_progress":
                step.update(status="cancelled", cancelled_at=stamp)
                run.log("thread.run.step.cancelled", step)
        if run.message is not None and run.message["status"] == "in_progress":
            run.message.update(status="incomplete", incomplete_at=stamp, incomplete_details={"reason": "run_cancelled"})
        run.obj.update(cancelled_at=stamp, required_action=None)
        self._terminal(run)
        self._status(run, "cancelled")

    # --- assistants and threads --------------------------------------------------------------

    async def create_assistant(self, request: Request) -> Response:
        body = await read_json(request)
        if not body.get("model"):
            raise missing_parameter("model")
        tools = [self._tool(t) for t in body.get("tools") or []]
        resources: JSON = {}
        if any(t["type"] == "code_interpreter" for t in tools):
            resources["code_interpreter"] = {"file_ids": list(body.get("file_ids") or [])}
        if any(t["type"] == "file_search" for t in tools):
            resources["file_search"] = {"vector_store_ids": []}
        resources.update(body.get("tool_resources") or {})
        with self.lock:
            assistant = {
                "id": self.new_id("assistant"),
                "object": "assistant",
                "created_at": self.clock.unix(self.clock.now()),
                "name": body.get("name"),
                "description": body.get("description"),
                "model": body["model"],
                "instructions": body.get("instructions"),
                "tools": tools,
                "top_p": _number(body.get("top_p"), 1.0),
                "temperature": _number(body.get("temperature"), 1.0),
                "reasoning_effort": body.get("reasoning_effort"),
                "tool_resources": resources,
                "metadata": dict(body.get("metadata") or {}),
                "response_format": body.get("response_format") or "auto",
            }
            self.assistants[assistant["id"]] = assistant
            return self._reply(request, assistant)

    async def retrieve_assistant(self, request: Request) -> Response:
        with self.lock:
            return self._reply(request, self._assistant(request.path_params["assistant_id"]))

    async def modify_assistant(self, request: Request) -> Response:
        body = await read_json(request)
        with self.lock:
            assistant = self._assistant(request.path_params["assistant_id"])
            for key in ("name", "description", "model", "instructions", "metadata", "response_format"):
                if key in body:
                    assistant[key] = body[key]
            if "tools" in body:
                assistant["tools"] = [self._tool(t) for t in body["tools"] or []]
            return self._reply(request, assistant)

    async def list_assistants(self, request: Request) -> Response:
        with self.lock:
            return self._reply(request, list_page(list(self.assistants.values()), request))

    async def delete_assistant(self, request: Request) -> Response:
        with self.lock:
            assistant = self._assistant(request.path_params["assistant_id"])
            del self.assistants[assistant["id"]]
            return self._reply(request, {"id": assistant["id"], "object": "assistant.deleted", "deleted": True})

    async def create_thread(self, request: Request) -> Response:
        body = await read_json(request)
        with self.lock:
            thread = self._new_thread(body, self.clock.now())
            return self._reply(request, thread.obj)

    async def retrieve_thread(self, request: Request) -> Response:
        with self.lock:
            return self._reply(request, self._thread(request.path_params["thread_id"]).obj)

    async def modify_thread(self, request: Request) -> Response:
        body = await read_json(request)
        with self.lock:
            thread = self._thread(request.path_params["thread_id"])
            if "metadata" in body:
                thread.obj["metadata"] = dict(body["metadata"] or {})
            return self._reply(request, thread.obj)

    async def delete_thread(self, request: Request) -> Response:
        with self.lock:
            thread = self._thread(request.path_params["thread_id"])
            del self.threads[thread.obj["id"]]
            for run in thread.runs:
                self.runs.pop(run.obj["id"], None)
            return self._reply(request, {"id": thread.obj["id"], "object": "thread.deleted", "deleted": True})

    async def create_message(self, request: Request) -> Response:
        body = await read_json(request)
        role, blocks, attachments, metadata = self._message_input(body)
        with self.lock:
            thread = self._thread(request.path_params["thread_id"])
            active = next((r for r in thread.runs if r.obj["status"] in ACTIVE), None)
            if active is not None:
                raise ApiError(f"Can't add messages to {thread.obj['id']} while a run {active.obj['id']} is active.")
            at = self.clock.now()
            message = self._add_message(thread, role, blocks, at, attachments=attachments, metadata=metadata)
            return self._reply(request, message)

    async def list_messages(self, request: Request) -> Response:
        with self.lock:
            thread = self._thread(request.path_params["thread_id"])
            run_id = request.query_params.get("run_id")
            items = [m for m in thread.messages if run_id is None or m["run_id"] == run_id]
            return self._reply(request, list_page(items, request))

    async def retrieve_message(self, request: Request) -> Response:
        with self.lock:
            thread = self._thread(request.path_params["thread_id"])
            return self._reply(request, self._message(thread, request.path_params["message_id"]))

    @staticmethod
    def _message(thread: ThreadRecord, message_id: str) -> JSON:
        found = next((m for m in thread.messages if m["id"] == message_id), None)
        if found is None:
            raise ApiError(f"No message found with id '{message_id}'.", status=404)
        return found

    async def delete_message(self, request: Request) -> Response:
        with self.lock:
            thread = self._thread(request.path_params["thread_id"])
            message = self._message(thread, request.path_params["message_id"])
            thread.messages.remove(message)
            return self._reply(request, {"id": message["id"], "object": "thread.message.deleted", "deleted": True})

    # --- runs --------------------------------------------------------------------------------

    async def create_run(self, request: Request) -> Response:
        body = await read_json(request)
        with self.lock:
            thread = self._thread(request.path_params["thread_id"])
            run = self._new_run(thread, self._check_run_request(body), body, self.clock.now())
            if body.get("stream"):
                return self._stream(request, run, 0)
            return self._reply(request, run.obj, is_run=True)

    async def create_thread_and_run(self, request: Request) -> Response:
        body = await read_json(request)
        with self.lock:
            assistant = self._check_run_request(body)
            at = self.clock.now()
            thread = self._new_thread(body.get("thread") or {}, at)
            run = self._new_run(thread, assistant, body, at)
            if body.get("stream"):
                return self._stream(request, run, 0, new_thread=thread.obj)
            return self._reply(request, run.obj, is_run=True)

    async def retrieve_run(self, request: Request) -> Response:
        with self.lock:
            run = self._run(request.path_params["thread_id"], request.path_params["run_id"])
            return self._reply(request, run.obj, is_run=True)

    async def modify_run(self, request: Request) -> Response:
        body = await read_json(request)
        with self.lock:
            run = self._run(request.path_params["thread_id"], request.path_params["run_id"])
            if "metadata" in body:
                run.obj["metadata"] = dict(body["metadata"] or {})
            return self._reply(request, run.obj, is_run=True)

    async def list_runs(self, request: Request) -> Response:
        with self.lock:
            thread = self._thread(request.path_params["thread_id"])
            return self._reply(request, list_page([r.obj for r in thread.runs], request))

    async def submit_tool_outputs(self, request: Request) -> Response:
        body = await read_json(request)
        with self.lock:
            run = self._run(request.path_params["thread_id"], request.path_params["run_id"])
            status = run.obj["status"]
            if status != "requires_action":
                raise ApiError(f'Runs in status "{status}" do not accept tool outputs.')
            outputs = body.get("tool_outputs")
            if not isinstance(outputs, list):
                raise missing_parameter("tool_outputs")
            calls = run.obj["required_action"]["submit_tool_outputs"]["tool_calls"]
            expected = [c["id"] for c in calls]
            given = [o.get("tool_call_id") for o in outputs if isinstance(o, Mapping)]
            if sorted(map(str, given)) != sorted(expected) or len(given) != len(outputs):
                raise ApiError(f"Expected tool outputs for call_ids {expected}, got {given}", param="tool_outputs")
            by_id = {str(o["tool_call_id"]): str(o.get("output") or "") for o in outputs}

            at = self.clock.now()
            start = len(run.events)
            assert run.tool_step is not None
            step = run.tool_step
            for call in step["step_details"]["tool_calls"]:
                call["function"]["output"] = by_id[call["id"]]
            run.outputs = [(c["function"]["name"], by_id[c["id"]]) for c in calls]
            arguments = sum(count_tokens(c["function"]["arguments"]) for c in calls)
            step.update(
                status="completed", completed_at=self.clock.unix(at), usage=usage(run.context_tokens, arguments)
            )
            run.log("thread.run.step.completed", step)
            run.obj["required_action"] = None
            run.begin("resume", at)
            self._status(run, "queued")
            if body.get("stream"):
                return self._stream(request, run, start)
            return self._reply(request, run.obj, is_run=True)

    async def cancel_run(self, request: Request) -> Response:
        with self.lock:
            run = self._run(request.path_params["thread_id"], request.path_params["run_id"])
            status = run.obj["status"]
            if status not in ("queued", "in_progress", "requires_action"):
                raise ApiError(f"Cannot cancel run with status '{status}'.")
            run.begin("cancel", self.clock.now())
            self._status(run, "cancelling")
            return self._reply(request, run.obj, is_run=True)

    async def list_steps(self, request: Request) -> Response:
        with self.lock:
            run = self._run(request.path_params["thread_id"], request.path_params["run_id"])
            return self._reply(request, list_page(run.steps, request))

    async def retrieve_step(self, request: Request) -> Response:
        with self.lock:
            run = self._run(request.path_params["thread_id"], request.path_params["run_id"])
            step_id = request.path_params["step_id"]
            found = next((s for s in run.steps if s["id"] == step_id), None)
            if found is None:
                raise ApiError(f"No run step found with id '{step_id}'.", status=404)
            return self._reply(request, found)


def _is_v1(request: Request) -> bool:
    return "assistants=v1" in request.headers.get("openai-beta", "")


def _number(value: Any, default: Any) -> Any:
    return default if value is None else value


def _fn(name: str, arguments: str) -> JSON:
    return {"name": name, "arguments": arguments}


def _step_delta(step: JSON, call: JSON) -> JSON:
    details = {"type": "tool_calls", "tool_calls": [call]}
    return {"id": step["id"], "object": "thread.run.step.delta", "delta": {"step_details": details}}


def _pick_function(tools: list[JSON], tool_choice: Any) -> JSON | None:
    """The function the emulated model calls: the forced one, else the first, never for "none"."""
    functions = [t["function"] for t in tools if t.get("type") == "function"]
    if tool_choice == "none":
        return None
    if isinstance(tool_choice, Mapping):
        if tool_choice.get("type") != "function":
            return None
        name = (tool_choice.get("function") or {}).get("name")
        return next((f for f in functions if f["name"] == name), {"name": name, "parameters": {}})
    return functions[0] if functions else None


EMULATOR = OpenAIEmulator
