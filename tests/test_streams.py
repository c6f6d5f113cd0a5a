"""SSE streams, recorded live from the emulator and replayed event by event, with the SDKs.

Recording must pass each event through as the server sends it; replay must deliver the
events as a real stream (separate chunks), so the SDKs' own parsers and stream helpers
see the same events and end in the same run or chat.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import cozepy
import httpx
import openai
import pytest
from openai.lib.streaming import AssistantEventHandler, AsyncAssistantEventHandler

from runreplay import StreamOptions, UnmatchedRequestError, use_cassette
from runreplay.cassette import load
from runreplay.emulator import Emulator

OFFLINE_OPENAI = "http://127.0.0.1:9/v1"
OFFLINE_COZE = "http://127.0.0.1:9"
PHASE = 0.15
TOOL: Any = {
    "type": "function",
    "function": {"name": "lookup_order", "parameters": {"type": "object", "properties": {"order": {"type": "string"}}}},
}
COZE_BOT = "7350000000000plain"
COZE_TOOL_BOT = "7350000000000tool"


class Timed:
    """Wall-clock arrival of the first and last event, to prove events were not buffered."""

    def __init__(self) -> None:
        self.first: float | None = None
        self.last = 0.0

    def saw(self) -> None:
        now = time.perf_counter()
        self.first = self.first if self.first is not None else now
        self.last = now

    @property
    def spread(self) -> float:
        return self.last - (self.first or self.last)


def _openai(base_url: str) -> openai.OpenAI:
    return openai.OpenAI(api_key="sk-test", base_url=base_url, max_retries=0)


def _event(e: Any) -> tuple[str, Any]:
    return e.event, e.data.model_dump() if hasattr(e.data, "model_dump") else e.data


def _setup(client: openai.OpenAI, tools: list[Any]) -> tuple[str, str]:
    assistant = client.beta.assistants.create(model="gpt-4o-mini", tools=tools)
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Where is order A-1?"}])
    return assistant.id, thread.id


def _record_and_replay(tmp_path: Path, flow: Any, base: str, offline: str, **replay: Any) -> tuple[Any, Any, Timed]:
    path = tmp_path / "stream.json"
    timed = Timed()
    with Emulator(port=0, phase_seconds=PHASE) as emulator, use_cassette(path, record_mode="once"):
        recorded = flow(emulator.url(base), timed)
    with use_cassette(path, **replay):
        replayed = flow(offline, Timed())
    return recorded, replayed, timed


# ---------------------------------------------------------------------------- OpenAI


def _runs_create_stream(base_url: str, timed: Timed) -> list[tuple[str, Any]]:
    client = _openai(base_url)
    assistant_id, thread_id = _setup(client, [])
    events = []
    for event in client.beta.threads.runs.create(thread_id=thread_id, assistant_id=assistant_id, stream=True):
        timed.saw()
        events.append(_event(event))
    return events


def test_openai_runs_create_stream_live_then_replayed(tmp_path: Path) -> None:
    recorded, replayed, timed = _record_and_replay(tmp_path, _runs_create_stream, "openai", OFFLINE_OPENAI)
    # Live pass-through: events arrived over more than one lifecycle phase, not all at the end.
    assert timed.spread >= PHASE
    assert replayed == recorded
    names = [name for name, _ in recorded]
    assert names[:3] == ["thread.run.created", "thread.run.queued", "thread.run.in_progress"]
    assert names[-1] == "thread.run.completed"
    stored = load(tmp_path / "stream.json")
    (sse,) = [i for i in stored if i.response.body.kind == "sse"]
    times = [e.at_ms for e in sse.response.body.events]
    assert times == sorted(times) and times[-1] - times[0] >= PHASE * 1000 * 0.9, "events keep their own times"
    assert sse.response.body.events[-1].event == "done"


class Collect(AssistantEventHandler):
    def __init__(self, timed: Timed) -> None:
        super().__init__()
        self.timed = timed
        self.names: list[str] = []

    def on_event(self, event: Any) -> None:
        self.timed.saw()
        self.names.append(event.event)


def _stream_with_tool_call(base_url: str, timed: Timed, output: str = "shipped") -> dict[str, Any]:
    client = _openai(base_url)
    runs = client.beta.threads.runs
    assistant_id, thread_id = _setup(client, [TOOL])
    first = Collect(timed)
    with runs.stream(thread_id=thread_id, assistant_id=assistant_id, event_handler=first) as stream:
        stream.until_done()
    run = first.current_run
    assert run is not None and run.status == "requires_action"
    calls = run.required_action.submit_tool_outputs.tool_calls  # type: ignore[union-attr]
    second = Collect(timed)
    with runs.submit_tool_outputs_stream(
        thread_id=thread_id,
        run_id=run.id,
        tool_outputs=[{"tool_call_id": c.id, "output": output} for c in calls],
        event_handler=second,
    ) as stream:
        stream.until_done()
        final = stream.get_final_run()
        text = "".join(m.content[0].text.value for m in stream.get_final_messages())  # type: ignore[union-attr]
    return {"first": first.names, "second": second.names, "final": final.model_dump(), "text": text}


def test_openai_stream_helper_stops_at_requires_action_then_streamed_submit(tmp_path: Path) -> None:
    recorded, replayed, timed = _record_and_replay(tmp_path, _stream_with_tool_call, "openai", OFFLINE_OPENAI)
    assert replayed == recorded
    assert recorded["first"][-1] == "thread.run.requires_action"
    assert recorded["second"][-1] == "thread.run.completed"
    assert recorded["final"]["status"] == "completed"
    assert "thread.message.delta" in recorded["second"]
    assert timed.spread >= PHASE


def _create_and_run_stream(base_url: str, timed: Timed) -> list[str]:
    client = _openai(base_url)
    assistant = client.beta.assistants.create(model="gpt-4o-mini")
    handler = Collect(timed)
    with client.beta.threads.create_and_run_stream(
        assistant_id=assistant.id,
        thread={"messages": [{"role": "user", "content": "Hello"}]},
        event_handler=handler,
    ) as stream:
        stream.until_done()
    return handler.names


def test_openai_create_and_run_stream(tmp_path: Path) -> None:
    recorded, replayed, _ = _record_and_replay(tmp_path, _create_and_run_stream, "openai", OFFLINE_OPENAI)
    assert replayed == recorded
    assert recorded[0] == "thread.created"
    assert recorded[-1] == "thread.run.completed"


class ACollect(AsyncAssistantEventHandler):
    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []

    async def on_event(self, event: Any) -> None:
        self.names.append(event.event)


async def _astream_with_tool_call(base_url: str) -> dict[str, Any]:
    client = openai.AsyncOpenAI(api_key="sk-test", base_url=base_url, max_retries=0)
    runs = client.beta.threads.runs
    assistant = await client.beta.assistants.create(model="gpt-4o-mini", tools=[TOOL])
    thread = await client.beta.threads.create(messages=[{"role": "user", "content": "Where is order A-1?"}])
    first = ACollect()
    async with runs.stream(thread_id=thread.id, assistant_id=assistant.id, event_handler=first) as stream:
        await stream.until_done()
    run = first.current_run
    assert run is not None and run.required_action is not None
    outputs: Any = [
        {"tool_call_id": c.id, "output": "shipped"} for c in run.required_action.submit_tool_outputs.tool_calls
    ]
    second = ACollect()
    async with runs.submit_tool_outputs_stream(
        thread_id=thread.id, run_id=run.id, tool_outputs=outputs, event_handler=second
    ) as stream:
        await stream.until_done()
        final = await stream.get_final_run()
    return {"first": first.names, "second": second.names, "final": final.model_dump()}


async def test_async_openai_stream_with_tool_call(tmp_path: Path) -> None:
    path = tmp_path / "astream.json"
    with Emulator(port=0, phase_seconds=PHASE) as emulator, use_cassette(path, record_mode="once"):
        recorded = await _astream_with_tool_call(emulator.url("openai"))
    with use_cassette(path):
        replayed = await _astream_with_tool_call(OFFLINE_OPENAI)
    assert replayed == recorded
    assert recorded["first"][-1] == "thread.run.requires_action"
    assert recorded["final"]["status"] == "completed"


# ---------------------------------------------------------------------------- Coze


def _coze_events(stream: Any) -> list[tuple[str, Any]]:
    return [
        (e.event.value, (e.message or e.chat).model_dump() if (e.message or e.chat) is not None else None)
        for e in stream
    ]


def _coze_tool_stream(base_url: str, timed: Timed, output: str = "sunny, 21C") -> dict[str, Any]:
    coze = cozepy.Coze(auth=cozepy.TokenAuth("pat_test"), base_url=base_url)
    question = [cozepy.Message.build_user_question_text("Weather in Paris?")]
    first: list[Any] = []
    for event in coze.chat.stream(bot_id=COZE_TOOL_BOT, user_id="u1", additional_messages=question):
        timed.saw()
        first.append(event)
    chat = first[-1].chat
    assert first[-1].event == cozepy.ChatEventType.CONVERSATION_CHAT_REQUIRES_ACTION
    calls = chat.required_action.submit_tool_outputs.tool_calls
    outputs = [cozepy.ToolOutput(tool_call_id=c.id, output=output) for c in calls]
    second = coze.chat.submit_tool_outputs(
        conversation_id=chat.conversation_id, chat_id=chat.id, tool_outputs=outputs, stream=True
    )
    return {"first": _coze_events(first), "second": _coze_events(second)}


def test_cozepy_stream_requires_action_then_streamed_submit(tmp_path: Path) -> None:
    recorded, replayed, timed = _record_and_replay(tmp_path, _coze_tool_stream, "coze", OFFLINE_COZE)
    assert replayed == recorded
    assert recorded["second"][-1][0] == "conversation.chat.completed"
    assert timed.spread >= PHASE
    raw = json.loads((tmp_path / "stream.json").read_text())
    framings = [
        i["response"]["body"]["sse"]["framing"]
        for i in raw["interactions"]
        if i["response"]["body"] and "sse" in i["response"]["body"]
    ]
    assert framings and all(f["space_after_colon"] is False for f in framings), "Coze framing kept"


async def test_async_cozepy_stream(tmp_path: Path) -> None:
    async def flow(base_url: str) -> list[str]:
        coze = cozepy.AsyncCoze(auth=cozepy.AsyncTokenAuth("pat_test"), base_url=base_url)
        question = [cozepy.Message.build_user_question_text("Hello")]
        stream = coze.chat.stream(bot_id=COZE_BOT, user_id="u1", additional_messages=question)
        return [e.event.value async for e in stream]

    path = tmp_path / "acoze.json"
    with Emulator(port=0, phase_seconds=PHASE) as emulator, use_cassette(path, record_mode="once"):
        recorded = await flow(emulator.url("coze"))
    with use_cassette(path):
        replayed = await flow(OFFLINE_COZE)
    assert replayed == recorded
    assert recorded[-1] == "conversation.chat.completed"


# ---------------------------------------------------------------------------- delivery


@pytest.fixture(scope="module")
def run_stream(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("streams") / "run_stream.json"
    with Emulator(port=0, phase_seconds=0.1) as emulator, use_cassette(path, record_mode="once"):
        _runs_create_stream(emulator.url("openai"), Timed())
    return path


def _chunks_seen(path: Path, options: StreamOptions) -> tuple[list[bytes], list[tuple[str, Any]]]:
    """Raw chunks as httpx delivers them, and what the SDK parses from the same stream."""
    (sse,) = [i for i in load(path) if i.response.body.kind == "sse"]
    with (
        use_cassette(path, streams=options, unused="ignore"),
        httpx.Client() as client,
        client.stream("POST", sse.request.url, json=sse.request.body.value) as response,
    ):
        chunks = list(response.iter_raw())
    return chunks, _runs_create_stream_replayed(path, options)


def test_replay_delivers_one_chunk_per_event(run_stream: Path) -> None:
    chunks, _ = _chunks_seen(run_stream, StreamOptions())
    events = [e for i in load(run_stream) if i.response.body.kind == "sse" for e in i.response.body.events]
    assert len(chunks) == len(events)
    assert chunks[0].startswith(b"event: thread.run.created\ndata: {")
    assert chunks[-1] == b"event: done\ndata: [DONE]\n\n"


@pytest.mark.parametrize("chunking", ["bytes:1", "split", "bytes:7"])
def test_rechunked_streams_parse_to_the_same_events(run_stream: Path, chunking: str) -> None:
    reference = _runs_create_stream_replayed(run_stream, StreamOptions())
    chunks, parsed = _chunks_seen(run_stream, StreamOptions(chunking=chunking))
    assert parsed == reference
    if chunking == "bytes:1":
        assert all(len(c) == 1 for c in chunks)


def _runs_create_stream_replayed(path: Path, options: StreamOptions) -> list[tuple[str, Any]]:
    with use_cassette(path, streams=options, unused="ignore"):
        return _runs_create_stream(OFFLINE_OPENAI, Timed())


def test_recorded_pacing_costs_virtual_time_only(run_stream: Path) -> None:
    started = time.perf_counter()
    with use_cassette(run_stream, streams=StreamOptions(pacing="recorded")) as session:
        _runs_create_stream(OFFLINE_OPENAI, Timed())
    assert time.perf_counter() - started < 1.0
    assert session.clock is not None and session.clock.slept_s >= 0.1  # the recorded gaps, virtually


# ---------------------------------------------------------------------------- faults


def test_injected_error_event_raises_openai_api_error(run_stream: Path) -> None:
    with pytest.raises(openai.APIError, match="injected stream error"):
        _runs_create_stream_replayed(run_stream, StreamOptions(error_at=3))


def test_cut_stream_raises_a_connection_error_not_a_hang(run_stream: Path) -> None:
    started = time.perf_counter()
    with pytest.raises(openai.APIConnectionError) as info:  # openai's documented connection error
        _runs_create_stream_replayed(run_stream, StreamOptions(cut_after=4))
    assert "stream cut after event 4" in str(info.value.__cause__)
    assert time.perf_counter() - started < 1.0


def test_stall_longer_than_the_read_timeout_times_out_in_virtual_time(run_stream: Path) -> None:
    def flow() -> None:
        client = openai.OpenAI(api_key="sk-test", base_url=OFFLINE_OPENAI, max_retries=0, timeout=30.0)
        assistant_id, thread_id = _setup(client, [])
        list(client.beta.threads.runs.create(thread_id=thread_id, assistant_id=assistant_id, stream=True))

    started = time.perf_counter()
    with (
        use_cassette(run_stream, streams=StreamOptions(stall_before=(2, 600.0)), unused="ignore") as session,
        pytest.raises(openai.APITimeoutError) as info,  # what openai documents for a read timeout
    ):
        flow()
    assert "stalled 600s before event 2" in str(info.value.__cause__)
    assert time.perf_counter() - started < 1.0
    assert session.clock is not None and session.clock.slept_s >= 30


def test_injected_error_event_raises_in_cozepy(tmp_path: Path) -> None:
    path = tmp_path / "coze.json"

    def flow(base_url: str) -> list[str]:
        coze = cozepy.Coze(auth=cozepy.TokenAuth("pat_test"), base_url=base_url)
        question = [cozepy.Message.build_user_question_text("Hello")]
        return [e.event.value for e in coze.chat.stream(bot_id=COZE_BOT, user_id="u1", additional_messages=question)]

    with Emulator(port=0, phase_seconds=0.05) as emulator, use_cassette(path, record_mode="once"):
        flow(emulator.url("coze"))
    with (
        use_cassette(path, streams=StreamOptions(error_at=2), unused="ignore"),
        pytest.raises(Exception, match="error event"),
    ):
        flow(OFFLINE_COZE)


def test_abandoned_stream_is_recorded_as_far_as_it_was_read(tmp_path: Path) -> None:
    path = tmp_path / "abandoned.json"
    with Emulator(port=0, phase_seconds=0.1) as emulator, use_cassette(path, record_mode="once"):
        client = _openai(emulator.url("openai"))
        assistant_id, thread_id = _setup(client, [])
        stream = client.beta.threads.runs.create(thread_id=thread_id, assistant_id=assistant_id, stream=True)
        first_two = [next(iter(stream)).event for _ in range(2)]
        stream.close()
    (sse,) = [i for i in load(path) if i.response.body.kind == "sse"]
    names = [e.event for e in sse.response.body.events]
    assert names[:2] == first_two
    assert "done" not in names, "the client stopped before the end; the cassette says so"


def test_two_concurrent_streams_are_recorded_in_request_order(tmp_path: Path) -> None:
    async def two(base_url: str) -> None:
        client = openai.AsyncOpenAI(api_key="sk-test", base_url=base_url, max_retries=0)
        assistant = await client.beta.assistants.create(model="gpt-4o-mini")
        threads = [await client.beta.threads.create(messages=[{"role": "user", "content": str(n)}]) for n in range(2)]

        async def consume(thread_id: str) -> None:
            stream = await client.beta.threads.runs.create(thread_id=thread_id, assistant_id=assistant.id, stream=True)
            async for _ in stream:
                pass

        await asyncio.gather(*(consume(t.id) for t in threads))

    path = tmp_path / "two.json"
    with Emulator(port=0, phase_seconds=0.05) as emulator, use_cassette(path, record_mode="once"):
        asyncio.run(two(emulator.url("openai")))
    stored = load(path)
    times = [i.at_ms for i in stored]
    assert times == sorted(times)
    assert sum(1 for i in stored if i.response.body.kind == "sse") == 2


# ---------------------------------------------------------------------------- tool calls of streamed runs


@pytest.mark.parametrize(
    ("flow", "base", "offline", "kind"),
    [(_stream_with_tool_call, "openai", OFFLINE_OPENAI, "run"), (_coze_tool_stream, "coze", OFFLINE_COZE, "chat")],
    ids=["openai", "coze"],
)
def test_a_streamed_run_checks_its_tool_outputs_like_a_polled_one(
    tmp_path: Path, flow: Any, base: str, offline: str, kind: str
) -> None:
    """A run or chat that lives only in streams has a timeline, and its submit is checked."""
    path = tmp_path / "stream.json"
    with Emulator(port=0, phase_seconds=PHASE) as emulator, use_cassette(path, record_mode="once"):
        flow(emulator.url(base), Timed())
    differ = rf"tool outputs differ from the recording for \S+ {kind} "
    with pytest.raises(UnmatchedRequestError, match=differ), use_cassette(path, unused="ignore"):
        flow(offline, Timed(), output="changed")
    with use_cassette(path, tool_outputs="ids") as session:
        flow(offline, Timed(), output="changed")
    (resource,) = session.resources
    assert resource.timeline.kind == kind
    assert resource.states[-1] == "completed" and resource.finished
    assert [p.trigger_name for p in resource.timeline.phases][1:] == ["submit_tool_outputs"]
