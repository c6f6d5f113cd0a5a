"""Azure AI Agents: the azure-ai-agents SDK and openai-python's AzureOpenAI against the emulator,
recorded then replayed offline; the Azure SDKs' own real recordings validated, shown and replayed.
"""

from __future__ import annotations

import json
import re
import time
import warnings
from pathlib import Path
from typing import Any

import openai
import pytest
import requests
from _paths import TRAFFIC
from azure.ai.agents import AgentsClient
from azure.ai.agents.models import FunctionTool
from click.testing import CliRunner

from runreplay import SanitizedIdWarning, use_cassette
from runreplay.cassette import Cassette, Request, load, save
from runreplay.checks.drift import drift
from runreplay.checks.validation import check_cassette
from runreplay.cli.demo import weather_agent
from runreplay.cli.schemas import drift as drift_command
from runreplay.cli.show import describe
from runreplay.emulator import Emulator
from runreplay.emulator.azure_agents import agents_client
from runreplay.importers import import_file
from runreplay.providers import Unrouted, find, match

AZURE_TRAFFIC = sorted((TRAFFIC / "azure-agents").glob("*.json"))
OFFLINE = "http://127.0.0.1:9"  # nothing listens there: replay must not need a server


def get_weather(city: str) -> str:
    """The weather in a city.

    :param city: The city's name.
    :return: The weather, as JSON.
    """
    return json.dumps({"city": city, "weather": "sunny", "celsius": 21})


def project_client(base: str) -> AgentsClient:
    return agents_client(f"{base}/api/projects/demo-project")


def azure_flow(base: str) -> dict[str, Any]:
    """Agent, thread, message, create_and_process with a function tool, steps paged by 1, a cancel."""
    client = project_client(base)
    agent, thread = weather_agent(client, "What is the weather in Paris?")
    run = client.runs.create_and_process(thread_id=thread.id, agent_id=agent.id, polling_interval=0.25)
    steps = list(client.run_steps.list(thread_id=thread.id, run_id=run.id, limit=1))
    second = client.runs.create(thread_id=thread.id, agent_id=agent.id)
    cancelled = client.runs.cancel(thread_id=thread.id, run_id=second.id)
    answer = next(iter(client.messages.list(thread_id=thread.id)))
    client.delete_agent(agent.id)
    return {
        "status": run.status,
        "usage": run.usage.as_dict() if run.usage else None,
        "steps": [(s.id, s.type, s.step_details.as_dict()) for s in steps],
        "cancel": cancelled.status,
        "answer": answer.as_dict(),
    }


def test_azure_sdk_records_then_replays_offline_in_milliseconds(tmp_path: Path) -> None:
    cassette = tmp_path / "azure.json"
    started = time.perf_counter()
    with Emulator(port=0, phase_seconds=0.4) as emulator, use_cassette(cassette, record_mode="once") as rec:
        recorded = azure_flow(emulator.base_url)
    recorded_s = time.perf_counter() - started
    assert rec.recorded and recorded["status"] == "completed" and recorded["cancel"] == "cancelling"
    # Two steps (the tool call, the answer), fetched one page of one at a time.
    assert [kind for _, kind, _ in recorded["steps"]] == ["message_creation", "tool_calls"]
    assert "21" in json.dumps(recorded["answer"])  # the tool's output reached the answer
    saved = load(cassette)
    paths = [i.request.path for i in saved.interactions]
    assert any("submit_tool_outputs" in p for p in paths)
    assert any("after=step_" in i.request.url for i in saved.interactions)
    assert all(isinstance(match(i), Unrouted) is False for i in saved.interactions)
    assert {match(i).provider.name for i in saved.interactions} == {"azure"}  # type: ignore[union-attr]

    started = time.perf_counter()
    with use_cassette(cassette, record_mode="none") as replay:
        replayed = azure_flow(OFFLINE)
    replay_s = time.perf_counter() - started
    assert replayed == recorded
    assert not replay.recorded
    assert recorded_s > 1.5, recorded_s  # queued -> in_progress -> requires_action -> ... over seconds
    assert replay_s < 0.5, replay_s


def test_azure_sdk_stream_with_a_tool_call_records_and_replays(tmp_path: Path) -> None:
    def flow(base: str) -> list[str]:
        client = project_client(base)
        tool = FunctionTool({get_weather})
        agent = client.create_agent(model="gpt-4o", name="weather", instructions="Use tools.", tools=tool.definitions)
        thread = client.threads.create()
        client.messages.create(thread_id=thread.id, role="user", content="Weather in Oslo?")
        events: list[str] = []
        with client.runs.stream(thread_id=thread.id, agent_id=agent.id) as stream:
            for name, data, _ in stream:
                events.append(str(name))
                if name == "thread.run.requires_action":
                    calls = data.required_action.submit_tool_outputs.tool_calls
                    outputs = [{"tool_call_id": c.id, "output": tool.execute(c)} for c in calls]
                    client.runs.submit_tool_outputs(thread_id=thread.id, run_id=data.id, tool_outputs=outputs)
        run = client.runs.get(thread_id=thread.id, run_id=next(iter(client.runs.list(thread_id=thread.id))).id)
        return [*events, f"final:{run.status}"]

    cassette = tmp_path / "stream.json"
    with Emulator(port=0, phase_seconds=0.05) as emulator, use_cassette(cassette, record_mode="once"):
        recorded = flow(emulator.base_url)
    assert "thread.run.requires_action" in recorded
    with use_cassette(cassette, record_mode="none") as replay:
        replayed = flow(OFFLINE)
    assert replayed == recorded
    assert not replay.recorded


def test_azure_openai_client_run_with_a_tool_call(tmp_path: Path) -> None:
    tool = {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }

    def flow(base: str) -> dict[str, Any]:
        client = openai.AzureOpenAI(azure_endpoint=base, api_key="any-key", api_version="2024-05-01-preview")
        assistant = client.beta.assistants.create(model="gpt-4o", tools=[tool])  # type: ignore[list-item]
        thread = client.beta.threads.create(messages=[{"role": "user", "content": "Weather in Rome?"}])
        run = client.beta.threads.runs.create_and_poll(
            thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=50
        )
        assert run.required_action is not None
        calls = run.required_action.submit_tool_outputs.tool_calls
        run = client.beta.threads.runs.submit_tool_outputs_and_poll(
            run_id=run.id, thread_id=thread.id, tool_outputs=[{"tool_call_id": c.id, "output": "sunny"} for c in calls]
        )
        return {"status": run.status, "calls": [c.function.name for c in calls], "run": run.model_dump()}

    cassette = tmp_path / "aoai.json"
    with Emulator(port=0, phase_seconds=0.05) as emulator, use_cassette(cassette, record_mode="once"):
        recorded = flow(emulator.base_url)
    assert recorded["status"] == "completed" and recorded["calls"] == ["get_weather"]
    saved = load(cassette)
    assert all(
        "/openai/threads" in i.request.path or "/openai/assistants" in i.request.path for i in saved.interactions
    )
    found = {match(i).version for i in saved.interactions}  # type: ignore[union-attr]
    assert found == {"2024-05-01-preview"}
    with use_cassette(cassette, record_mode="none") as replay:
        replayed = flow(OFFLINE)
    assert replayed == recorded and not replay.recorded


def test_api_version_is_matched_unless_allowed(tmp_path: Path) -> None:
    cassette = tmp_path / "versions.json"

    def create_thread(base: str, version: str) -> str:
        client = agents_client(f"{base}/api/projects/p", api_version=version)
        return str(client.threads.create().id)

    with Emulator(port=0) as emulator, use_cassette(cassette, record_mode="once"):
        recorded = create_thread(emulator.base_url, "v1")
    from runreplay.errors import UnmatchedRequestError

    with pytest.raises(UnmatchedRequestError), use_cassette(cassette, record_mode="none"):
        create_thread(OFFLINE, "2025-05-15-preview")
    with use_cassette(cassette, record_mode="none", allow_versions=["v1", "2025-05-15-preview"]):
        assert create_thread(OFFLINE, "2025-05-15-preview") == recorded


# ---------------------------------------------------------------------------- path shapes

HUB = (
    "/agents/v1.0/subscriptions/0000-sub/resourceGroups/rg-1/providers/"
    "Microsoft.MachineLearningServices/workspaces/ws-1"
)
SHAPES = {
    "foundry": ("https://res.services.ai.azure.com/api/projects/proj", "?api-version=v1"),
    "hub": (f"https://eastus.api.azureml.ms{HUB}", "?api-version=2024-12-01-preview"),
    "azure-openai": ("https://res.openai.azure.com/openai", "?api-version=2024-05-01-preview"),
}


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("method", "path", "route"),
    [
        ("POST", "/threads/thread_1/runs", "create_run"),
        ("GET", "/threads/thread_1/runs/run_1", "retrieve_run"),
        ("POST", "/threads/thread_1/runs/run_1/submit_tool_outputs", "submit_tool_outputs"),
        ("POST", "/threads/thread_1/runs/run_1/cancel", "cancel_run"),
        ("GET", "/threads/thread_1/runs/run_1/steps", "list_steps"),
        ("POST", "/threads/runs", "create_thread_and_run"),
    ],
)
def test_every_azure_path_shape_routes_to_the_run_protocol(shape: str, method: str, path: str, route: str) -> None:
    base, query = SHAPES[shape]
    found = find(Request(method, base + path + query))
    assert found is not None, (shape, path)
    assert (found.provider.name, found.route.name) == ("azure", route)
    # Without the Azure prefix the same path is not an Azure endpoint.
    bare = find(Request(method, "https://res.services.ai.azure.com" + path + query))
    assert bare is None or bare.provider.name != "azure"


# ---------------------------------------------------------------------------- real recordings


def import_real(path: Path) -> Cassette:
    """A real recording imported; the Python ones say their run ids were put back in the URLs
    (tests/test_azure_scrub_import.py checks that warning)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SanitizedIdWarning)
        return import_file(path)


@pytest.fixture(params=AZURE_TRAFFIC, ids=lambda p: p.stem)
def real(request: pytest.FixtureRequest) -> Cassette:
    return import_real(request.param)


def test_real_recordings_are_routed_and_valid(real: Cassette) -> None:
    for interaction in real.interactions:
        found = match(interaction)
        assert not isinstance(found, Unrouted), (interaction.request.url, found)
        assert found.provider.name == "azure"
    assert check_cassette(real) == []
    report = drift([real])
    assert report.findings == [], [f.format() for f in report.findings]


def test_real_recordings_show_one_run_each(real: Cassette) -> None:
    described = describe(real)
    runs = [r for r in described["resources"] if " run " in r["resource"]]
    assert len(runs) == 1, runs
    assert runs[0]["states"][-1] == "completed"
    sanitized = any("/runs/Sanitized" in i.request.url for i in real.interactions)
    assert runs[0]["url_ids"] == (["Sanitized"] if sanitized else [])


def test_real_recordings_replay(real: Cassette, tmp_path: Path) -> None:
    path = save(real, tmp_path / "real.json")
    # Sent back to back: polls are served in recorded order, not by the virtual time between them.
    with use_cassette(path, record_mode="none", replay_mode="sequence") as session:
        for interaction in real.interactions:
            request = interaction.request
            body = request.body.json_value
            reply = requests.request(request.method, request.url, json=body if body is not None else None, timeout=5)
            assert reply.status_code == interaction.response.status
    assert session.replayed_count == len(real.interactions)


def test_drift_reports_a_mutated_azure_recording(tmp_path: Path) -> None:
    """A new run status, a new field on the run and a changed tool type in a step: all three
    are reported at their Azure endpoint, and the two breaking ones make drift exit 1."""
    source = TRAFFIC / "azure-agents" / "azure-sdk-assets-py__test_bing_grounding_tool.json"
    cassette = import_real(source)
    run_path = re.compile(r"/threads/[^/]+/runs/[^/]+$")
    polls = [i for i in cassette.interactions if i.request.method == "GET" and run_path.search(i.request.path)]
    polls[0].response.body.json_value["status"] = "paused"
    polls[1].response.body.json_value["reasoning_summary"] = {"text": "new"}
    steps = next(
        i for i in cassette.interactions if i.request.path.endswith("/steps") and "after=" not in i.request.url
    )
    steps.response.body.json_value["data"][1]["step_details"]["tool_calls"][0]["type"] = "bing_grounding_v2"
    clean = save(import_real(source), tmp_path / "clean.json")
    mutated = save(cassette, tmp_path / "mutated.json")

    assert CliRunner().invoke(drift_command, [str(clean)]).exit_code == 0
    result = CliRunner().invoke(drift_command, [str(mutated)])
    assert result.exit_code == 1, result.output
    assert "'paused'" in result.output or '"paused"' in result.output
    assert "reasoning_summary" in result.output
    assert "bing_grounding_v2" in result.output
    assert "(azure 2025-05-15-preview)" in result.output
