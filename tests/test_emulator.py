"""The local emulator, driven over real 127.0.0.1 sockets by the official SDKs."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import time
from collections.abc import Iterator, Sequence
from typing import Any

import httpx
import openai
import pytest
from cozepy import (
    AsyncCoze,
    AsyncTokenAuth,
    Chat,
    ChatEventType,
    ChatStatus,
    Coze,
    CozeAPIError,
    Message,
    MessageType,
    TokenAuth,
    ToolOutput,
)
from openai import AssistantEventHandler, AsyncAssistantEventHandler
from openai.types.beta import FunctionToolParam
from openai.types.beta.threads import Message as OpenAIMessage
from openai.types.beta.threads import Run
from typing_extensions import override

from runreplay.emulator import COZE_TOOL_FUNCTION, Emulator
from runreplay.engine.clock import VirtualClock, real_sleep
from runreplay.sse import parse_stream

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

PHASE = 0.02
POLL_MS = 10
CONFIGURED_TOOL_BOT = "7379462189365198898"  # numeric, so only coze_tool_bots makes it a tool bot
FUNCTION_TOOL: FunctionToolParam = {
    "type": "function",
    "function": {
        "name": "get_favorite_food_for_day_of_week",
        "description": "gets the user's favorite food for a given day of the week, like Tuesday",
        "parameters": {
            "type": "object",
            "properties": {"day_of_week": {"type": "string", "description": "a day of the week"}},
        },
    },
}
QUESTION = "What should I eat on Thursday?"


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(port=0, phase_seconds=PHASE, coze_tool_bots={CONFIGURED_TOOL_BOT}) as emulator:
        yield emulator


def oai(emulator: Emulator) -> openai.OpenAI:
    return openai.OpenAI(base_url=emulator.url("openai"), api_key="test-key", max_retries=0)


def aoai(emulator: Emulator) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=emulator.url("openai"), api_key="test-key", max_retries=0)


def coze_client(emulator: Emulator) -> Coze:
    return Coze(auth=TokenAuth("test-token"), base_url=emulator.url("coze"))


def acoze_client(emulator: Emulator) -> AsyncCoze:
    return AsyncCoze(auth=AsyncTokenAuth("test-token"), base_url=emulator.url("coze"))


def collapse(names: Sequence[str]) -> list[str]:
    """Event names with runs of the same name folded into one (deltas come in any number)."""
    out: list[str] = []
    for name in names:
        if not out or out[-1] != name:
            out.append(name)
    return out


def text_of(message: OpenAIMessage) -> str:
    block = message.content[0]
    assert block.type == "text"
    return block.text.value


def setup_thread(client: openai.OpenAI, *, tools: bool = True) -> tuple[str, str]:
    assistant = client.beta.assistants.create(
        model="gpt-4o", tools=[FUNCTION_TOOL] if tools else [], instructions=None if tools else "Be brief."
    )
    thread = client.beta.threads.create()
    client.beta.threads.messages.create(thread_id=thread.id, role="user", content=QUESTION)
    return assistant.id, thread.id


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


# --- OpenAI: polling helpers ---------------------------------------------------------------------


def test_openai_function_tool_flow(emu: Emulator) -> None:
    client = oai(emu)
    assistant_id, thread_id = setup_thread(client)
    runs = client.beta.threads.runs

    run = runs.create_and_poll(thread_id=thread_id, assistant_id=assistant_id, poll_interval_ms=POLL_MS)
    assert run.status == "requires_action"
    assert run.required_action is not None
    [call] = run.required_action.submit_tool_outputs.tool_calls
    assert call.id.startswith("call_")
    assert call.function.name == "get_favorite_food_for_day_of_week"
    assert json.loads(call.function.arguments) == {"day_of_week": "Thursday"}

    done = runs.submit_tool_outputs_and_poll(
        thread_id=thread_id,
        run_id=run.id,
        tool_outputs=[{"tool_call_id": call.id, "output": "tacos"}],
        poll_interval_ms=POLL_MS,
    )
    assert done.id == run.id
    assert done.status == "completed"
    assert done.completed_at is not None and done.required_action is None
    assert done.usage is not None and done.usage.total_tokens > 0

    steps = list(runs.steps.list(thread_id=thread_id, run_id=run.id, order="asc"))
    assert [s.type for s in steps] == ["tool_calls", "message_creation"]
    assert all(s.status == "completed" for s in steps)
    tool_step = steps[0].step_details
    assert tool_step.type == "tool_calls"
    assert tool_step.tool_calls[0].id == call.id
    assert tool_step.tool_calls[0].type == "function"
    assert tool_step.tool_calls[0].function.output == "tacos"

    messages = list(client.beta.threads.messages.list(thread_id=thread_id))
    assert [m.role for m in messages] == ["assistant", "user"]  # default order: newest first
    reply = messages[0]
    assert reply.run_id == run.id and reply.assistant_id == assistant_id
    assert steps[1].step_details.type == "message_creation"
    assert steps[1].step_details.message_creation.message_id == reply.id
    assert reply.content[0].type == "text"
    assert "tacos" in text_of(reply)


def test_openai_run_without_tools_completes(emu: Emulator) -> None:
    client = oai(emu)
    assistant_id, thread_id = setup_thread(client, tools=False)
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread_id, assistant_id=assistant_id, poll_interval_ms=POLL_MS
    )
    assert run.status == "completed"
    assert run.instructions == "Be brief."
    steps = list(client.beta.threads.runs.steps.list(thread_id=thread_id, run_id=run.id))
    assert [s.type for s in steps] == ["message_creation"]
    [reply] = list(client.beta.threads.messages.list(thread_id=thread_id, run_id=run.id))
    assert reply.status == "completed"
    assert QUESTION in text_of(reply)


def test_openai_cancel(emu: Emulator) -> None:
    client = oai(emu)
    assistant_id, thread_id = setup_thread(client)
    run = client.beta.threads.runs.create(thread_id=thread_id, assistant_id=assistant_id)
    cancelling = client.beta.threads.runs.cancel(thread_id=thread_id, run_id=run.id)
    assert cancelling.status == "cancelling"
    final = client.beta.threads.runs.poll(run.id, thread_id=thread_id, poll_interval_ms=POLL_MS)
    assert final.status == "cancelled"
    assert final.cancelled_at is not None
    with pytest.raises(openai.BadRequestError, match="Cannot cancel run with status 'cancelled'"):
        client.beta.threads.runs.cancel(thread_id=thread_id, run_id=run.id)


def test_openai_modify_run_metadata(emu: Emulator) -> None:
    client = oai(emu)
    assistant_id, thread_id = setup_thread(client, tools=False)
    run = client.beta.threads.runs.create(thread_id=thread_id, assistant_id=assistant_id, metadata={"a": "1"})
    assert run.metadata == {"a": "1"}
    updated = client.beta.threads.runs.update(run.id, thread_id=thread_id, metadata={"a": "1", "modified": "yes"})
    assert updated.metadata == {"a": "1", "modified": "yes"}
    assert client.beta.threads.runs.retrieve(run.id, thread_id=thread_id).metadata == updated.metadata


def test_openai_assistant_and_thread_housekeeping(emu: Emulator) -> None:
    client = oai(emu)
    assistant = client.beta.assistants.create(model="gpt-4o", name="helper", tools=[{"type": "code_interpreter"}])
    assert client.beta.assistants.retrieve(assistant.id).name == "helper"
    assert assistant.tool_resources is not None and assistant.tool_resources.code_interpreter is not None
    assert assistant.id in [a.id for a in client.beta.assistants.list(limit=100)]
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "hi"}], metadata={"k": "v"})
    assert client.beta.threads.retrieve(thread.id).metadata == {"k": "v"}
    assert client.beta.threads.delete(thread.id).deleted is True
    assert client.beta.assistants.delete(assistant.id).deleted is True
    with pytest.raises(openai.NotFoundError):
        client.beta.threads.retrieve(thread.id)


def test_openai_list_runs_pagination(emu: Emulator) -> None:
    client = oai(emu)
    assistant_id, thread_id = setup_thread(client, tools=False)
    runs = client.beta.threads.runs
    created = [
        runs.create_and_poll(thread_id=thread_id, assistant_id=assistant_id, poll_interval_ms=POLL_MS).id
        for _ in range(3)
    ]

    first = runs.list(thread_id=thread_id, limit=2)
    assert [r.id for r in first.data] == created[::-1][:2]
    assert first.has_more is True
    second = runs.list(thread_id=thread_id, limit=2, after=first.data[-1].id)
    assert [r.id for r in second.data] == [created[0]]
    assert second.has_more is False

    assert [r.id for r in runs.list(thread_id=thread_id, order="asc")] == created
    assert [r.id for r in runs.list(thread_id=thread_id, order="asc", before=created[2])] == created[:2]
    # The SDK's auto-pagination follows after= cursors through every page.
    assert [r.id for r in runs.list(thread_id=thread_id, limit=1)] == created[::-1]

    raw = httpx.get(f"{emu.url('openai')}/threads/{thread_id}/runs", params={"limit": 1}).json()
    assert raw["object"] == "list"
    assert raw["first_id"] == raw["last_id"] == created[-1]
    assert raw["has_more"] is True


def test_openai_retrieve_step(emu: Emulator) -> None:
    client = oai(emu)
    assistant_id, thread_id = setup_thread(client, tools=False)
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread_id, assistant_id=assistant_id, poll_interval_ms=POLL_MS
    )
    [listed] = list(client.beta.threads.runs.steps.list(thread_id=thread_id, run_id=run.id, limit=1))
    step = client.beta.threads.runs.steps.retrieve(listed.id, thread_id=thread_id, run_id=run.id)
    assert step.id == listed.id
    assert step.object == "thread.run.step"
    assert step.run_id == run.id and step.thread_id == thread_id
    assert step.usage is not None and step.usage.completion_tokens > 0


def test_openai_errors() -> None:
    clock = ManualClock()  # the run stays queued until the clock moves: no timing races
    with Emulator(phase_seconds=1.0, clock=clock) as emulator:
        client = oai(emulator)
        assistant_id, thread_id = setup_thread(client)

        with pytest.raises(openai.NotFoundError) as missing_thread:
            client.beta.threads.runs.retrieve("run_nope", thread_id="thread_nope")
        assert missing_thread.value.response.json() == {
            "error": {
                "message": "No thread found with id 'thread_nope'.",
                "type": "invalid_request_error",
                "param": None,
                "code": None,
            }
        }
        with pytest.raises(openai.NotFoundError, match="No run found with id 'run_nope'"):
            client.beta.threads.runs.retrieve("run_nope", thread_id=thread_id)
        with pytest.raises(openai.NotFoundError, match="No assistant found"):
            client.beta.threads.runs.create(thread_id=thread_id, assistant_id="asst_nope")

        run = client.beta.threads.runs.create(thread_id=thread_id, assistant_id=assistant_id)
        with pytest.raises(openai.BadRequestError) as too_early:
            client.beta.threads.runs.submit_tool_outputs(
                run.id, thread_id=thread_id, tool_outputs=[{"tool_call_id": "call_x", "output": "x"}]
            )
        assert too_early.value.response.json()["error"] == {
            "message": 'Runs in status "queued" do not accept tool outputs.',
            "type": "invalid_request_error",
            "param": None,
            "code": None,
        }
        with pytest.raises(openai.BadRequestError, match="already has an active run"):
            client.beta.threads.runs.create(thread_id=thread_id, assistant_id=assistant_id)
        with pytest.raises(openai.BadRequestError, match=r"while a run .* is active"):
            client.beta.threads.messages.create(thread_id=thread_id, role="user", content="more")

        clock.advance(2.0)
        assert client.beta.threads.runs.retrieve(run.id, thread_id=thread_id).status == "requires_action"
        with pytest.raises(openai.BadRequestError, match="Expected tool outputs for call_ids"):
            client.beta.threads.runs.submit_tool_outputs(
                run.id, thread_id=thread_id, tool_outputs=[{"tool_call_id": "call_wrong", "output": "x"}]
            )

        empty = client.beta.threads.create()
        with pytest.raises(openai.BadRequestError) as no_message:
            client.beta.threads.runs.create(thread_id=empty.id, assistant_id=assistant_id)
        assert no_message.value.code == "invalid_thread"

        unknown = httpx.get(f"{emulator.url('openai')}/no/such/path")
        assert unknown.status_code == 404
        assert unknown.json()["error"]["message"] == "Invalid URL (GET /v1/no/such/path)"


def test_openai_v1_shapes(emu: Emulator) -> None:
    headers = {"OpenAI-Beta": "assistants=v1"}
    base = emu.url("openai")
    assistant = httpx.post(f"{base}/assistants", json={"model": "gpt-4", "instructions": "hi"}, headers=headers)
    body = assistant.json()
    assert body["file_ids"] == [] and "tool_resources" not in body
    thread = httpx.post(f"{base}/threads", json={}, headers=headers).json()
    assert "tool_resources" not in thread and "file_ids" not in thread
    run = httpx.post(f"{base}/threads/{thread['id']}/runs", json={"assistant_id": body["id"]}, headers=headers).json()
    assert run["file_ids"] == []
    assert "tool_resources" not in run and "parallel_tool_calls" not in run
    v2 = httpx.get(f"{base}/threads/{thread['id']}/runs/{run['id']}").json()
    assert v2["tool_resources"] == {} and v2["parallel_tool_calls"] is True and "file_ids" not in v2


def test_openai_poll_after_header() -> None:
    with Emulator(phase_seconds=PHASE, poll_after_ms=5) as emulator:
        client = oai(emulator)
        assistant_id, thread_id = setup_thread(client, tools=False)
        raw = client.beta.threads.runs.with_raw_response.create(thread_id=thread_id, assistant_id=assistant_id)
        assert raw.headers["openai-poll-after-ms"] == "5"
        started = time.perf_counter()
        # Without poll_interval_ms the SDK sleeps for the header's value, not a whole second.
        run = client.beta.threads.runs.poll(raw.parse().id, thread_id=thread_id)
        assert run.status == "completed"
        assert time.perf_counter() - started < 0.9
        messages = client.beta.threads.messages.with_raw_response.list(thread_id=thread_id)
        assert "openai-poll-after-ms" not in messages.headers


def test_lifecycle_follows_the_injected_clock() -> None:
    clock = ManualClock()
    with Emulator(phase_seconds=1.0, clock=clock, coze_tool_bots={"b1"}) as emulator:
        client = oai(emulator)
        assistant_id, thread_id = setup_thread(client)
        run = client.beta.threads.runs.create(thread_id=thread_id, assistant_id=assistant_id)
        seen = [run.status]
        for _ in range(2):
            seen.append(client.beta.threads.runs.retrieve(run.id, thread_id=thread_id).status)
            clock.advance(1.0)
        seen.append(client.beta.threads.runs.retrieve(run.id, thread_id=thread_id).status)
        assert seen == ["queued", "queued", "in_progress", "requires_action"]
        clock.advance(599.0)
        assert client.beta.threads.runs.retrieve(run.id, thread_id=thread_id).status == "expired"

        coze = coze_client(emulator)
        chat = coze.chat.create(bot_id="b1", user_id="u", additional_messages=[Message.build_user_question_text("hi")])
        assert chat.status == ChatStatus.IN_PROGRESS
        assert coze.chat.retrieve(conversation_id=chat.conversation_id, chat_id=chat.id).status == "in_progress"
        clock.advance(1.0)
        assert coze.chat.retrieve(conversation_id=chat.conversation_id, chat_id=chat.id).status == "requires_action"


# --- OpenAI: streaming -----------------------------------------------------------------------------


class RecordingHandler(AssistantEventHandler):
    def __init__(self) -> None:
        super().__init__()
        self.events: list[str] = []
        self.tool_calls: list[str] = []
        self.text = ""

    @override
    def on_event(self, event: Any) -> None:
        self.events.append(event.event)

    @override
    def on_tool_call_created(self, tool_call: Any) -> None:
        self.tool_calls.append(tool_call.function.name)

    @override
    def on_text_delta(self, delta: Any, snapshot: Any) -> None:
        self.text += delta.value or ""


def test_openai_stream_handler_then_submit_stream(emu: Emulator) -> None:
    client = oai(emu)
    assistant_id, thread_id = setup_thread(client)
    runs = client.beta.threads.runs

    handler = RecordingHandler()
    with runs.stream(thread_id=thread_id, assistant_id=assistant_id, event_handler=handler) as stream:
        stream.until_done()
        run = stream.current_run
    assert run is not None and run.status == "requires_action"
    assert handler.tool_calls == ["get_favorite_food_for_day_of_week"]
    assert collapse(handler.events) == [
        "thread.run.created",
        "thread.run.queued",
        "thread.run.in_progress",
        "thread.run.step.created",
        "thread.run.step.in_progress",
        "thread.run.step.delta",
        "thread.run.requires_action",
    ]
    assert handler.events.count("thread.run.step.delta") > 2  # arguments arrive in pieces
    # The stream and a later read agree.
    assert runs.retrieve(run.id, thread_id=thread_id).required_action == run.required_action

    assert run.required_action is not None
    [call] = run.required_action.submit_tool_outputs.tool_calls
    after = RecordingHandler()
    with runs.submit_tool_outputs_stream(
        thread_id=thread_id,
        run_id=run.id,
        tool_outputs=[{"tool_call_id": call.id, "output": "sushi"}],
        event_handler=after,
    ) as stream:
        stream.until_done()
        final = stream.get_final_run()
        [message] = stream.get_final_messages()
        final_steps = stream.get_final_run_steps()
    assert collapse(after.events) == [
        "thread.run.step.completed",
        "thread.run.queued",
        "thread.run.in_progress",
        "thread.run.step.created",
        "thread.run.step.in_progress",
        "thread.message.created",
        "thread.message.in_progress",
        "thread.message.delta",
        "thread.message.completed",
        "thread.run.step.completed",
        "thread.run.completed",
    ]
    assert after.events.count("thread.message.delta") > 2
    assert final.status == "completed"
    assert "sushi" in after.text
    assert text_of(message) == after.text

    stored = runs.retrieve(run.id, thread_id=thread_id)
    assert stored.model_dump() == final.model_dump()
    [listed] = list(client.beta.threads.messages.list(thread_id=thread_id, run_id=run.id))
    assert listed.model_dump() == message.model_dump()
    listed_steps = list(runs.steps.list(thread_id=thread_id, run_id=run.id, order="asc"))
    assert {s.id for s in final_steps} <= {s.id for s in listed_steps}


def test_openai_create_stream_true_event_order(emu: Emulator) -> None:
    client = oai(emu)
    assistant_id, thread_id = setup_thread(client, tools=False)
    events = list(client.beta.threads.runs.create(thread_id=thread_id, assistant_id=assistant_id, stream=True))
    names = [e.event for e in events]
    assert collapse(names) == [
        "thread.run.created",
        "thread.run.queued",
        "thread.run.in_progress",
        "thread.run.step.created",
        "thread.run.step.in_progress",
        "thread.message.created",
        "thread.message.in_progress",
        "thread.message.delta",
        "thread.message.completed",
        "thread.run.step.completed",
        "thread.run.completed",
    ]
    final = events[-1].data
    assert isinstance(final, Run)
    assert final.status == "completed"
    stored = client.beta.threads.runs.retrieve(final.id, thread_id=thread_id)
    assert stored.status == "completed" and stored.usage == final.usage


def test_openai_create_and_run_stream(emu: Emulator) -> None:
    client = oai(emu)
    assistant = client.beta.assistants.create(model="gpt-4o", tools=[FUNCTION_TOOL])
    with client.beta.threads.create_and_run_stream(
        assistant_id=assistant.id, thread={"messages": [{"role": "user", "content": QUESTION}]}
    ) as stream:
        events = list(stream)
    assert events[0].event == "thread.created"
    assert events[-1].event == "thread.run.requires_action"
    thread_id = events[0].data.id
    run = events[-1].data
    assert isinstance(run, Run)
    assert run.thread_id == thread_id
    stored = client.beta.threads.runs.retrieve(run.id, thread_id=thread_id)
    assert stored.status == "requires_action"
    assert stored.required_action == run.required_action
    # create_and_run without streaming answers with the queued run.
    plain = client.beta.threads.create_and_run(
        assistant_id=assistant.id, thread={"messages": [{"role": "user", "content": "hi"}]}
    )
    assert plain.status == "queued"


def test_openai_raw_sse_framing(emu: Emulator) -> None:
    client = oai(emu)
    assistant_id, thread_id = setup_thread(client)
    arrivals: list[float] = []
    chunks: list[bytes] = []
    url = f"{emu.url('openai')}/threads/{thread_id}/runs"
    with httpx.stream("POST", url, json={"assistant_id": assistant_id, "stream": True}) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        for chunk in response.iter_bytes():
            arrivals.append(time.perf_counter())
            chunks.append(chunk)
    raw = b"".join(chunks)
    # Really streamed: the run needs two phases to reach requires_action.
    assert arrivals[-1] - arrivals[0] >= PHASE
    assert raw.startswith(b"event: thread.run.created\ndata: {")
    assert raw.endswith(b"event: done\ndata: [DONE]\n\n")
    blocks = raw.decode().split("\n\n")[:-1]
    assert all(re.fullmatch(r"event: [a-z._]+\ndata: \S.*", block) for block in blocks)
    events, framing = parse_stream(raw)
    assert framing.space_after_colon is True
    assert [e.event for e in events][-2:] == ["thread.run.requires_action", "done"]
    assert all(e.data_is_json for e in events[:-1])
    run = events[-2].data
    call_id = run["required_action"]["submit_tool_outputs"]["tool_calls"][0]["id"]

    submit = f"{url}/{run['id']}/submit_tool_outputs"
    body = {"tool_outputs": [{"tool_call_id": call_id, "output": "x"}], "stream": True}
    raw = httpx.post(submit, json=body).content
    assert raw.startswith(b"event: thread.run.step.completed\ndata: {")
    assert raw.endswith(b"}\n\nevent: done\ndata: [DONE]\n\n")
    events, _ = parse_stream(raw)
    assert [e.event for e in events][-2:] == ["thread.run.completed", "done"]
    assert events[-2].data["id"] == run["id"] and events[-2].data["status"] == "completed"


# --- OpenAI: async -----------------------------------------------------------------------------------


async def test_openai_async_polling_flow(emu: Emulator) -> None:
    client = aoai(emu)
    assistant = await client.beta.assistants.create(model="gpt-4o", tools=[FUNCTION_TOOL])
    thread = await client.beta.threads.create(messages=[{"role": "user", "content": QUESTION}])
    runs = client.beta.threads.runs
    run = await runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=POLL_MS)
    assert run.status == "requires_action" and run.required_action is not None
    [call] = run.required_action.submit_tool_outputs.tool_calls
    done = await runs.submit_tool_outputs_and_poll(
        thread_id=thread.id,
        run_id=run.id,
        tool_outputs=[{"tool_call_id": call.id, "output": "pizza"}],
        poll_interval_ms=POLL_MS,
    )
    assert done.status == "completed"
    steps = [s async for s in runs.steps.list(thread_id=thread.id, run_id=run.id, order="asc")]
    assert [s.type for s in steps] == ["tool_calls", "message_creation"]
    messages = [m async for m in client.beta.threads.messages.list(thread_id=thread.id, order="asc")]
    assert [m.role for m in messages] == ["user", "assistant"]
    assert "pizza" in text_of(messages[1])

    cancel_me = await runs.create(thread_id=thread.id, assistant_id=assistant.id)
    assert (await runs.cancel(cancel_me.id, thread_id=thread.id)).status == "cancelling"
    assert (await runs.poll(cancel_me.id, thread_id=thread.id, poll_interval_ms=POLL_MS)).status == "cancelled"


class AsyncRecordingHandler(AsyncAssistantEventHandler):
    def __init__(self) -> None:
        super().__init__()
        self.events: list[str] = []
        self.text = ""

    @override
    async def on_event(self, event: Any) -> None:
        self.events.append(event.event)

    @override
    async def on_text_delta(self, delta: Any, snapshot: Any) -> None:
        self.text += delta.value or ""


async def test_openai_async_streaming(emu: Emulator) -> None:
    client = aoai(emu)
    assistant = await client.beta.assistants.create(model="gpt-4o", tools=[FUNCTION_TOOL])
    thread = await client.beta.threads.create(messages=[{"role": "user", "content": QUESTION}])
    runs = client.beta.threads.runs

    async with runs.stream(thread_id=thread.id, assistant_id=assistant.id) as stream:
        await stream.until_done()
        run = stream.current_run
    assert run is not None and run.status == "requires_action" and run.required_action is not None
    [call] = run.required_action.submit_tool_outputs.tool_calls

    handler = AsyncRecordingHandler()
    async with runs.submit_tool_outputs_stream(
        thread_id=thread.id,
        run_id=run.id,
        tool_outputs=[{"tool_call_id": call.id, "output": "ramen"}],
        event_handler=handler,
    ) as stream:
        final = await stream.get_final_run()
    assert final.status == "completed"
    assert handler.events[-1] == "thread.run.completed"
    assert "ramen" in handler.text

    events = [e.event async for e in await runs.create(thread_id=thread.id, assistant_id=assistant.id, stream=True)]
    assert events[0] == "thread.run.created" and events[-1] == "thread.run.requires_action"


# --- Coze ------------------------------------------------------------------------------------------------


def question(text: str = "What is the weather in Paris?") -> list[Message]:
    return [Message.build_user_question_text(text)]


def test_coze_create_and_poll_plain_bot(emu: Emulator) -> None:
    coze = coze_client(emu)
    # cozepy polls with a fixed time.sleep(1): keep the number of these tests small.
    result = coze.chat.create_and_poll(bot_id="plain-bot", user_id="u1", additional_messages=question())
    assert result.chat.status == ChatStatus.COMPLETED
    assert result.chat.usage is not None and result.chat.usage.token_count > 0
    assert result.messages is not None
    kinds = [m.type for m in result.messages]
    assert kinds == [MessageType.ANSWER, MessageType.VERBOSE, MessageType.FOLLOW_UP]
    assert "Paris" in result.messages[0].content


def test_coze_create_and_poll_tool_bot(emu: Emulator) -> None:
    coze = coze_client(emu)
    result = coze.chat.create_and_poll(bot_id=CONFIGURED_TOOL_BOT, user_id="u1", additional_messages=question())
    chat = result.chat
    assert chat.status == ChatStatus.REQUIRES_ACTION
    assert chat.required_action is not None and chat.required_action.submit_tool_outputs is not None
    [call] = chat.required_action.submit_tool_outputs.tool_calls
    assert call.function is not None and call.function.name == COZE_TOOL_FUNCTION["name"]
    assert json.loads(call.function.arguments) == {"location": "Paris"}

    submitted = coze.chat.submit_tool_outputs(
        conversation_id=chat.conversation_id,
        chat_id=chat.id,
        tool_outputs=[ToolOutput(tool_call_id=call.id, output="sunny, 24C")],
        stream=False,
    )
    assert isinstance(submitted, Chat) and submitted.status == ChatStatus.IN_PROGRESS
    deadline = time.perf_counter() + 5
    while chat.status != ChatStatus.COMPLETED and time.perf_counter() < deadline:
        time.sleep(PHASE / 2)
        chat = coze.chat.retrieve(conversation_id=chat.conversation_id, chat_id=chat.id)
    assert chat.status == ChatStatus.COMPLETED

    messages = coze.chat.messages.list(conversation_id=chat.conversation_id, chat_id=chat.id)
    kinds = [m.type for m in messages]
    assert kinds == ["function_call", "tool_response", "answer", "verbose", "follow_up"]
    assert messages[1].content == "sunny, 24C"
    assert "sunny, 24C" in messages[2].content
    assert all(m.chat_id == chat.id and m.conversation_id == chat.conversation_id for m in messages)


def test_coze_stream_events_in_order(emu: Emulator) -> None:
    coze = coze_client(emu)
    events = list(coze.chat.stream(bot_id="plain-bot", user_id="u1", additional_messages=question()))
    names = [e.event for e in events]
    assert collapse(names) == [
        ChatEventType.CONVERSATION_CHAT_CREATED,
        ChatEventType.CONVERSATION_CHAT_IN_PROGRESS,
        ChatEventType.CONVERSATION_MESSAGE_DELTA,
        ChatEventType.CONVERSATION_MESSAGE_COMPLETED,
        ChatEventType.CONVERSATION_CHAT_COMPLETED,
    ]
    deltas = [e.message.content for e in events if e.event == "conversation.message.delta" and e.message]
    completed = [e.message for e in events if e.event == "conversation.message.completed" and e.message]
    assert len(deltas) > 2
    assert completed[0].type == "answer" and completed[0].content == "".join(deltas)
    assert [m.type for m in completed[1:]] == ["verbose", "follow_up"]
    chat = events[-1].chat
    assert chat is not None
    stored = coze.chat.retrieve(conversation_id=chat.conversation_id, chat_id=chat.id)
    assert stored.status == ChatStatus.COMPLETED and stored.usage == chat.usage


def test_coze_stream_tool_bot_then_streamed_submit(emu: Emulator) -> None:
    coze = coze_client(emu)
    events = list(coze.chat.stream(bot_id="weather-tool-bot", user_id="u1", additional_messages=question()))
    assert [e.event for e in events] == [
        ChatEventType.CONVERSATION_CHAT_CREATED,
        ChatEventType.CONVERSATION_CHAT_IN_PROGRESS,
        ChatEventType.CONVERSATION_MESSAGE_COMPLETED,
        ChatEventType.CONVERSATION_CHAT_REQUIRES_ACTION,
    ]
    assert events[2].message is not None and events[2].message.type == MessageType.FUNCTION_CALL
    chat = events[-1].chat
    assert chat is not None and chat.required_action is not None
    assert chat.required_action.submit_tool_outputs is not None
    [call] = chat.required_action.submit_tool_outputs.tool_calls

    stream = coze.chat.submit_tool_outputs(
        conversation_id=chat.conversation_id,
        chat_id=chat.id,
        tool_outputs=[ToolOutput(tool_call_id=call.id, output="rainy")],
        stream=True,
    )
    after = list(stream)
    assert collapse([e.event for e in after]) == [
        ChatEventType.CONVERSATION_CHAT_IN_PROGRESS,
        ChatEventType.CONVERSATION_MESSAGE_COMPLETED,
        ChatEventType.CONVERSATION_MESSAGE_DELTA,
        ChatEventType.CONVERSATION_MESSAGE_COMPLETED,
        ChatEventType.CONVERSATION_CHAT_COMPLETED,
    ]
    completed = [e.message for e in after if e.event == "conversation.message.completed" and e.message]
    assert [m.type for m in completed] == ["tool_response", "answer", "verbose", "follow_up"]
    assert "rainy" in completed[1].content
    assert after[-1].chat is not None and after[-1].chat.id == chat.id


def test_coze_cancel_and_retrieve_both_methods(emu: Emulator) -> None:
    coze = coze_client(emu)
    # A tool bot waits in requires_action, so it is still cancellable however slow this test runs.
    chat = coze.chat.create(bot_id="tool-bot", user_id="u1", additional_messages=question())
    assert chat.status == ChatStatus.IN_PROGRESS
    canceled = coze.chat.cancel(conversation_id=chat.conversation_id, chat_id=chat.id)
    assert canceled.status == ChatStatus.CANCELED
    # cozepy retrieves with POST; coze-go and the docs use GET.
    assert coze.chat.retrieve(conversation_id=chat.conversation_id, chat_id=chat.id).status == "canceled"
    params = {"conversation_id": chat.conversation_id, "chat_id": chat.id}
    got = httpx.get(f"{emu.url('coze')}/v3/chat/retrieve", params=params)
    assert got.status_code == 200
    body = got.json()
    assert body["code"] == 0 and body["msg"] == "" and body["data"]["status"] == "canceled"
    assert body["detail"]["logid"] == got.headers["x-tt-logid"]
    with pytest.raises(CozeAPIError) as again:
        coze.chat.cancel(conversation_id=chat.conversation_id, chat_id=chat.id)
    assert again.value.code == 4104

    listed = httpx.get(f"{emu.url('coze')}/v3/chat/message/list", params=params).json()
    assert listed["code"] == 0
    assert {m["type"] for m in listed["data"]} <= {"function_call"}
    posted = httpx.post(f"{emu.url('coze')}/v3/chat/message/list", params=params).json()
    assert posted["data"] == listed["data"]


def test_coze_chat_in_a_created_conversation(emu: Emulator) -> None:
    coze = coze_client(emu)
    conversation = coze.conversations.create(meta_data={"topic": "weather"})
    assert coze.conversations.retrieve(conversation_id=conversation.id).meta_data == {"topic": "weather"}
    events = list(
        coze.chat.stream(
            bot_id="plain-bot", user_id="u1", conversation_id=conversation.id, additional_messages=question()
        )
    )
    chat = events[-1].chat
    assert chat is not None and chat.conversation_id == conversation.id
    assert chat.status == ChatStatus.COMPLETED


def test_coze_errors(emu: Emulator) -> None:
    coze = coze_client(emu)
    with pytest.raises(CozeAPIError) as unknown:
        coze.chat.retrieve(conversation_id="1", chat_id="2")
    assert unknown.value.code == 4200
    missing = httpx.post(f"{emu.url('coze')}/v3/chat", json={"user_id": "u"})
    assert missing.status_code == 200  # Coze reports errors in the body
    assert missing.json()["code"] == 4000 and "bot_id" in missing.json()["msg"]
    chat = coze.chat.create(bot_id="plain-bot", user_id="u1", additional_messages=question())
    with pytest.raises(CozeAPIError) as not_waiting:
        coze.chat.submit_tool_outputs(
            conversation_id=chat.conversation_id,
            chat_id=chat.id,
            tool_outputs=[ToolOutput(tool_call_id="x", output="y")],
            stream=False,
        )
    assert not_waiting.value.code == 4000


def test_coze_raw_sse_framing(emu: Emulator) -> None:
    body = {
        "bot_id": "plain-bot",
        "user_id": "u1",
        "stream": True,
        "additional_messages": [{"role": "user", "content": "你好", "content_type": "text"}],
    }
    with httpx.stream("POST", f"{emu.url('coze')}/v3/chat", json=body) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        raw = response.read()
    assert raw.startswith(b"event:conversation.chat.created\ndata:{")
    assert raw.endswith(b'event:done\ndata:"[DONE]"\n\n')
    assert b"event: " not in raw and b"data: " not in raw
    assert "你好".encode() in raw  # non-ASCII is written as UTF-8, like Coze does
    blocks = raw.decode().split("\n\n")[:-1]
    assert all(re.fullmatch(r"event:[a-z._]+\ndata:\S.*", block) for block in blocks)
    events, framing = parse_stream(raw)
    assert framing.space_after_colon is False
    assert events[-1].event == "done" and events[-1].data == "[DONE]" and events[-1].data_is_json


async def test_coze_async_flow(emu: Emulator) -> None:
    coze = acoze_client(emu)
    events = [e async for e in coze.chat.stream(bot_id="tool-bot", user_id="u1", additional_messages=question())]
    assert events[-1].event == ChatEventType.CONVERSATION_CHAT_REQUIRES_ACTION
    chat = events[-1].chat
    assert chat is not None and chat.required_action is not None
    assert chat.required_action.submit_tool_outputs is not None
    [call] = chat.required_action.submit_tool_outputs.tool_calls
    after = [
        e
        async for e in coze.chat.submit_tool_outputs_stream(
            conversation_id=chat.conversation_id,
            chat_id=chat.id,
            tool_outputs=[ToolOutput(tool_call_id=call.id, output="foggy")],
        )
    ]
    assert after[-1].event == ChatEventType.CONVERSATION_CHAT_COMPLETED
    stored = await coze.chat.retrieve(conversation_id=chat.conversation_id, chat_id=chat.id)
    assert stored.status == ChatStatus.COMPLETED
    messages = await coze.chat.messages.list(conversation_id=chat.conversation_id, chat_id=chat.id)
    assert [m.type for m in messages][:3] == ["function_call", "tool_response", "answer"]

    # A second chat in the same conversation, created, cancelled and submitted to without streaming.
    second = await coze.chat.create(
        bot_id="tool-bot", user_id="u1", conversation_id=chat.conversation_id, additional_messages=question()
    )
    assert second.conversation_id == chat.conversation_id
    assert (await coze.chat.cancel(conversation_id=second.conversation_id, chat_id=second.id)).status == "canceled"
    third = await coze.chat.create(bot_id="tool-bot", user_id="u1", additional_messages=question("Weather in Rome?"))
    while third.status == ChatStatus.IN_PROGRESS:
        await asyncio.sleep(PHASE / 2)
        third = await coze.chat.retrieve(conversation_id=third.conversation_id, chat_id=third.id)
    assert third.status == ChatStatus.REQUIRES_ACTION and third.required_action is not None
    assert third.required_action.submit_tool_outputs is not None
    [call] = third.required_action.submit_tool_outputs.tool_calls
    assert json.loads(call.function.arguments if call.function else "{}") == {"location": "Rome"}
    submitted = await coze.chat.submit_tool_outputs(
        conversation_id=third.conversation_id,
        chat_id=third.id,
        tool_outputs=[ToolOutput(tool_call_id=call.id, output="warm")],
    )
    assert submitted.status == ChatStatus.IN_PROGRESS


# --- the server -----------------------------------------------------------------------------------------


def _outward_ip() -> str | None:
    """This machine's non-loopback address, if it has one (no packet is sent)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("10.255.255.255", 1))
        address = str(probe.getsockname()[0])
    except OSError:
        return None
    finally:
        probe.close()
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def test_binds_loopback_only(emulator: Emulator) -> None:
    assert emulator.bound_address == ("127.0.0.1", emulator.port)
    assert emulator.base_url == f"http://127.0.0.1:{emulator.port}"
    assert emulator.url("openai") == emulator.base_url + "/v1"
    assert emulator.url("coze") == emulator.base_url
    outward = _outward_ip()
    if outward is not None:
        with pytest.raises(OSError), socket.create_connection((outward, emulator.port), timeout=1):
            pass


def test_start_and_stop_quickly_many_times() -> None:
    emulator = Emulator(port=0, phase_seconds=PHASE)
    port = None
    started = time.perf_counter()
    for _ in range(4):
        emulator.start()
        assert emulator.running
        port = port or emulator.port
        response = httpx.get(f"{emulator.base_url}/v1/threads/thread_x")
        assert response.status_code == 404
        emulator.stop()
        assert not emulator.running
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{emulator.base_url}/v1/threads/thread_x")
    emulator.stop()  # stopping twice is harmless
    assert time.perf_counter() - started < 4
    # A fixed port can be taken again straight after a stop.
    with Emulator(port=port or 0) as fixed:
        assert fixed.port == port
    with Emulator(port=port or 0) as again:
        assert again.port == port


def test_serve_forever_stops_on_ctrl_c() -> None:
    seen: list[int] = []

    def ready(emulator: Emulator) -> None:
        seen.append(httpx.get(f"{emulator.base_url}/v1/assistants/asst_x").status_code)
        raise KeyboardInterrupt

    emulator = Emulator(port=0)
    emulator.serve_forever(on_ready=ready)
    assert seen == [404]
    assert not emulator.running


def _scripted_calls(emulator: Emulator, clock: ManualClock) -> list[str]:
    client = oai(emulator)
    assistant_id, thread_id = setup_thread(client)
    run = client.beta.threads.runs.create(thread_id=thread_id, assistant_id=assistant_id)
    clock.advance(2.0)
    run = client.beta.threads.runs.retrieve(run.id, thread_id=thread_id)
    assert run.required_action is not None
    [call] = run.required_action.submit_tool_outputs.tool_calls
    client.beta.threads.runs.submit_tool_outputs(
        run.id, thread_id=thread_id, tool_outputs=[{"tool_call_id": call.id, "output": "soup"}]
    )
    clock.advance(2.0)
    steps = [s.id for s in client.beta.threads.runs.steps.list(thread_id=thread_id, run_id=run.id)]
    messages = [m.id for m in client.beta.threads.messages.list(thread_id=thread_id)]

    coze = coze_client(emulator)
    chat = coze.chat.create(bot_id="tool-bot", user_id="u", additional_messages=question())
    clock.advance(1.0)
    chat = coze.chat.retrieve(conversation_id=chat.conversation_id, chat_id=chat.id)
    assert chat.required_action is not None and chat.required_action.submit_tool_outputs is not None
    [coze_call] = chat.required_action.submit_tool_outputs.tool_calls
    coze.chat.submit_tool_outputs(
        conversation_id=chat.conversation_id,
        chat_id=chat.id,
        tool_outputs=[ToolOutput(tool_call_id=coze_call.id, output="ok")],
        stream=False,
    )
    clock.advance(1.0)
    coze_messages = [m.id or "" for m in coze.chat.messages.list(conversation_id=chat.conversation_id, chat_id=chat.id)]
    return [
        assistant_id,
        thread_id,
        run.id,
        call.id,
        *steps,
        *messages,
        chat.conversation_id,
        chat.id,
        coze_call.id,
        *coze_messages,
    ]


def test_same_calls_give_same_ids() -> None:
    results = []
    for _ in range(2):
        clock = ManualClock()
        with Emulator(phase_seconds=1.0, clock=clock) as emulator:
            results.append(_scripted_calls(emulator, clock))
    assert results[0] == results[1]
    assert len(set(results[0])) == len(results[0])
    assistant_id, thread_id, run_id, call_id = results[0][:4]
    assert re.fullmatch(r"asst_emu\d{6}[A-Za-z0-9]{15}", assistant_id)
    assert re.fullmatch(r"run_[A-Za-z0-9]{24}", run_id)
    assert thread_id.startswith("thread_") and call_id.startswith("call_")
    conversation_id, chat_id = results[0][-8:-6]
    assert re.fullmatch(r"\d{19}", conversation_id) and re.fullmatch(r"\d{19}", chat_id)


def test_a_running_emulator_leaves_a_replaying_tests_virtual_clock_alone(emulator: Emulator) -> None:
    # The self-started emulator keeps serving while later tests replay on a virtual clock,
    # which patches asyncio.sleep process-wide: the server's own ticks must stay real.
    with VirtualClock() as clock:
        real_sleep(0.3)
        assert clock.sleeps == 0 and clock.offset_s == 0.0
    assert httpx.post(emulator.url("openai") + "/threads", json={}).json()["object"] == "thread"
