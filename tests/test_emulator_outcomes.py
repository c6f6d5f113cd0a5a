"""Error outcomes the emulator produces on request, recorded through the official SDKs.

Each outcome is asked for the documented way (an OpenAI model name ending, a Coze bot id),
recorded from a live emulator on 127.0.0.1, validated against runreplay's schemas, then
replayed offline (nothing listens on the replay's port) to the same result.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import cozepy
import openai
import pytest
from openai.types.beta import FunctionToolParam

from runreplay import use_cassette
from runreplay.cassette import load
from runreplay.checks.validation import validate_cassette
from runreplay.emulator import Emulator

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

PHASE = 0.02
OFFLINE = {"openai": "http://127.0.0.1:9/v1", "coze": "http://127.0.0.1:9"}
QUESTION = "What is the weather in Paris today?"
TOOL: FunctionToolParam = {
    "type": "function",
    "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}},
}
FAILING_BOT = "7350000000000000001"  # numeric: only coze_failing_bots makes it fail
ERROR_BOT = "7350000000error"


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(port=0, phase_seconds=PHASE, poll_after_ms=10, coze_failing_bots={FAILING_BOT}) as emulator:
        yield emulator


def _record(path: Path, base_url: str, flow: Callable[[str], Any]) -> Any:
    with use_cassette(path, record_mode="rewrite") as recording:
        result = flow(base_url)
    assert recording.recorded, "nothing was recorded"
    assert validate_cassette(load(path)) == [], "what the emulator produced matches the documented types"
    return result


def record_and_replay(path: Path, emu: Emulator, family: str, flow: Callable[[str], Any]) -> Any:
    recorded = _record(path, emu.url(family), flow)
    with use_cassette(path, record_mode="none") as replay:
        replayed = flow(OFFLINE[family])
    assert replay.replayed_count > 0
    assert replayed == recorded
    return recorded


def arecord_and_replay(path: Path, emu: Emulator, family: str, flow: Callable[[str], Awaitable[Any]]) -> Any:
    return record_and_replay(path, emu, family, lambda base_url: asyncio.run(flow(base_url)))


def stream_events(path: Path, name: str) -> list[str]:
    """The event names of the recorded streams that carry an event called ``name``."""
    for interaction in load(path).interactions:
        body = interaction.response.body
        names = [event.event or "" for event in body.events] if body.kind == "sse" else []
        if name in names:
            return names
    return []


# ---------------------------------------------------------------------------- OpenAI runs

#: model -> (run status, run last_error code, steps as (type, status, last_error code), message status/reason)
RUN_OUTCOMES = {
    "gpt-4o-mini-fail": ("failed", "server_error", [("tool_calls", "failed", "server_error")], None),
    "gpt-4o-mini-rate-limit": (
        "failed",
        "rate_limit_exceeded",
        [("message_creation", "failed", "rate_limit_exceeded")],
        ("incomplete", "run_failed"),
    ),
    "gpt-4o-mini-incomplete": (None, None, [("message_creation", "completed", None)], ("incomplete", "max_tokens")),
    "gpt-4o-mini-expire": ("expired", None, [("message_creation", "expired", None)], ("incomplete", "run_expired")),
}


def _run_summary(run: Any, steps: list[Any], messages: list[Any]) -> dict[str, Any]:
    return {
        "run": run.model_dump(),
        "steps": [(s.type, s.status, s.last_error.code if s.last_error else None) for s in steps],
        "messages": [m.model_dump() for m in messages if m.role == "assistant"],
    }


def _check_run(model: str, summary: dict[str, Any]) -> None:
    status, code, steps, message = RUN_OUTCOMES[model]
    run = summary["run"]
    assert run["status"] == (status or "incomplete")
    assert (run["last_error"] or {}).get("code") == code
    assert summary["steps"] == steps
    if code is not None:
        assert run["failed_at"] is not None and run["last_error"]["message"]
    if status is None:
        assert run["incomplete_details"] == {"reason": "max_completion_tokens"}
        text = summary["messages"][0]["content"][0]["text"]["value"]
        assert text and "emulated answer" in text and not text.endswith("Paris today?")
    if message is None:
        assert summary["messages"] == []
    else:
        assert [(m["status"], m["incomplete_details"]["reason"]) for m in summary["messages"]] == [message]


def _tools(model: str) -> list[FunctionToolParam]:
    return [TOOL] if model.endswith("-fail") else []


@pytest.mark.parametrize("model", sorted(RUN_OUTCOMES))
def test_openai_run_outcomes_on_request(tmp_path: Path, emu: Emulator, model: str) -> None:
    def flow(base_url: str) -> dict[str, Any]:
        client = openai.OpenAI(api_key="sk-test", base_url=base_url, max_retries=0)
        assistant = client.beta.assistants.create(model=model, tools=_tools(model))
        thread = client.beta.threads.create(messages=[{"role": "user", "content": QUESTION}])
        run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
        steps = client.beta.threads.runs.steps.list(run_id=run.id, thread_id=thread.id, order="asc")
        messages = client.beta.threads.messages.list(thread_id=thread.id, run_id=run.id)
        return _run_summary(run, steps.data, messages.data)

    _check_run(model, record_and_replay(tmp_path / "run.json", emu, "openai", flow))


@pytest.mark.parametrize("model", sorted(RUN_OUTCOMES))
def test_openai_async_run_outcomes_on_request(tmp_path: Path, emu: Emulator, model: str) -> None:
    async def flow(base_url: str) -> dict[str, Any]:
        client = openai.AsyncOpenAI(api_key="sk-test", base_url=base_url, max_retries=0)
        assistant = await client.beta.assistants.create(model=model, tools=_tools(model))
        thread = await client.beta.threads.create(messages=[{"role": "user", "content": QUESTION}])
        run = await client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
        steps = await client.beta.threads.runs.steps.list(run_id=run.id, thread_id=thread.id, order="asc")
        messages = await client.beta.threads.messages.list(thread_id=thread.id, run_id=run.id)
        return _run_summary(run, steps.data, messages.data)

    _check_run(model, arecord_and_replay(tmp_path / "run.json", emu, "openai", flow))


def _check_stream_error(path: Path, result: dict[str, Any]) -> None:
    assert result["error"] == "Sorry, something went wrong."
    assert result["events"][-2:] == ["thread.run.step.failed", "thread.message.incomplete"]
    assert result["status"] == "failed" and result["last_error"] == "server_error"
    names = stream_events(path, "error")
    assert names[-1] == "error" and "thread.run.failed" not in names


def test_openai_stream_ends_with_an_error_event(tmp_path: Path, emu: Emulator) -> None:
    def flow(base_url: str) -> dict[str, Any]:
        client = openai.OpenAI(api_key="sk-test", base_url=base_url, max_retries=0)
        assistant = client.beta.assistants.create(model="gpt-4o-mini-stream-error")
        thread = client.beta.threads.create(messages=[{"role": "user", "content": QUESTION}])
        events: list[str] = []
        stream = client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id)
        with pytest.raises(openai.APIError) as raised, stream as events_in:
            for event in events_in:
                events.append(event.event)
        (run,) = client.beta.threads.runs.list(thread_id=thread.id).data
        code = run.last_error.code if run.last_error else None
        return {"events": events, "error": raised.value.message, "status": run.status, "last_error": code}

    path = tmp_path / "stream.json"
    _check_stream_error(path, record_and_replay(path, emu, "openai", flow))


def test_openai_async_stream_ends_with_an_error_event(tmp_path: Path, emu: Emulator) -> None:
    async def flow(base_url: str) -> dict[str, Any]:
        client = openai.AsyncOpenAI(api_key="sk-test", base_url=base_url, max_retries=0)
        assistant = await client.beta.assistants.create(model="gpt-4o-mini-stream-error")
        thread = await client.beta.threads.create(messages=[{"role": "user", "content": QUESTION}])
        events: list[str] = []
        with pytest.raises(openai.APIError) as raised:
            async with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id) as stream:
                async for event in stream:
                    events.append(event.event)
        runs = await client.beta.threads.runs.list(thread_id=thread.id)
        (run,) = runs.data
        code = run.last_error.code if run.last_error else None
        return {"events": events, "error": raised.value.message, "status": run.status, "last_error": code}

    path = tmp_path / "stream.json"
    _check_stream_error(path, arecord_and_replay(path, emu, "openai", flow))


# ---------------------------------------------------------------------------- Coze chats


def _question() -> list[cozepy.Message]:
    return [cozepy.Message.build_user_question_text(QUESTION)]


@pytest.mark.parametrize("bot_id", [FAILING_BOT, "7350000000fail"])
def test_coze_failed_chat_polled_and_streamed(tmp_path: Path, emu: Emulator, bot_id: str) -> None:
    def flow(base_url: str) -> dict[str, Any]:
        coze = cozepy.Coze(auth=cozepy.TokenAuth("pat_test"), base_url=base_url)
        polled = coze.chat.create_and_poll(bot_id=bot_id, user_id="u1", additional_messages=_question()).chat
        events = [
            event.event for event in coze.chat.stream(bot_id=bot_id, user_id="u1", additional_messages=_question())
        ]
        return {"chat": polled.model_dump(), "events": events}

    result = record_and_replay(tmp_path / "chat.json", emu, "coze", flow)
    chat = result["chat"]
    assert chat["status"] == cozepy.ChatStatus.FAILED and chat["failed_at"] is not None
    assert chat["last_error"] == {"code": 5000, "msg": "The bot failed to answer (emulated failure)."}
    assert result["events"][-1] == cozepy.ChatEventType.CONVERSATION_CHAT_FAILED


def test_coze_async_failed_chat(tmp_path: Path, emu: Emulator) -> None:
    async def flow(base_url: str) -> dict[str, Any]:
        coze = cozepy.AsyncCoze(auth=cozepy.AsyncTokenAuth("pat_test"), base_url=base_url)
        chat = await coze.chat.create(bot_id=FAILING_BOT, user_id="u1", additional_messages=_question())
        while chat.status == cozepy.ChatStatus.IN_PROGRESS:
            await asyncio.sleep(PHASE)
            chat = await coze.chat.retrieve(conversation_id=chat.conversation_id, chat_id=chat.id)
        return {"status": chat.status, "code": chat.last_error.code if chat.last_error else None}

    assert arecord_and_replay(tmp_path / "chat.json", emu, "coze", flow) == {"status": "failed", "code": 5000}


def test_coze_stream_ends_with_an_error_event(tmp_path: Path, emu: Emulator) -> None:
    def flow(base_url: str) -> dict[str, Any]:
        coze = cozepy.Coze(auth=cozepy.TokenAuth("pat_test"), base_url=base_url)
        events: list[str] = []
        with pytest.raises(Exception, match="error event") as raised:
            for event in coze.chat.stream(bot_id=ERROR_BOT, user_id="u1", additional_messages=_question()):
                events.append(event.event)
        return {"events": events, "error": str(raised.value)}

    path = tmp_path / "chat.json"
    result = record_and_replay(path, emu, "coze", flow)
    assert result["events"] == ["conversation.chat.created", "conversation.chat.in_progress"]
    assert '"code":5000' in result["error"]
    names = stream_events(path, "error")
    assert names[:3] == [*result["events"], "error"] and "conversation.chat.failed" not in names
