"""Polling on a virtual clock: recorded lifecycles replay at any poll rate, in milliseconds.

Recordings come from the emulator over real sockets with the official SDKs, or from the
real vendor traffic in tests/data/real-traffic; replays run with nothing listening.
"""

from __future__ import annotations

import email.utils
import json
import time
from pathlib import Path
from typing import Any

import cozepy
import openai
import pytest
from _paths import TRAFFIC

from runreplay import UnusedInteractionsWarning, use_cassette
from runreplay.cassette import Body, Cassette, Headers, Interaction, Request, Response, load, save
from runreplay.emulator import Emulator
from runreplay.errors import UnmatchedRequestError, UnusedInteractionsError
from runreplay.importers import import_file

SHARED = TRAFFIC / "openai-assistants"
OFFLINE_OPENAI = "http://127.0.0.1:9/v1"
OFFLINE_COZE = "http://127.0.0.1:9"
TOOL: Any = {
    "type": "function",
    "function": {
        "name": "lookup_order",
        "parameters": {"type": "object", "properties": {"order": {"type": "string"}}},
    },
}
RECORDED_INTERVAL_MS = 50


def _outputs(run: Any, text: str = "shipped") -> Any:
    return [{"tool_call_id": c.id, "output": text} for c in run.required_action.submit_tool_outputs.tool_calls]


def tool_run(base_url: str, interval_ms: int) -> dict[str, Any]:
    client = openai.OpenAI(api_key="sk-test", base_url=base_url)
    runs = client.beta.threads.runs
    assistant = client.beta.assistants.create(model="gpt-4o-mini", tools=[TOOL])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Where is A-1?"}])
    waiting = runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=interval_ms)
    done = runs.submit_tool_outputs_and_poll(
        run_id=waiting.id, thread_id=thread.id, tool_outputs=_outputs(waiting), poll_interval_ms=interval_ms
    )
    steps = runs.steps.list(run_id=done.id, thread_id=thread.id, order="asc")
    return {"waiting": waiting.model_dump(), "done": done.model_dump(), "steps": [s.model_dump() for s in steps.data]}


async def atool_run(base_url: str, interval_ms: int) -> dict[str, Any]:
    client = openai.AsyncOpenAI(api_key="sk-test", base_url=base_url)
    runs = client.beta.threads.runs
    assistant = await client.beta.assistants.create(model="gpt-4o-mini", tools=[TOOL])
    thread = await client.beta.threads.create(messages=[{"role": "user", "content": "Where is A-1?"}])
    waiting = await runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=interval_ms)
    done = await runs.submit_tool_outputs_and_poll(
        run_id=waiting.id, thread_id=thread.id, tool_outputs=_outputs(waiting), poll_interval_ms=interval_ms
    )
    steps = await runs.steps.list(run_id=done.id, thread_id=thread.id, order="asc")
    return {"waiting": waiting.model_dump(), "done": done.model_dump(), "steps": [s.model_dump() for s in steps.data]}


@pytest.fixture(scope="module")
def tool_run_cassette(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    path = tmp_path_factory.mktemp("polling") / "tool_run.json"
    with Emulator(port=0, phase_seconds=0.1) as emulator, use_cassette(path, record_mode="once"):
        recorded = tool_run(emulator.url("openai"), RECORDED_INTERVAL_MS)
    return path, recorded


@pytest.mark.parametrize("factor", [0.1, 10], ids=["10x-more-often", "10x-less-often"])
def test_openai_create_and_poll_at_another_poll_rate(tool_run_cassette: tuple[Path, Any], factor: float) -> None:
    path, recorded = tool_run_cassette
    started = time.perf_counter()
    with use_cassette(path) as session:
        replayed = tool_run(OFFLINE_OPENAI, int(RECORDED_INTERVAL_MS * factor))
    assert time.perf_counter() - started < 2.0
    assert replayed["done"] == recorded["done"]
    assert replayed["done"]["status"] == "completed"
    assert replayed["steps"] == recorded["steps"]
    assert replayed["waiting"]["status"] == "requires_action"
    (run,) = session.resources
    assert run.states[-1] == "completed"
    assert "requires_action" in run.states
    assert session.unused() == []
    if factor < 1:
        assert run.polls > 2 * sum(1 for i in load(path) if i.request.method == "GET" and "/runs/run_" in i.request.url)


@pytest.mark.parametrize("factor", [0.1, 10], ids=["10x-more-often", "10x-less-often"])
async def test_async_openai_create_and_poll_at_another_poll_rate(tmp_path: Path, factor: float) -> None:
    path = tmp_path / "async_tool_run.json"
    with Emulator(port=0, phase_seconds=0.1) as emulator, use_cassette(path, record_mode="once"):
        recorded = await atool_run(emulator.url("openai"), RECORDED_INTERVAL_MS)
    started = time.perf_counter()
    with use_cassette(path) as session:
        replayed = await atool_run(OFFLINE_OPENAI, int(RECORDED_INTERVAL_MS * factor))
    assert time.perf_counter() - started < 2.0
    assert replayed["done"] == recorded["done"]
    assert replayed["steps"] == recorded["steps"]
    assert session.resources[0].states[-1] == "completed"


def test_sixty_seconds_of_real_polling_replay_in_well_under_a_second(tmp_path: Path) -> None:
    # openai-dotnet recorded this run against api.openai.com: 40 polls over 60 s.
    path = save(import_file(SHARED / "openai-dotnet__BasicRunStepFunctionalityWorks.json"), tmp_path / "c.json")
    client = openai.OpenAI(api_key="sk-test", base_url=OFFLINE_OPENAI)
    run_id, thread_id = _first_run(path)
    started, wall_clock = time.perf_counter(), time.time()
    with use_cassette(path, unused="ignore") as session:
        run = client.beta.threads.runs.poll(run_id, thread_id=thread_id, poll_interval_ms=1000)
        virtual_now = time.time()
    wall = time.perf_counter() - started
    assert run.status == "completed"
    assert session.virtual_seconds >= 59
    assert virtual_now - wall_clock > 59 or virtual_now < wall_clock  # the clock read the recorded era
    assert wall < 1.0, f"60 s of polling took {wall:.2f} s of wall time"


def _first_run(path: Path) -> tuple[str, str]:
    for interaction in load(path):
        body = interaction.response.body
        if body.kind == "json" and isinstance(body.value, dict) and body.value.get("object") == "thread.run":
            return str(body.value["id"]), str(body.value["thread_id"])
    raise AssertionError(f"no run in {path}")


# ---------------------------------------------------------------------------- real traffic, every mode


def _function_tools_flow(base_url: str) -> dict[str, Any]:
    client = openai.OpenAI(api_key="sk-test", base_url=base_url)
    tool: Any = {
        "type": "function",
        "function": {
            "description": "gets the user's favorite food for a given day of the week, like Tuesday",
            "name": "get_favorite_food_for_day_of_week",
            "parameters": {
                "type": "object",
                "properties": {
                    "day_of_week": {"type": "string", "description": "a day of the week, like Tuesday or Saturday"}
                },
            },
        },
    }
    assistant = client.beta.assistants.create(model="gpt-4o", tools=[tool])
    run = client.beta.threads.create_and_run_poll(
        assistant_id=assistant.id,
        thread={"messages": [{"role": "user", "content": "What should I eat on Thursday?"}]},
        poll_interval_ms=1000,
    )
    waiting = run.status
    run = client.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id, thread_id=run.thread_id, tool_outputs=_outputs(run, "tacos"), poll_interval_ms=1000
    )
    messages = client.beta.threads.messages.list(thread_id=run.thread_id, order="desc")
    return {"waiting": waiting, "status": run.status, "answer": messages.data[0].content[0].text.value}  # type: ignore[union-attr]


@pytest.mark.parametrize("mode", ["timeline", "sequence", "fast"])
def test_real_function_tools_recording_in_every_mode(tmp_path: Path, mode: str) -> None:
    # openai-dotnet: requires_action x9, submit_tool_outputs, then completed (assistants=v2).
    path = save(import_file(SHARED / "openai-dotnet__FunctionToolsWork.json"), tmp_path / "c.json")
    started = time.perf_counter()
    with use_cassette(path, replay_mode=mode, unused="ignore") as session:
        result = _function_tools_flow(OFFLINE_OPENAI)
    assert time.perf_counter() - started < 2.0
    assert result["waiting"] == "requires_action"
    assert result["status"] == "completed"
    assert "taco" in result["answer"].lower()
    (run,) = session.resources
    assert run.states == ["queued", "in_progress", "requires_action", "queued", "in_progress", "completed"]
    polls = {"fast": 4, "sequence": 5}.get(mode)
    if polls is not None:
        # fast: one poll per distinct state (in_progress, requires_action; in_progress,
        # completed); sequence: the recorded polls in order until the SDK stops at
        # requires_action (2), then 3 after the submit. The recording's extra requires_action
        # polls (the .NET test kept polling) are never needed.
        assert run.polls == polls


# ---------------------------------------------------------------------------- tool-call round trip


def test_wrong_tool_call_id_fails_with_the_round_trip_message(tool_run_cassette: tuple[Path, Any]) -> None:
    path, _ = tool_run_cassette
    client = openai.OpenAI(api_key="sk-test", base_url=OFFLINE_OPENAI)
    runs = client.beta.threads.runs
    with use_cassette(path, unused="ignore"):
        assistant = client.beta.assistants.create(model="gpt-4o-mini", tools=[TOOL])
        thread = client.beta.threads.create(messages=[{"role": "user", "content": "Where is A-1?"}])
        run = runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=5)
        real_id = run.required_action.submit_tool_outputs.tool_calls[0].id  # type: ignore[union-attr]
        with pytest.raises(UnmatchedRequestError) as info:
            runs.submit_tool_outputs(
                run_id=run.id, thread_id=thread.id, tool_outputs=[{"tool_call_id": "call_wrong", "output": "x"}]
            )
    message = str(info.value)
    assert "tool-call round trip broken" in message
    assert f"missing: ['{real_id}']" in message
    assert "extra: ['call_wrong']" in message


def test_tool_output_text_policy(tool_run_cassette: tuple[Path, Any]) -> None:
    path, _ = tool_run_cassette

    def submit_other_text(policy: str) -> str:
        client = openai.OpenAI(api_key="sk-test", base_url=OFFLINE_OPENAI)
        runs = client.beta.threads.runs
        with use_cassette(path, tool_outputs=policy, unused="ignore"):
            assistant = client.beta.assistants.create(model="gpt-4o-mini", tools=[TOOL])
            thread = client.beta.threads.create(messages=[{"role": "user", "content": "Where is A-1?"}])
            run = runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=5)
            done = runs.submit_tool_outputs_and_poll(
                run_id=run.id, thread_id=thread.id, tool_outputs=_outputs(run, "lost"), poll_interval_ms=5
            )
        return done.status

    with pytest.raises(UnmatchedRequestError, match="tool outputs differ from the recording"):
        submit_other_text("match")
    assert submit_other_text("ids") == "completed"


# ---------------------------------------------------------------------------- cancel, Coze


def test_cancel_flow_walks_cancelling_then_cancelled(tmp_path: Path) -> None:
    path = tmp_path / "cancel.json"

    def flow(base_url: str) -> list[str]:
        client = openai.OpenAI(api_key="sk-test", base_url=base_url)
        runs = client.beta.threads.runs
        assistant = client.beta.assistants.create(model="gpt-4o-mini")
        thread = client.beta.threads.create(messages=[{"role": "user", "content": "long job"}])
        run = runs.create(thread_id=thread.id, assistant_id=assistant.id)
        seen = [run.status, runs.cancel(run_id=run.id, thread_id=thread.id).status]
        final = runs.poll(run.id, thread_id=thread.id, poll_interval_ms=20)
        return [*seen, final.status]

    with Emulator(port=0, phase_seconds=0.1) as emulator, use_cassette(path, record_mode="once"):
        recorded = flow(emulator.url("openai"))
    with use_cassette(path) as session:
        replayed = flow(OFFLINE_OPENAI)
    assert replayed == recorded == ["queued", "cancelling", "cancelled"]
    assert session.resources[0].states == ["queued", "cancelling", "cancelled"]


COZE_BOT = "7350000000000plain"


def _coze_poll(base_url: str, poll_timeout: int | None) -> dict[str, Any]:
    coze = cozepy.Coze(auth=cozepy.TokenAuth("pat_test"), base_url=base_url)
    question = [cozepy.Message.build_user_question_text("Tell me a long story")]
    polled = coze.chat.create_and_poll(
        bot_id=COZE_BOT, user_id="u1", additional_messages=question, poll_timeout=poll_timeout
    )
    return {
        "chat": polled.chat.model_dump(),
        "messages": [m.model_dump() for m in polled.messages or []],
    }


@pytest.mark.parametrize(
    ("phase", "poll_timeout", "final"),
    [(0.5, None, "completed"), (6.0, 1, "canceled")],
    ids=["plain", "poll-timeout-cancels"],
)
def test_cozepy_create_and_poll_replays_identically(
    tmp_path: Path, phase: float, poll_timeout: int | None, final: str
) -> None:
    path = tmp_path / "coze.json"
    with Emulator(port=0, phase_seconds=phase) as emulator, use_cassette(path, record_mode="once"):
        recorded = _coze_poll(emulator.url("coze"), poll_timeout)
    started = time.perf_counter()
    with use_cassette(path) as session:
        replayed = _coze_poll(OFFLINE_COZE, poll_timeout)
    assert time.perf_counter() - started < 1.0, "cozepy's 1 s sleeps must cost no wall time"
    assert replayed == recorded
    assert session.resources[0].states[-1] == final
    assert session.unused() == []
    assert session.virtual_seconds >= 1


# ---------------------------------------------------------------------------- server-directed waits


def _api_cassette(path: Path, retry_headers: list[tuple[str, str]]) -> Path:
    url = "https://api.openai.com/v1/threads/thread_1/runs/run_1"
    run = {
        "id": "run_1",
        "object": "thread.run",
        "thread_id": "thread_1",
        "assistant_id": "asst_1",
        "status": "completed",
        "created_at": 1,
        "model": "gpt-4o-mini",
        "tools": [],
        **dict.fromkeys(
            [
                "expires_at",
                "started_at",
                "cancelled_at",
                "failed_at",
                "completed_at",
                "instructions",
                "metadata",
                "required_action",
                "last_error",
                "usage",
                "temperature",
                "top_p",
                "max_prompt_tokens",
                "max_completion_tokens",
                "truncation_strategy",
                "incomplete_details",
                "response_format",
                "tool_choice",
            ]
        ),
    }
    busy = Response(
        429,
        Headers([("content-type", "application/json"), *retry_headers]),
        Body.json({"error": {"message": "Rate limit", "type": "requests", "param": None, "code": None}}),
    )
    ok = Response(200, Headers([("content-type", "application/json")]), Body.json(run))
    items = [Interaction(Request("GET", url), busy, 0), Interaction(Request("GET", url), ok, 30_000)]
    return save(Cassette(items, meta={"recorded_at": "2024-05-01T12:00:00.000+00:00"}), path)


@pytest.mark.parametrize(
    "headers",
    [
        [("retry-after-ms", "30000")],
        [("retry-after", "30")],
        [("retry-after", email.utils.formatdate(1714564830, usegmt=True))],  # recorded time + 30 s
    ],
    ids=["retry-after-ms", "retry-after-seconds", "retry-after-date"],
)
def test_retry_after_is_honoured_in_virtual_time(tmp_path: Path, headers: list[tuple[str, str]]) -> None:
    path = _api_cassette(tmp_path / "retry.json", headers)
    client = openai.OpenAI(api_key="sk-test", base_url=OFFLINE_OPENAI, max_retries=2)
    started = time.perf_counter()
    with use_cassette(path) as session:
        run = client.beta.threads.runs.retrieve("run_1", thread_id="thread_1")
    assert run.status == "completed"
    assert time.perf_counter() - started < 1.0
    assert 25 <= session.virtual_seconds <= 31


def test_openai_poll_after_ms_is_honoured_in_virtual_time(tmp_path: Path) -> None:
    path = tmp_path / "poll_after.json"
    with Emulator(port=0, phase_seconds=0.05, poll_after_ms=20) as emulator, use_cassette(path, record_mode="once"):
        client = openai.OpenAI(api_key="sk-test", base_url=emulator.url("openai"))
        assistant = client.beta.assistants.create(model="gpt-4o-mini")
        thread = client.beta.threads.create(messages=[{"role": "user", "content": "Hi"}])
        client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    # The server now asks for 5 s between polls.
    cassette = load(path)
    for interaction in cassette:
        if "openai-poll-after-ms" in interaction.response.headers:
            interaction.response.headers.set("openai-poll-after-ms", "5000")
    save(cassette)
    client = openai.OpenAI(api_key="sk-test", base_url=OFFLINE_OPENAI)
    started = time.perf_counter()
    with use_cassette(path) as session:
        client.beta.assistants.create(model="gpt-4o-mini")
        client.beta.threads.create(messages=[{"role": "user", "content": "Hi"}])
        run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "completed"
    assert time.perf_counter() - started < 1.0
    assert session.clock is not None and session.clock.sleeps >= 1
    assert session.clock.slept_s == pytest.approx(5.0 * session.clock.sleeps)


# ---------------------------------------------------------------------------- unused interactions, opt-out


def test_a_client_that_stops_polling_early_is_reported(tool_run_cassette: tuple[Path, Any]) -> None:
    path, _ = tool_run_cassette

    def stop_at_requires_action(unused: str) -> None:
        client = openai.OpenAI(api_key="sk-test", base_url=OFFLINE_OPENAI)
        with use_cassette(path, unused=unused):
            assistant = client.beta.assistants.create(model="gpt-4o-mini", tools=[TOOL])
            thread = client.beta.threads.create(messages=[{"role": "user", "content": "Where is A-1?"}])
            client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)

    with pytest.warns(UnusedInteractionsWarning, match="never replayed") as record:
        stop_at_requires_action("warn")
    (warning,) = [w for w in record if w.category is UnusedInteractionsWarning]
    assert "submit_tool_outputs" in str(warning.message)
    with pytest.raises(UnusedInteractionsError, match="submit_tool_outputs"):
        stop_at_requires_action("error")


def test_virtual_clock_can_be_switched_off(tmp_path: Path) -> None:
    path = _api_cassette(tmp_path / "retry.json", [("retry-after-ms", "300")])
    client = openai.OpenAI(api_key="sk-test", base_url=OFFLINE_OPENAI, max_retries=1)
    started = time.perf_counter()
    with use_cassette(path, virtual_clock=False, replay_mode="sequence") as session:
        client.beta.threads.runs.retrieve("run_1", thread_id="thread_1")
    assert time.perf_counter() - started >= 0.3, "without the virtual clock the SDK really sleeps"
    assert session.clock is None


def test_the_recorded_timeline_is_kept_in_the_cassette(tool_run_cassette: tuple[Path, Any]) -> None:
    path, _ = tool_run_cassette
    doc = json.loads(path.read_text())
    (timeline,) = doc["timelines"]
    assert timeline["provider"] == "openai" and timeline["kind"] == "run"
    assert [p["trigger"] for p in timeline["phases"]] == ["create_run", "submit_tool_outputs"]
    first = [s["status"] for s in timeline["phases"][0]["states"]]
    assert first[0] == "queued" and first[-1] == "requires_action"
    assert all(
        a["at_ms"] <= b["at_ms"] for p in timeline["phases"] for a, b in zip(p["states"], p["states"][1:], strict=False)
    )
