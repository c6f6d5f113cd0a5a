"""Record from the emulator over real sockets with the official SDKs, then replay offline.

Each flow runs twice: recording against a live emulator on 127.0.0.1, and replaying with
the emulator stopped (its port closed), so any request that escaped replay would fail.
The objects the SDK returns must be equal.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import cozepy
import httpx
import openai
import pytest

from runreplay import use_cassette
from runreplay.cassette import load
from runreplay.emulator import Emulator
from runreplay.errors import UnmatchedRequestError

TOOL = {
    "type": "function",
    "function": {
        "name": "lookup_order",
        "description": "Find an order by number",
        "parameters": {"type": "object", "properties": {"order": {"type": "string"}}, "required": ["order"]},
    },
}
PHASE = 0.05
OFFLINE_OPENAI = "http://127.0.0.1:9/v1"  # nothing listens there: replay must not need a server
OFFLINE_COZE = "http://127.0.0.1:9"
COZE_TOOL_BOT = "7350000000000tool"
COZE_BOT = "7350000000000plain"


def _dump(obj: Any) -> Any:
    if hasattr(obj, "model_dump"):
        return obj.model_dump()
    if isinstance(obj, (list, cozepy.ListResponse)):
        return [_dump(o) for o in obj]
    if isinstance(obj, dict):
        return {k: _dump(v) for k, v in obj.items()}
    return obj


def record_then_replay(tmp_path: Path, base_attr: str, offline: str, flow: Callable[[str], Any]) -> tuple[Any, Any]:
    cassette = tmp_path / "flow.json"
    with Emulator(port=0, phase_seconds=PHASE) as emulator, use_cassette(cassette, record_mode="once") as rec:
        recorded = _dump(flow(emulator.url(base_attr)))
    assert rec.recorded, "nothing was recorded"
    with use_cassette(cassette, record_mode="none") as replay:
        replayed = _dump(flow(offline))
    assert replay.replayed_count > 0
    assert not replay.recorded
    return recorded, replayed


async def arecord_then_replay(
    tmp_path: Path, base_attr: str, offline: str, flow: Callable[[str], Awaitable[Any]]
) -> tuple[Any, Any]:
    cassette = tmp_path / "flow.json"
    with Emulator(port=0, phase_seconds=PHASE) as emulator, use_cassette(cassette, record_mode="once"):
        recorded = _dump(await flow(emulator.url(base_attr)))
    with use_cassette(cassette, record_mode="none") as replay:
        replayed = _dump(await flow(offline))
    assert replay.replayed_count > 0
    return recorded, replayed


# ---------------------------------------------------------------------------- OpenAI


def _outputs(run: Any) -> list[dict[str, str]]:
    calls = run.required_action.submit_tool_outputs.tool_calls
    return [{"tool_call_id": c.id, "output": json.dumps({"order": "A-1", "state": "shipped"})} for c in calls]


def openai_flow(client: openai.OpenAI) -> dict[str, Any]:
    runs = client.beta.threads.runs
    assistant = client.beta.assistants.create(model="gpt-4o-mini", tools=[TOOL])  # type: ignore[list-item]
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Where is order A-1?"}])
    run = runs.create(thread_id=thread.id, assistant_id=assistant.id)
    seen = [run.status]
    while run.status in ("queued", "in_progress"):
        time.sleep(PHASE / 2)
        run = runs.retrieve(run.id, thread_id=thread.id)
        if run.status != seen[-1]:  # how often a state repeats depends on timing
            seen.append(run.status)
    assert run.status == "requires_action"
    run = runs.submit_tool_outputs_and_poll(
        run_id=run.id,
        thread_id=thread.id,
        tool_outputs=_outputs(run),
        poll_interval_ms=20,  # type: ignore[arg-type]
    )
    steps = runs.steps.list(run_id=run.id, thread_id=thread.id, order="asc")
    return {"statuses": seen, "run": run, "steps": steps.data}


async def aopenai_flow(client: openai.AsyncOpenAI) -> dict[str, Any]:
    runs = client.beta.threads.runs
    assistant = await client.beta.assistants.create(model="gpt-4o-mini", tools=[TOOL])  # type: ignore[list-item]
    thread = await client.beta.threads.create(messages=[{"role": "user", "content": "Where is order A-1?"}])
    run = await runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=20)
    assert run.status == "requires_action"
    first = run
    run = await runs.submit_tool_outputs_and_poll(
        run_id=run.id,
        thread_id=thread.id,
        tool_outputs=_outputs(run),
        poll_interval_ms=20,  # type: ignore[arg-type]
    )
    steps = await runs.steps.list(run_id=run.id, thread_id=thread.id, order="asc")
    return {"requires_action": first, "run": run, "steps": steps.data}


def _check_openai(recorded: dict[str, Any], replayed: dict[str, Any]) -> None:
    assert replayed == recorded
    assert recorded["run"]["status"] == "completed"
    assert [s["type"] for s in recorded["steps"]] == ["tool_calls", "message_creation"]


@pytest.mark.parametrize("transport", ["httpx2", "httpx"])
def test_openai_sync_run_with_tool_call(tmp_path: Path, transport: str) -> None:
    def flow(base_url: str) -> dict[str, Any]:
        http_client = httpx.Client() if transport == "httpx" else None
        client = openai.OpenAI(api_key="sk-test", base_url=base_url, http_client=http_client)  # type: ignore[arg-type]
        return openai_flow(client)

    recorded, replayed = record_then_replay(tmp_path, "openai", OFFLINE_OPENAI, flow)
    _check_openai(recorded, replayed)
    assert recorded["statuses"][-1] == "requires_action"


@pytest.mark.parametrize("transport", ["httpx2", "httpx"])
async def test_openai_async_run_with_tool_call(tmp_path: Path, transport: str) -> None:
    async def flow(base_url: str) -> dict[str, Any]:
        http_client = httpx.AsyncClient() if transport == "httpx" else None
        client = openai.AsyncOpenAI(api_key="sk-test", base_url=base_url, http_client=http_client)  # type: ignore[arg-type]
        return await aopenai_flow(client)

    recorded, replayed = await arecord_then_replay(tmp_path, "openai", OFFLINE_OPENAI, flow)
    _check_openai(recorded, replayed)


@pytest.mark.parametrize(("mode", "pause"), [("timeline", 0.002), ("sequence", 0.0), ("fast", 0.0)])
def test_replay_survives_a_client_that_polls_more_than_recorded(tmp_path: Path, mode: str, pause: float) -> None:
    cassette = tmp_path / "poll.json"
    with Emulator(port=0, phase_seconds=PHASE) as emulator, use_cassette(cassette, record_mode="once"):
        client = openai.OpenAI(api_key="sk-test", base_url=emulator.url("openai"))
        thread = client.beta.threads.create(messages=[{"role": "user", "content": "Hi"}])
        assistant = client.beta.assistants.create(model="gpt-4o-mini")
        run = client.beta.threads.runs.create_and_poll(
            thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=20
        )
        assert run.status == "completed"
    polls_recorded = sum(1 for i in load(cassette) if i.request.method == "GET" and "/runs/" in i.request.url)

    # The client polls 10x as often as the recording (timeline) or without pausing at all.
    with use_cassette(cassette, replay_mode=mode) as session:
        client = openai.OpenAI(api_key="sk-test", base_url=OFFLINE_OPENAI)
        client.beta.threads.create(messages=[{"role": "user", "content": "Hi"}])
        client.beta.assistants.create(model="gpt-4o-mini")
        runs = client.beta.threads.runs
        run = runs.create(thread_id=thread.id, assistant_id=assistant.id)
        statuses = [run.status]
        while statuses[-1] != "completed":
            time.sleep(pause)
            statuses.append(runs.retrieve(run.id, thread_id=thread.id).status)
            assert len(statuses) < 1000, f"{mode}: never completed"
        extra = [runs.retrieve(run.id, thread_id=thread.id).status for _ in range(5)]
    assert extra == ["completed"] * 5
    assert statuses == sorted(statuses, key=_phase_order), "states never go backwards"
    assert session.unused() == []
    (replayed,) = session.resources
    assert replayed.states == ["queued", "in_progress", "completed"]
    if mode == "timeline":
        assert len(statuses) > polls_recorded
    elif mode == "fast":
        assert len(statuses) == 3


def _phase_order(status: str) -> int:
    return ["queued", "in_progress", "requires_action", "completed"].index(status)


def test_unmatched_request_fails_fast_with_a_diff(tmp_path: Path) -> None:
    cassette = tmp_path / "one.json"
    with Emulator(port=0, phase_seconds=PHASE) as emulator, use_cassette(cassette, record_mode="once"):
        client = openai.OpenAI(api_key="sk-test", base_url=emulator.url("openai"))
        client.beta.assistants.create(model="gpt-4o-mini", name="first")

    client = openai.OpenAI(api_key="sk-test", base_url=OFFLINE_OPENAI)  # default max_retries=2
    started = time.perf_counter()
    with use_cassette(cassette), pytest.raises(UnmatchedRequestError) as info:
        client.beta.assistants.create(model="gpt-4o-mini", name="second")
    assert time.perf_counter() - started < 1.0
    message = str(info.value)
    assert "POST /v1/assistants" in message
    assert '-  "name": "first"' in message and '+  "name": "second"' in message


def test_unmatched_request_is_not_swallowed_by_async_openai(tmp_path: Path) -> None:
    cassette = tmp_path / "empty.json"
    with Emulator(port=0, phase_seconds=PHASE) as emulator, use_cassette(cassette, record_mode="once"):
        openai.OpenAI(api_key="sk-test", base_url=emulator.url("openai")).beta.threads.create()

    async def call() -> None:
        client = openai.AsyncOpenAI(api_key="sk-test", base_url=OFFLINE_OPENAI)
        await client.beta.threads.runs.retrieve("run_missing", thread_id="thread_missing")

    started = time.perf_counter()
    with use_cassette(cassette), pytest.raises(UnmatchedRequestError, match="GET /v1/threads/thread_missing"):
        asyncio.run(call())
    assert time.perf_counter() - started < 1.0


# ---------------------------------------------------------------------------- Coze


def coze_flow(base_url: str) -> dict[str, Any]:
    coze = cozepy.Coze(auth=cozepy.TokenAuth("pat_test"), base_url=base_url)
    question = [cozepy.Message.build_user_question_text("Hello there")]
    polled = coze.chat.create_and_poll(bot_id=COZE_BOT, user_id="u1", additional_messages=question)
    events = list(coze.chat.stream(bot_id=COZE_BOT, user_id="u1", additional_messages=question))
    return {
        "chat": polled.chat,
        "messages": polled.messages,
        "events": [(e.event.value, _dump(e.message) if e.message else _dump(e.chat)) for e in events],
    }


def test_coze_create_and_poll_and_stream(tmp_path: Path) -> None:
    recorded, replayed = record_then_replay(tmp_path, "coze", OFFLINE_COZE, coze_flow)
    assert replayed == recorded
    assert recorded["chat"]["status"] == "completed"
    assert recorded["events"][0][0] == "conversation.chat.created"
    assert recorded["events"][-1][0] == "conversation.chat.completed"


def test_coze_tool_bot_submit_tool_outputs(tmp_path: Path) -> None:
    def flow(base_url: str) -> dict[str, Any]:
        coze = cozepy.Coze(auth=cozepy.TokenAuth("pat_test"), base_url=base_url)
        question = [cozepy.Message.build_user_question_text("Where is order A-1?")]
        polled = coze.chat.create_and_poll(bot_id=COZE_TOOL_BOT, user_id="u1", additional_messages=question)
        chat = polled.chat
        assert chat.status == cozepy.ChatStatus.REQUIRES_ACTION
        calls = chat.required_action.submit_tool_outputs.tool_calls  # type: ignore[union-attr]
        outputs = [cozepy.ToolOutput(tool_call_id=c.id, output="shipped") for c in calls]
        chat = coze.chat.submit_tool_outputs(
            conversation_id=chat.conversation_id, chat_id=chat.id, tool_outputs=outputs, stream=False
        )
        while chat.status == cozepy.ChatStatus.IN_PROGRESS:
            time.sleep(PHASE / 2)
            chat = coze.chat.retrieve(conversation_id=chat.conversation_id, chat_id=chat.id)
        messages = coze.chat.messages.list(conversation_id=chat.conversation_id, chat_id=chat.id)
        return {"first": polled.chat, "final": chat, "messages": messages}

    recorded, replayed = record_then_replay(tmp_path, "coze", OFFLINE_COZE, flow)
    assert replayed == recorded
    assert recorded["final"]["status"] == "completed"


async def test_coze_async_create_poll_and_stream(tmp_path: Path) -> None:
    async def flow(base_url: str) -> dict[str, Any]:
        coze = cozepy.AsyncCoze(auth=cozepy.AsyncTokenAuth("pat_test"), base_url=base_url)
        question = [cozepy.Message.build_user_question_text("Hello there")]
        chat = await coze.chat.create(bot_id=COZE_BOT, user_id="u1", additional_messages=question)
        while chat.status == cozepy.ChatStatus.IN_PROGRESS:
            await asyncio.sleep(PHASE / 2)
            chat = await coze.chat.retrieve(conversation_id=chat.conversation_id, chat_id=chat.id)
        stream = coze.chat.stream(bot_id=COZE_BOT, user_id="u1", additional_messages=question)
        events = [e.event.value async for e in stream]
        return {"chat": chat, "events": events}

    recorded, replayed = await arecord_then_replay(tmp_path, "coze", OFFLINE_COZE, flow)
    assert replayed == recorded
    assert recorded["chat"]["status"] == "completed"
    assert recorded["events"][-1] == "conversation.chat.completed"


# ---------------------------------------------------------------------------- requests


def test_requests_client_records_and_replays(tmp_path: Path) -> None:
    import requests

    def flow(base_url: str) -> dict[str, Any]:
        with requests.Session() as http:
            http.headers["Authorization"] = "Bearer sk-test"
            thread = http.post(f"{base_url}/threads", json={"metadata": {"via": "requests"}}).json()
            fetched = http.get(f"{base_url}/threads/{thread['id']}").json()
        return {"thread": thread, "fetched": fetched}

    recorded, replayed = record_then_replay(tmp_path, "openai", OFFLINE_OPENAI, flow)
    assert replayed == recorded
    assert recorded["fetched"]["metadata"] == {"via": "requests"}
