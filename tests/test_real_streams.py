"""Real vendor streams from tests/data/real-traffic replay through the official SDK parsers.

OpenAI streams come from other projects' recordings (VCR.py, Ruby VCR, Azure test proxy)
and are imported; the Coze streams are raw SSE text (SDK fixtures and a fragment pasted
from real output), which a small local server sends to cozepy while runreplay records.
Either way the SDK must parse the same events from the replay as the source holds.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cozepy
import openai
import pytest
from _paths import TRAFFIC
from _servers import Handler, serve
from openai.lib.streaming import AssistantEventHandler

from runreplay import use_cassette
from runreplay.cassette import load, save
from runreplay.checks.validation import validate_cassette
from runreplay.importers import import_file
from runreplay.sse import parse_stream

REAL = TRAFFIC
OFFLINE = "http://127.0.0.1:9"


def _client() -> openai.OpenAI:
    return openai.OpenAI(api_key="sk-test", base_url=OFFLINE + "/v1", max_retries=0)


def _source_events(path: Path) -> list[list[tuple[str, str | None]]]:
    """Per SSE response of an imported recording: (event, data id) pairs, as the SDK yields them."""
    streams = []
    for interaction in load(path):
        body = interaction.response.body
        if body.kind == "sse":
            streams.append(
                [
                    (e.event or "", e.data.get("id") if isinstance(e.data, dict) else None)
                    for e in body.events
                    if e.data_is_json
                ]
            )
    return streams


def _sdk_events(events: Any) -> list[tuple[str, str | None]]:
    return [(e.event, getattr(e.data, "id", None)) for e in events]


@pytest.mark.parametrize(
    "name",
    ["openllmetry_v1__test_streaming_new_assistant.yaml", "openllmetry_v2__test_streaming_new_assistant.yaml"],
)
def test_openllmetry_run_streams_replay_through_runs_create(tmp_path: Path, name: str) -> None:
    path = save(import_file(REAL / "openai-assistants" / name), tmp_path / "c.json")
    run_request = next(i.request for i in load(path) if i.response.body.kind == "sse")
    body = run_request.body.value
    thread_id = run_request.url.split("/threads/")[1].split("/")[0]
    with use_cassette(path, unused="ignore"):
        stream = _client().beta.threads.runs.create(
            thread_id=thread_id, assistant_id=body["assistant_id"], instructions=body["instructions"], stream=True
        )
        seen = _sdk_events(stream)
    (expected,) = _source_events(path)
    assert seen == expected
    assert validate_cassette(load(path)) == [], "every event's data matches its documented type"
    assert sum(1 for n, _ in seen if n == "thread.message.delta") > 20
    assert seen[-1][0] == "thread.run.completed"


class Names(AssistantEventHandler):
    def __init__(self) -> None:
        super().__init__()
        self.events: list[tuple[str, str | None]] = []

    def on_event(self, event: Any) -> None:
        self.events.append((event.event, getattr(event.data, "id", None)))


def test_dotnet_streaming_tool_call_with_streamed_submit(tmp_path: Path) -> None:
    path = save(import_file(REAL / "openai-assistants" / "openai-dotnet__StreamingToolCall.json"), tmp_path / "c.json")
    client = _client()
    first, second = Names(), Names()
    with use_cassette(path) as session:
        tool: Any = {
            "type": "function",
            "function": {"description": "Gets the user's current weather", "name": "get_current_weather"},
        }
        assistant = client.beta.assistants.create(model="gpt-4o", tools=[tool])
        with client.beta.threads.create_and_run_stream(
            assistant_id=assistant.id,
            thread={"messages": [{"role": "user", "content": "What should I wear outside right now?"}]},
            event_handler=first,
        ) as stream:
            stream.until_done()
        run = first.current_run
        assert run is not None and run.status == "requires_action"
        call = run.required_action.submit_tool_outputs.tool_calls[0]  # type: ignore[union-attr]
        with client.beta.threads.runs.submit_tool_outputs_stream(
            thread_id=run.thread_id,
            run_id=run.id,
            tool_outputs=[{"tool_call_id": call.id, "output": "warm and sunny"}],
            event_handler=second,
        ) as stream:
            stream.until_done()
            final = stream.get_final_run()
    assert [first.events, second.events] == _source_events(path)
    assert validate_cassette(load(path)) == []
    assert first.events[-1][0] == "thread.run.requires_action"
    assert final.status == "completed"
    assert session.unused() == []


def test_ruby_openai_streamed_create_v1_v2_and_errors(tmp_path: Path) -> None:
    path = save(import_file(REAL / "openai-assistants" / "ruby-openai__runs_streamed_create.yml"), tmp_path / "c.json")
    client = _client()
    streams: list[list[tuple[str, str | None]]] = []
    errors = 0
    with use_cassette(path) as session:
        for interaction in load(path):
            body = interaction.request.body.value
            thread_id = interaction.request.url.split("/threads/")[1].split("/")[0]
            try:
                stream = client.beta.threads.runs.create(
                    thread_id=thread_id,
                    assistant_id=body["assistant_id"],
                    stream=True,
                    max_prompt_tokens=256,
                    max_completion_tokens=16,
                )
                streams.append(_sdk_events(stream))
            except openai.BadRequestError:
                errors += 1
    assert streams == _source_events(path)
    assert validate_cassette(load(path)) == []  # v1 and v2 streams, each against its own version
    assert errors == 2
    assert all(s[-1][0] == "thread.run.completed" for s in streams)
    assert any(n == "thread.message.incomplete" for s in streams for n, _ in s)
    assert session.unused() == []


# ---------------------------------------------------------------------------- Coze raw streams


class _SSEFile(Handler):
    payload = b""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.reply("text/event-stream", self.payload)


@pytest.fixture
def sse_server() -> Iterator[type[_SSEFile]]:
    handler = type("SSEFile", (_SSEFile,), {})
    with serve(handler) as url:
        handler.base_url = url  # type: ignore[attr-defined]
        yield handler


def _coze_stream(base_url: str) -> tuple[list[tuple[str, Any]], str | None]:
    coze = cozepy.Coze(auth=cozepy.TokenAuth("pat_test"), base_url=base_url)
    seen: list[tuple[str, Any]] = []
    try:
        for event in coze.chat.stream(
            bot_id="7379462189365198898",
            user_id="u1",
            additional_messages=[cozepy.Message.build_user_question_text("hi")],
        ):
            item = event.message or event.chat
            seen.append((event.event.value, item.id if item is not None else None))
    except Exception as exc:  # cozepy raises a plain Exception for an error event
        return seen, str(exc)
    return seen, None


@pytest.mark.parametrize(
    "name",
    [
        "coze-py__chat_text_stream_resp.txt",
        "coze-py__chat_audio_stream_resp.txt",
        "coze-py__chat_failed_resp.txt",
        "coze-py__chat_error_resp.txt",
        "auto-dev__coze_v3_chat_stream_fragment.sse.txt",
    ],
)
def test_coze_streams_record_and_replay_through_cozepy(tmp_path: Path, sse_server: Any, name: str) -> None:
    raw = (REAL / "coze" / name).read_bytes()
    sse_server.payload = raw
    path = tmp_path / "coze.json"
    with use_cassette(path, record_mode="once"):
        recorded = _coze_stream(sse_server.base_url)
    with use_cassette(path):
        replayed = _coze_stream(OFFLINE)
    assert replayed == recorded
    events, _ = parse_stream(raw)
    assert validate_cassette(load(path)) == [], "recorded (and validated) without violations"
    (stored,) = [i.response.body for i in load(path)]
    assert [e.event for e in stored.events] == [e.event for e in events]
    seen, error = recorded
    if name == "coze-py__chat_error_resp.txt":
        assert error is not None and "error event" in error
    else:
        assert error is None
        assert [n for n, _ in seen] == [e.event for e in events if e.event != "done"]
    if "audio" in name:
        assert "conversation.audio.delta" in [n for n, _ in seen]
