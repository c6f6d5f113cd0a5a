"""openai-node and coze-js through ``runreplay serve``: each flow of tests/node/ recorded through the
proxy in front of the emulator, then replayed offline with the same result; and one cassette
format for every language (a Python recording replays to openai-node, a Node one to openai-python).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import openai
import pytest
from _node import FLOWS, Flow, NodeClients, check

from runreplay import serve, use_cassette
from runreplay.cassette import load
from runreplay.emulator import Emulator

#: The poll interval while recording (the emulator's phases last 50 ms): replays get none and
#: follow the server's openai-poll-after-ms.
POLL_MS = 20
OFFLINE = "http://127.0.0.1:9/v1"  # nothing listens there: an in-process replay needs no server


def record_then_replay(node_clients: NodeClients, flow: Flow, folder: Path) -> tuple[Any, dict[str, Any]]:
    """The flow's result recorded through the proxy, and the replay's output and report."""
    with serve(folder, record_mode="once", upstream="emulator") as proxy:
        recorded = node_clients.run(flow, proxy.url_for(flow.name), poll_ms=POLL_MS)["result"]
    with serve(folder) as server:
        replayed = node_clients.run(flow, server.url_for(flow.name))
        report = server.report(flow.name)
    return recorded, {"output": replayed, "report": report}


@pytest.mark.parametrize("flow", FLOWS, ids=str)
def test_every_flow_records_through_the_proxy_and_replays_offline(
    node_clients: NodeClients, flow: Flow, tmp_path: Path
) -> None:
    recorded, replay = record_then_replay(node_clients, flow, tmp_path)
    check(flow, recorded)
    assert replay["output"]["result"] == recorded
    report = replay["report"]
    assert report["mode"] == "replay" and report["unmatched"] == [], report
    assert report["unused"] == 0 and report["replayed"] > 0, report
    cassette = load(tmp_path / f"{flow.name}.json")
    assert len(cassette.interactions) >= report["replayed"] - report["unused"]


# ------------------------------------------------------------------------- one format for all


WEATHER: Any = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def python_create_and_poll(client: openai.OpenAI, poll_ms: int) -> dict[str, Any]:
    """What tests/node/openai_create_and_poll.mjs does, through openai-python, summarised alike."""
    labels: dict[str, str] = {}

    def ref(kind: str, raw: str) -> str:
        return labels.setdefault(raw, f"{kind}#{sum(v.startswith(kind + '#') for v in labels.values()) + 1}")

    assistant = client.beta.assistants.create(model="gpt-4o-mini", tools=[WEATHER])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "What is the weather in Paris?"}])
    asked = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=poll_ms
    )
    assert asked.required_action is not None
    calls = asked.required_action.submit_tool_outputs.tool_calls
    done = client.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=asked.id,
        thread_id=thread.id,
        tool_outputs=[{"tool_call_id": c.id, "output": f"sunny, 21 C ({c.function.name})"} for c in calls],
        poll_interval_ms=poll_ms,
    )
    page = client.beta.threads.messages.list(thread_id=thread.id, order="asc")
    return {
        "run": ref("run", asked.id),
        "same_run": done.id == asked.id,
        "statuses": [asked.status, done.status],
        "tool_calls": [
            {"id": ref("call", c.id), "name": c.function.name, "arguments": json.loads(c.function.arguments)}
            for c in calls
        ],
        "messages": [
            {"role": m.role, "text": "".join(p.text.value if p.type == "text" else f"[{p.type}]" for p in m.content)}
            for m in page.data
        ],
    }


def test_a_python_recording_replays_to_openai_node(node_clients: NodeClients, tmp_path: Path) -> None:
    with Emulator(port=0, phase_seconds=0.05) as emu, use_cassette(tmp_path / "from_python.json", record_mode="once"):
        recorded = python_create_and_poll(openai.OpenAI(api_key="sk-test", base_url=emu.base_url + "/v1"), POLL_MS)
    with serve(tmp_path) as server:
        replayed = node_clients.run("openai_create_and_poll", server.url_for("from_python"))["result"]
        report = server.report("from_python")
    check("openai_create_and_poll", replayed)
    assert replayed == recorded
    assert report["unmatched"] == [] and report["unused"] == 0, report


def test_a_node_recording_replays_to_openai_python(node_clients: NodeClients, tmp_path: Path) -> None:
    with serve(tmp_path, record_mode="once", upstream="emulator") as proxy:
        recorded = node_clients.run("openai_create_and_poll", proxy.url_for("from_node"), poll_ms=POLL_MS)["result"]
    with use_cassette(tmp_path / "from_node.json", record_mode="none") as session:
        replayed = python_create_and_poll(openai.OpenAI(api_key="sk-test", base_url=OFFLINE), POLL_MS)
    assert replayed == recorded
    assert session.report()["unused"] == 0


def test_a_long_polling_lifecycle_replays_through_openai_node_in_well_under_its_time(
    node_clients: NodeClients, tmp_path: Path
) -> None:
    """Phases of 0.4 s polled every 100 ms while recording; openai-node left to the server's
    pacing on replay (it would sleep 5 s a poll on its own)."""
    with (
        Emulator(port=0, phase_seconds=0.4) as emu,
        serve(tmp_path, record_mode="once", upstream=emu.base_url) as proxy,
    ):
        started = time.perf_counter()
        recorded = node_clients.run("openai_create_and_poll", proxy.url_for("long"), poll_ms=100)
        recording_s = time.perf_counter() - started
    with serve(tmp_path) as server:
        replayed = node_clients.run("openai_create_and_poll", server.url_for("long"))
    assert replayed["result"] == recorded["result"]
    assert recording_s > 1.5
    # Node's own start-up is most of a replay: compare what the flow itself took.
    assert replayed["elapsed_ms"] < min(1000, recorded["elapsed_ms"] / 3), (replayed, recorded)
