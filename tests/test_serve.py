"""``runreplay serve``: cassettes over HTTP, recorded through the proxy and replayed offline.

The clients are the real SDKs (openai-python) and httpx, pointed at the server's
``/<cassette>/v1`` base URL, as a client in any language would be.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from _paths import REPO

import runreplay
from runreplay import Emulator, load, validate_cassette
from runreplay.cli.demo import FUNCTION_TOOL, openai_tool_run

TOOL: Any = {"type": "function", "function": {"name": "lookup_order", "parameters": {"type": "object"}}}
KEY = "sk-" + "serve-test-not-a-real-key"  # in pieces: no credential-shaped literal in the source
DEMO = REPO / "cassettes" / "demo" / "openai_tool_run.json"


def _client(base_url: str, **kwargs: Any) -> openai.OpenAI:
    return openai.OpenAI(api_key=KEY, base_url=base_url, max_retries=kwargs.pop("max_retries", 0), **kwargs)


def stream_with_tool(base_url: str) -> dict[str, Any]:
    """``runs.stream`` to the tool call, answered by ``submit_tool_outputs_stream``."""
    client = _client(base_url)
    assistant = client.beta.assistants.create(model="gpt-4o-mini", tools=[TOOL])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Where is order A-1?"}])
    events: list[str] = []
    with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id) as stream:
        events += [event.event for event in stream]
        run = stream.current_run
    assert run is not None and run.required_action is not None, run
    calls = run.required_action.submit_tool_outputs.tool_calls
    outputs: Any = [{"tool_call_id": call.id, "output": "shipped"} for call in calls]
    with client.beta.threads.runs.submit_tool_outputs_stream(
        thread_id=thread.id, run_id=run.id, tool_outputs=outputs
    ) as stream:
        events += [event.event for event in stream]
        final = stream.get_final_run()
    return {"run": final.model_dump(), "events": events}


def raw_stream(base_url: str) -> tuple[bytes, int]:
    """A run streamed with plain httpx: its bytes as sent, and how many chunks they came in."""
    headers = {"authorization": f"Bearer {KEY}", "openai-beta": "assistants=v2"}
    with httpx.Client(base_url=base_url, headers=headers) as client:
        assistant = client.post("/assistants", json={"model": "gpt-4o-mini"}).json()
        thread = client.post("/threads", json={"messages": [{"role": "user", "content": "Hi"}]}).json()
        body = {"assistant_id": assistant["id"], "stream": True}
        with client.stream("POST", f"/threads/{thread['id']}/runs", json=body) as response:
            chunks = list(response.iter_raw())
    return b"".join(chunks), len(chunks)


def _flows(server: runreplay.server.ReplayServer) -> dict[str, Any]:
    return {
        "tool_run": openai_tool_run(server.url_for("tool_run") + "/v1"),
        "stream_run": stream_with_tool(server.url_for("stream_run") + "/v1"),
        "raw": raw_stream(server.url_for("raw") + "/v1"),
    }


def test_recorded_through_the_proxy_replays_offline_with_the_same_results(tmp_path: Path) -> None:
    with runreplay.serve(tmp_path, record_mode="once", upstream="emulator") as server:
        recorded = _flows(server)
        emulator_url = server.emulator.base_url if server.emulator else ""
    assert server.problems == {"tool_run": [], "stream_run": [], "raw": []}
    for name in ("tool_run", "stream_run", "raw"):
        cassette = load(tmp_path / f"{name}.json")
        assert cassette.interactions, name
        assert validate_cassette(cassette) == [], name
        text = (tmp_path / f"{name}.json").read_text(encoding="utf-8")
        assert KEY not in text  # scrubbed like a Python recording
        assert emulator_url in text  # the upstream's URL is what was recorded

    with runreplay.serve(tmp_path) as server:  # the emulator is gone: nothing but the cassettes
        replayed = _flows(server)
        reports = {name: server.report(name) for name in ("tool_run", "stream_run", "raw")}
    assert replayed == recorded
    body, chunks = replayed["raw"]
    assert body.count(b"\n\n") >= 3 and chunks >= 3  # served event by event, not as one body
    for name, report in reports.items():
        assert report["unused"] == 0 and report["unmatched"] == [], (name, report)
    assert reports["tool_run"]["resources"][0]["finished"] is True
    assert server.problems == {"tool_run": [], "stream_run": [], "raw": []}


def test_a_cassette_recorded_by_the_python_plugin_replays_through_serve(tmp_path: Path) -> None:
    shutil.copy(DEMO, tmp_path / "demo_run.json")
    with runreplay.serve(tmp_path) as server:
        result = openai_tool_run(server.url_for("demo_run") + "/v1")
        report = server.report("demo_run")
    assert result["statuses"] == ["requires_action", "completed"]
    assert result["run"]["status"] == "completed"
    assert report["replayed"] > 0 and report["unused"] == 0 and report["unmatched"] == []


def test_an_unmatched_request_gets_the_vendor_error_once_and_the_diff_is_logged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(DEMO, tmp_path / "demo_run.json")
    with runreplay.serve(tmp_path) as server:
        client = _client(server.url_for("demo_run") + "/v1", max_retries=3)
        with pytest.raises(openai.BadRequestError) as caught:
            client.beta.threads.create(messages=[{"role": "user", "content": "not what was recorded"}])
        raw = httpx.post(server.url_for("demo_run") + "/v1/threads", json={"metadata": {"x": "1"}})
        report = server.report("demo_run")
    assert "no recorded interaction" in caught.value.message
    assert raw.status_code == 400 and raw.headers["x-should-retry"] == "false"
    assert raw.json()["error"]["message"].startswith("runreplay: no recorded interaction")  # OpenAI's shape
    assert len(report["unmatched"]) == 2  # the SDK did not retry its request
    assert "not what was recorded" in capsys.readouterr().err


def test_an_unknown_cassette_is_a_404_naming_the_folder(tmp_path: Path) -> None:
    with runreplay.serve(tmp_path) as server:
        reply = httpx.get(server.url_for("missing") + "/v1/threads/thread_1")
        control = httpx.get(f"{server.url}/_runreplay/missing/report")
    assert reply.status_code == 404 and control.status_code == 404
    assert reply.headers["x-should-retry"] == "false"
    message = reply.json()["error"]["message"]
    assert str(tmp_path) in message and "missing.json" in message


def test_reset_starts_the_cassette_over_and_report_says_what_was_replayed(tmp_path: Path) -> None:
    shutil.copy(DEMO, tmp_path / "demo_run.json")
    with runreplay.serve(tmp_path) as server:
        base = server.url_for("demo_run") + "/v1"
        control = f"{server.url}/_runreplay/demo_run"
        first = openai_tool_run(base)
        report = httpx.get(f"{control}/report").json()
        with pytest.raises(openai.BadRequestError, match="asked for the 2nd time"):
            openai_tool_run(base)  # a create is served once per recording
        reset = httpx.post(f"{control}/reset")
        again = openai_tool_run(base)
        after = httpx.get(f"{control}/report").json()
    assert report["replayed"] > 0 and report["unused"] == 0 and report["unmatched"] == []
    assert report["resources"][0]["states"][-1] == "completed"
    assert reset.status_code == 200 and reset.json()["reset"] is True
    assert again == first
    assert after["replayed"] == report["replayed"] and after["unmatched"] == []


def test_polls_are_answered_on_the_recorded_timeline_with_short_poll_hints(tmp_path: Path) -> None:
    """The emulator asks for a poll every 20 ms over phases of 0.15 s: many polls. Replayed,
    the SDK is told 5 ms, and the virtual clock moves one recorded poll per poll."""

    def create_and_poll(base_url: str, seen: list[httpx.Response]) -> str:
        http = httpx.Client(event_hooks={"response": [seen.append]})
        client = _client(base_url, http_client=http)
        assistant = client.beta.assistants.create(model="gpt-4o-mini")
        thread = client.beta.threads.create(messages=[{"role": "user", "content": "Hi"}])
        return client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id).status

    emulator = Emulator(phase_seconds=0.15, poll_after_ms=20).start()
    try:
        with runreplay.serve(tmp_path, record_mode="once", upstream=emulator.base_url) as server:
            recorded_status = create_and_poll(server.url_for("polled") + "/v1", [])
            recorded = server.report("polled")["resources"][0]
    finally:
        emulator.stop()
    seen: list[httpx.Response] = []
    with runreplay.serve(tmp_path) as server:
        started = time.perf_counter()
        status = create_and_poll(server.url_for("polled") + "/v1", seen)
        wall = time.perf_counter() - started
        replayed = server.report("polled")["resources"][0]
    assert status == recorded_status == "completed"
    assert recorded["polls"] >= 5
    assert abs(replayed["polls"] - recorded["polls"]) <= 1, (recorded, replayed)
    assert replayed["states"] == recorded["states"]
    polls = [r for r in seen if r.request.method == "GET" and "/runs/" in r.request.url.path]
    assert polls and all(r.headers["openai-poll-after-ms"] == "5" for r in polls)
    assert wall < recorded["virtual_ms"] / 1000


def _wait_for(path: Path, process: subprocess.Popen[str], seconds: float = 30) -> str:
    deadline = time.monotonic() + seconds
    while not (path.exists() and path.read_text(encoding="utf-8").strip()):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the server did not write its ready file"
        time.sleep(0.05)
    return path.read_text(encoding="utf-8").strip()


def test_the_cli_writes_its_ready_file_and_sigterm_saves_the_recording(tmp_path: Path) -> None:
    ready, folder = tmp_path / "url.txt", tmp_path / "cassettes"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    command = [sys.executable, "-m", "runreplay.cli", "serve", str(folder), "--record-mode", "once"]
    command += ["--upstream", "emulator", "--ready-file", str(ready)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        url = _wait_for(ready, process)
        assistant = _client(f"{url}/cli_run/v1").beta.assistants.create(model="gpt-4o-mini", name="cli")
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert url in out and "stopped" in out
    cassette = load(folder / "cli_run.json")
    assert [i.request.method for i in cassette.interactions] == ["POST"]
    assert cassette.interactions[0].response.body.json_value["id"] == assistant.id


def test_a_cassette_left_half_replayed_is_reported_when_the_server_stops(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(DEMO, tmp_path / "demo_run.json")
    with runreplay.serve(tmp_path) as server:
        _client(server.url_for("demo_run") + "/v1").beta.assistants.create(
            model="gpt-4o-mini", name="Weather", tools=[FUNCTION_TOOL]
        )
    (problem,) = server.problems["demo_run"]
    assert "were never replayed" in problem
    assert "never replayed" in capsys.readouterr().err
