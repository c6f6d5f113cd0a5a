"""OpenAI Responses, background mode: recorded through the pytest plugin from the emulator with
openai-python (sync and async), then replayed offline with nothing listening.

The generated test module saves what each flow saw (statuses, event sequence numbers, text,
wall time) to a JSON file per run; this module compares the recording with the replay.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from runreplay import load
from runreplay.emulator import Emulator

pytest_plugins = ["pytester"]

FLOWS = textwrap.dedent(
    """
    import asyncio, json, os, time

    import openai
    import pytest
    from runreplay import StreamOptions

    BASE = os.environ.get("RR_URL", "http://127.0.0.1:9") + "/v1"
    TOOL = {"type": "function", "name": "get_weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}
    LIVE = ("queued", "in_progress")


    def save(name, value, started):
        value["wall_s"] = time.perf_counter() - started
        path = os.path.join(os.environ["RR_OUT"], f"{name}.{os.environ['RR_MODE']}.json")
        with open(path, "w") as handle:
            json.dump(value, handle)


    def client():
        return openai.OpenAI(api_key="sk-test", base_url=BASE, max_retries=0)


    def until_done(c, response, seen):
        seen.append(response.status)
        while response.status in LIVE:
            time.sleep(0.25)
            response = c.responses.retrieve(response.id)
            if response.status != seen[-1]:
                seen.append(response.status)
        return response


    @pytest.mark.runreplay
    def test_background_poll():
        started, c, seen = time.perf_counter(), client(), []
        done = until_done(c, c.responses.create(model="gpt-4.1-mini", input="Hello there", background=True), seen)
        save("background_poll", {"seen": seen, "text": done.output_text, "id": done.id}, started)


    @pytest.mark.runreplay
    async def test_background_poll_async():
        started, seen = time.perf_counter(), []
        c = openai.AsyncOpenAI(api_key="sk-test", base_url=BASE, max_retries=0)
        response = await c.responses.create(model="gpt-4.1-mini", input="Hello async", background=True)
        seen.append(response.status)
        while response.status in LIVE:
            await asyncio.sleep(0.25)
            response = await c.responses.retrieve(response.id)
            if response.status != seen[-1]:
                seen.append(response.status)
        save("background_poll_async", {"seen": seen, "text": response.output_text}, started)


    def aclient():
        return openai.AsyncOpenAI(api_key="sk-test", base_url=BASE, max_retries=0)


    async def auntil_done(c, response, seen):
        seen.append(response.status)
        while response.status in LIVE:
            await asyncio.sleep(0.25)
            response = await c.responses.retrieve(response.id)
            if response.status != seen[-1]:
                seen.append(response.status)
        return response


    @pytest.mark.runreplay
    async def test_cancel_async():
        started, c, seen = time.perf_counter(), aclient(), []
        response = await c.responses.create(model="gpt-4.1-mini", input="A long essay", background=True)
        seen.append(response.status)
        cancelled = await auntil_done(c, await c.responses.cancel(response.id), seen)
        save("cancel_async", {"seen": seen, "status": cancelled.status}, started)


    @pytest.mark.runreplay
    async def test_function_call_async():
        started, c, seen = time.perf_counter(), aclient(), []
        asked = await auntil_done(c, await c.responses.create(
            model="gpt-4.1-mini", input="Weather in Rome?", tools=[TOOL], background=True), seen)
        outputs = [{"type": "function_call_output", "call_id": item.call_id, "output": os.environ["RR_OUTPUT"]}
                   for item in asked.output if item.type == "function_call"]
        answered = await auntil_done(c, await c.responses.create(
            model="gpt-4.1-mini", previous_response_id=asked.id, input=outputs, tools=[TOOL], background=True), seen)
        save("function_call_async", {"seen": seen, "text": answered.output_text}, started)


    @pytest.mark.runreplay(streams=StreamOptions(cut_after=4, streams=(0,)))
    async def test_stream_cut_and_resumed_async():
        started, c, numbers, resumes, response_id = time.perf_counter(), aclient(), [], 0, None
        stream = await c.responses.create(model="gpt-4.1-mini", input="A poem", stream=True, background=True)
        while True:
            try:
                async for event in stream:
                    numbers.append(event.sequence_number)
                    if event.type == "response.created":
                        response_id = event.response.id
                break
            except Exception:
                resumes += 1
                stream = await c.responses.retrieve(response_id, stream=True, starting_after=numbers[-1])
        save("stream_cut_and_resumed_async", {"numbers": numbers, "resumes": resumes}, started)


    @pytest.mark.runreplay
    def test_cancel():
        started, c, seen = time.perf_counter(), client(), []
        response = c.responses.create(model="gpt-4.1-mini", input="A long essay", background=True)
        seen.append(response.status)
        cancelled = until_done(c, c.responses.cancel(response.id), seen)
        save("cancel", {"seen": seen, "status": cancelled.status}, started)


    @pytest.mark.runreplay
    def test_function_call():
        started, c, seen = time.perf_counter(), client(), []
        asked = until_done(c, c.responses.create(
            model="gpt-4.1-mini", input="Weather in Paris?", tools=[TOOL], background=True), seen)
        calls = [item for item in asked.output if item.type == "function_call"]
        outputs = [{"type": "function_call_output", "call_id": call.call_id, "output": os.environ["RR_OUTPUT"]}
                   for call in calls]
        answered = until_done(c, c.responses.create(
            model="gpt-4.1-mini", previous_response_id=asked.id, input=outputs, tools=[TOOL], background=True), seen)
        save("function_call", {"seen": seen, "calls": [call.name for call in calls], "text": answered.output_text},
             started)


    @pytest.mark.runreplay
    def test_failed():
        started, c, seen = time.perf_counter(), client(), []
        failed = until_done(c, c.responses.create(model="gpt-4.1-mini-fail", input="Hi", background=True), seen)
        save("failed", {"seen": seen, "error": failed.error.code}, started)


    def read_resuming(c, stream):
        # Read the stream; if the connection drops, resume it after the last event seen.
        numbers, response_id, resumes = [], None, 0
        while True:
            try:
                for event in stream:
                    numbers.append(event.sequence_number)
                    if event.type == "response.created":
                        response_id = event.response.id
                return numbers, resumes
            except Exception:  # the SDK lets the transport's error through
                resumes += 1
                stream = c.responses.retrieve(response_id, stream=True, starting_after=numbers[-1])


    # The recording reads the stream whole; the replay cuts it after 5 events (the resume was
    # never recorded: replay serves it from the recorded stream).
    @pytest.mark.runreplay(streams=StreamOptions(cut_after=5, streams=(0,)))
    def test_stream_cut_and_resumed():
        started, c = time.perf_counter(), client()
        stream = c.responses.create(model="gpt-4.1-mini", input="Tell me a story", stream=True, background=True)
        numbers, resumes = read_resuming(c, stream)
        save("stream_cut_and_resumed", {"numbers": numbers, "resumes": resumes}, started)


    @pytest.mark.runreplay
    def test_stream_resumed_by_the_client():
        started, c, numbers = time.perf_counter(), client(), []
        stream = c.responses.create(model="gpt-4.1-mini", input="Count to ten", stream=True, background=True)
        for event in stream:
            numbers.append(event.sequence_number)
            if event.type == "response.created":
                response_id = event.response.id
            if len(numbers) == 3:
                break
        stream.close()
        for event in c.responses.retrieve(response_id, stream=True, starting_after=numbers[-1]):
            numbers.append(event.sequence_number)
        save("stream_resumed_by_the_client", {"numbers": numbers}, started)
    """
)


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "asyncio", *args)


def _results(folder: Path, mode: str) -> dict[str, Any]:
    return {p.name.split(".")[0]: json.loads(p.read_text()) for p in folder.glob(f"*.{mode}.json")}


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The flows recorded once from the emulator (each lifecycle phase lasts 0.5 s, polls every 0.25 s)."""
    return _record(tmp_path_factory.mktemp("responses"))


def _record(folder: Path) -> tuple[Path, dict[str, Any]]:
    import os
    import subprocess
    import sys

    (folder / "tests").mkdir()
    (folder / "pytest.ini").write_text("[pytest]\nasyncio_mode = auto\n")
    (folder / "tests" / "test_flows.py").write_text(FLOWS)
    out = folder / "out"
    out.mkdir()
    env = {**os.environ, "RR_OUT": str(out), "RR_OUTPUT": '{"celsius": 21}'}
    with Emulator(port=0, phase_seconds=0.5) as emulator:
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--record-mode=once", "-q", "tests"],
            cwd=folder,
            env={**env, "RR_URL": emulator.base_url, "RR_MODE": "record"},
            capture_output=True,
            text=True,
            check=False,
        )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    return folder, env


def _replay(folder: Path, env: dict[str, str], *args: str, **extra: str) -> Any:
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "tests", *args],
        cwd=folder,
        env={**env, "RR_MODE": "replay", **extra},
        capture_output=True,
        text=True,
        check=False,
    )


def test_every_flow_replays_offline_with_the_recorded_results(recorded: tuple[Path, dict[str, Any]]) -> None:
    folder, env = recorded
    done = _replay(folder, env)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    record, replay = _results(folder / "out", "record"), _results(folder / "out", "replay")
    assert set(record) == set(replay)
    assert set(record) == {
        "background_poll",
        "background_poll_async",
        "cancel",
        "cancel_async",
        "function_call",
        "function_call_async",
        "failed",
        "stream_cut_and_resumed",
        "stream_cut_and_resumed_async",
        "stream_resumed_by_the_client",
    }
    for name in ("stream_cut_and_resumed", "stream_cut_and_resumed_async"):
        # The recording read its stream whole; the replay's was cut and resumed.
        assert (record[name].pop("resumes"), replay[name].pop("resumes")) == (0, 1), name
    for name in record:
        recorded_wall, replayed_wall = record[name].pop("wall_s"), replay[name].pop("wall_s")
        assert replay[name] == record[name], name
        if name in ("background_poll", "background_poll_async", "function_call", "function_call_async", "failed"):
            # Lifecycles recorded over a second or more of phases and real sleeps replay in milliseconds.
            timing = (name, recorded_wall, replayed_wall)
            assert recorded_wall > 1.0 and replayed_wall < min(0.8, recorded_wall / 4), timing
    assert record["background_poll"]["seen"] == ["queued", "in_progress", "completed"]
    assert record["cancel"]["seen"][0] == "queued" and record["cancel"]["status"] == "cancelled"
    assert record["failed"]["seen"][-1] == "failed" and record["failed"]["error"] == "server_error"
    assert record["function_call"]["calls"] == ["get_weather"]
    assert '{"celsius": 21}' in record["function_call"]["text"]
    for name in ("stream_cut_and_resumed", "stream_cut_and_resumed_async"):
        numbers = record[name]["numbers"]
        assert numbers == list(range(len(numbers))) and len(numbers) > 5, "the replay's cut stream was resumed whole"
    assert record["cancel_async"]["status"] == "cancelled"
    resumed = record["stream_resumed_by_the_client"]["numbers"]
    assert resumed == list(range(len(resumed)))


def test_the_replayed_function_call_is_checked_like_a_tool_output(recorded: tuple[Path, dict[str, Any]]) -> None:
    folder, env = recorded
    changed = _replay(folder, env, "-k", "test_function_call", RR_OUTPUT='{"celsius": 30}')
    assert changed.returncode == 1
    assert "tool outputs differ from the recording for openai-responses response" in changed.stdout
    relaxed = _replay(folder, env, "-k", "test_function_call", "--runreplay-tool-outputs=ids", RR_OUTPUT='{"c": 0}')
    assert relaxed.returncode == 0, relaxed.stdout[-3000:]


def test_the_cassettes_describe_responses_as_lifecycles(recorded: tuple[Path, dict[str, Any]]) -> None:
    folder, _ = recorded
    cassette = load(folder / "tests" / "cassettes" / "test_flows" / "test_function_call.json")
    assert cassette.meta["provider"] == "openai-responses"
    kinds = {(t["kind"], t["phases"][0]["trigger"]) for t in cassette.timelines}
    assert kinds == {("response", "create_response")}
    assert len(cassette.timelines) == 2  # the response that asked, the one that answered
    from runreplay.cli.show import describe

    shown = describe(cassette)
    assert [r["states"] for r in shown["resources"]] == [["queued", "in_progress", "completed"]] * 2
    notes = [note for row in shown["requests"] for note in row["notes"]]
    assert any(note.startswith("tool calls: call_") for note in notes)
    assert any(note.startswith("answers: call_") for note in notes)
