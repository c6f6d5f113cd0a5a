"""azure-ai-agents, sync (requests) and async (aiohttp), through the pytest plugin: a suite marked
``runreplay`` records from the emulator ``--runreplay-emulator`` starts, then replays with the
network blocked and no emulator, returning what it returned while recording, in milliseconds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from runreplay.cassette import BodyKind, load
from runreplay.checks.validation import validate_cassette
from runreplay.providers import match

pytest_plugins = ["pytester"]

SUITE = '''
import json
import os
import time
from pathlib import Path

import pytest
from azure.ai.agents.models import AsyncFunctionTool, AsyncToolSet, FunctionTool, ToolSet

from runreplay.emulator.azure_agents import agents_client, async_agents_client

RESULTS = Path(__file__).parent / "results"
POLL_S = 0.25


def get_weather(city: str) -> str:
    """The weather in a city.

    :param city: The city's name.
    :return: The weather, as JSON.
    """
    return json.dumps({"city": city, "celsius": 21})


async def get_weather_async(city: str) -> str:
    """The weather in a city, from a coroutine.

    :param city: The city's name.
    :return: The weather, as JSON.
    """
    return get_weather(city)


@pytest.fixture
def endpoint(runreplay_emulator, runreplay_cassette):
    url = os.environ["PROJECT_ENDPOINT"]
    if runreplay_cassette.recording:
        assert url == runreplay_emulator.url("azure")
    else:  # replaying: nothing started, the SDK points where nothing listens
        assert runreplay_emulator is None and url == "http://127.0.0.1:9/api/projects/emulator"
    return url


@pytest.fixture
def keep(request, runreplay_cassette):
    """Saves what a test's flow returned and how long it took, by phase, for the outer test."""
    started = time.perf_counter()

    def save(result):
        phase = "recorded" if runreplay_cassette.recording else "replayed"
        RESULTS.mkdir(exist_ok=True)
        seconds = time.perf_counter() - started
        text = json.dumps({"seconds": seconds, "result": result}, default=str, sort_keys=True)
        (RESULTS / f"{request.node.name}.{phase}.json").write_text(text)

    return save


def summary(run, steps, cancelled, messages):
    return {
        "run": run.as_dict(),
        "steps": [(step.id, step["type"]) for step in steps],
        "cancelled": cancelled.status,
        "answers": [m.text_messages[-1].text.value for m in messages if m.role == "assistant"],
    }


@pytest.mark.runreplay
def test_sync_lifecycle(endpoint, keep):
    client = agents_client(endpoint)
    toolset = ToolSet()
    toolset.add(FunctionTool({get_weather}))
    client.enable_auto_function_calls(toolset)  # create_and_process answers through submit_tool_outputs
    agent = client.create_agent(model="gpt-4o", name="weather", instructions="Use tools.", toolset=toolset)
    thread = client.threads.create()
    client.messages.create(thread_id=thread.id, role="user", content="Weather in Paris?")
    run = client.runs.create_and_process(thread_id=thread.id, agent_id=agent.id, polling_interval=POLL_S)
    steps = list(client.run_steps.list(thread_id=thread.id, run_id=run.id, limit=1))
    second = client.runs.create(thread_id=thread.id, agent_id=agent.id)
    cancelled = client.runs.cancel(thread_id=thread.id, run_id=second.id)
    messages = list(client.messages.list(thread_id=thread.id))
    client.delete_agent(agent.id)
    assert run.status == "completed" and cancelled.status == "cancelling"
    keep(summary(run, steps, cancelled, messages))


@pytest.mark.runreplay
def test_sync_stream(endpoint, keep):
    client = agents_client(endpoint)
    # The SDK's own handler flow: the stream answers its tool call with submit_tool_outputs_stream
    # and the answer's events follow in the same iteration (the async test submits by hand).
    client.enable_auto_function_calls({get_weather})
    tool = FunctionTool({get_weather})
    agent = client.create_agent(model="gpt-4o", name="weather", instructions="Use tools.", tools=tool.definitions)
    thread = client.threads.create()
    client.messages.create(thread_id=thread.id, role="user", content="Weather in Oslo?")
    with client.runs.stream(thread_id=thread.id, agent_id=agent.id) as stream:
        events = [str(name) for name, _, _ in stream]
    assert "thread.run.requires_action" in events
    assert events[-2:] == ["thread.run.completed", "done"]
    keep(events)


@pytest.mark.runreplay
async def test_async_lifecycle(endpoint, keep):
    async with async_agents_client(endpoint) as client:
        toolset = AsyncToolSet()
        toolset.add(AsyncFunctionTool({get_weather_async}))
        client.enable_auto_function_calls(toolset)
        agent = await client.create_agent(model="gpt-4o", name="weather", instructions="Use tools.", toolset=toolset)
        thread = await client.threads.create()
        await client.messages.create(thread_id=thread.id, role="user", content="Weather in Rome?")
        run = await client.runs.create_and_process(thread_id=thread.id, agent_id=agent.id, polling_interval=POLL_S)
        steps = [s async for s in client.run_steps.list(thread_id=thread.id, run_id=run.id, limit=1)]
        second = await client.runs.create(thread_id=thread.id, agent_id=agent.id)
        cancelled = await client.runs.cancel(thread_id=thread.id, run_id=second.id)
        messages = [m async for m in client.messages.list(thread_id=thread.id)]
        await client.delete_agent(agent.id)
    assert run.status == "completed" and cancelled.status == "cancelling"
    keep(summary(run, steps, cancelled, messages))


@pytest.mark.runreplay
async def test_async_stream(endpoint, keep):
    async with async_agents_client(endpoint) as client:
        tool = AsyncFunctionTool({get_weather_async})
        agent = await client.create_agent(
            model="gpt-4o", name="weather", instructions="Use tools.", tools=tool.definitions
        )
        thread = await client.threads.create()
        await client.messages.create(thread_id=thread.id, role="user", content="Weather in Lima?")
        events = []
        async with await client.runs.stream(thread_id=thread.id, agent_id=agent.id) as stream:
            async for name, data, _ in stream:
                events.append(str(name))
                if name == "thread.run.requires_action":
                    calls = data.required_action.submit_tool_outputs.tool_calls
                    outputs = [{"tool_call_id": c.id, "output": await tool.execute(c)} for c in calls]
                    # The answer's events continue in the same iteration.
                    await client.runs.submit_tool_outputs_stream(
                        thread_id=thread.id, run_id=data.id, tool_outputs=outputs, event_handler=stream
                    )
    assert "thread.run.requires_action" in events
    assert events[-2:] == ["thread.run.completed", "done"]
    keep(events)
'''

CONFTEST = """
STARTED = set()


def pytest_runtest_teardown(item):
    emulator = item.funcargs.get("runreplay_emulator")
    if emulator is not None:
        STARTED.add(id(emulator))


def pytest_sessionfinish(session):
    print(f"\\nemulators started: {len(STARTED)}")
"""

TESTS = ("test_sync_lifecycle", "test_sync_stream", "test_async_lifecycle", "test_async_stream")
#: Each run phase of the emulator lasts this long, so a recorded lifecycle spans seconds.
PHASE_S = 0.3


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "asyncio", "-s", "--runreplay-emulator", *args)


def _results(root: Path, phase: str) -> dict[str, dict[str, Any]]:
    return {name: json.loads((root / "results" / f"{name}.{phase}.json").read_text()) for name in TESTS}


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A project with the suite, its SDK's environment variable unset."""
    monkeypatch.delenv("PROJECT_ENDPOINT", raising=False)
    pytester.makeini(
        f"[pytest]\nasyncio_mode = auto\nrunreplay_emulator_phase_seconds = {PHASE_S}\n"
        "filterwarnings = ignore::DeprecationWarning\n"
    )
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_agents=SUITE)
    return pytester


def test_azure_sdk_sync_and_async_record_then_replay_offline(project: pytest.Pytester) -> None:
    pytester = project
    recording = _run(pytester, "--runreplay-record-mode=once")
    recording.assert_outcomes(passed=len(TESTS))
    recording.stdout.fnmatch_lines(["emulators started: 1"])
    folder = Path(pytester.path, "cassettes", "test_agents")
    cassettes = {name: load(folder / f"{name}.json") for name in TESTS}
    for name, cassette in cassettes.items():
        assert validate_cassette(cassette) == [], name
        assert {match(i).provider.name for i in cassette} == {"azure"}, name  # type: ignore[union-attr]
    for name in ("test_sync_lifecycle", "test_async_lifecycle"):
        urls = [i.request.url for i in cassettes[name]]
        assert any(u.split("?")[0].endswith("/submit_tool_outputs") for u in urls), name
        assert any(u.split("?")[0].endswith("/cancel") for u in urls), name
        assert any("/steps?" in u and "after=step_" in u for u in urls), name  # the second page of one step
    for name in ("test_sync_stream", "test_async_stream"):
        streamed = [i for i in cassettes[name] if i.response.body.kind is BodyKind.SSE]
        assert [i.request.path.rsplit("/", 1)[-1] for i in streamed] == ["runs", "submit_tool_outputs"], name

    replaying = _run(pytester, "--runreplay-record-mode=none", "--block-network")
    replaying.assert_outcomes(passed=len(TESTS))
    replaying.stdout.fnmatch_lines(["emulators started: 0"])

    recorded, replayed = _results(pytester.path, "recorded"), _results(pytester.path, "replayed")
    for name in TESTS:
        assert replayed[name]["result"] == recorded[name]["result"], name
    for name in ("test_sync_lifecycle", "test_async_lifecycle"):
        answers = recorded[name]["result"]["answers"]
        assert len(answers) == 1 and "celsius" in answers[0], answers  # the tool's output reached the answer
        # queued -> in_progress -> requires_action -> queued -> in_progress -> completed, polled.
        assert recorded[name]["seconds"] > 4 * PHASE_S, recorded[name]["seconds"]
        # Polls and sleeps replay on the virtual clock: milliseconds, not the recorded seconds.
        assert replayed[name]["seconds"] < min(0.5, recorded[name]["seconds"] / 5), (name, replayed[name])


def test_azure_sdk_streams_are_recorded_event_by_event(project: pytest.Pytester) -> None:
    """requests (sync) and aiohttp (async) pass a run stream through while recording: each event
    keeps the time it arrived, so the first stream (queued -> in_progress -> requires_action,
    one emulator phase each) spans the phases rather than arriving as one blob at the end."""
    _run(project, "--runreplay-record-mode=once", "-k", "stream").assert_outcomes(passed=2, deselected=2)
    for name in ("test_sync_stream", "test_async_stream"):
        cassette = load(Path(project.path, "cassettes", "test_agents", f"{name}.json"))
        first = next(i for i in cassette if i.response.body.kind is BodyKind.SSE)
        times = [event.at_ms for event in first.response.body.events]
        assert times[-1] - times[0] >= PHASE_S * 1000, (name, times)
