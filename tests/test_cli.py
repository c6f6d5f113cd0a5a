"""The runreplay command line: import, emulate, demo, and its error paths."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from _paths import TRAFFIC
from click.testing import CliRunner

from runreplay.cassette import encode_body, load
from runreplay.cli import main

SHARED = TRAFFIC


def test_import_folder_of_real_traffic(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["import", str(SHARED / "openai-assistants"), "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    written = sorted(tmp_path.glob("*.json"))
    assert len(written) == len(list((SHARED / "openai-assistants").iterdir()))
    streamed = load(tmp_path / "openllmetry_v1__test_streaming_new_assistant.json")
    sse = [i for i in streamed if i.response.body.kind == "sse"]
    assert len(sse) == 1 and sse[0].response.body.events[-1].event == "done"
    assert "imported 22 recording(s)" in result.output


def test_import_missing_source_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["import", str(tmp_path / "nope.yaml"), "-o", str(tmp_path)])
    assert result.exit_code == 2
    assert "nope.yaml: no such file or folder" in result.output


def test_import_broken_file_names_file_and_place(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("interactions:\n- request: {method: GET\n")
    result = CliRunner().invoke(main, ["import", str(bad), "-o", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert result.output.startswith("runreplay: error: ")
    assert "bad.yaml" in result.output and "line" in result.output
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_unknown_command_and_help() -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["frobnicate"]).exit_code == 2
    result = runner.invoke(main, ["--help"])
    assert result.exit_code == 0
    for command in ("demo", "emulate", "import"):
        assert command in result.output


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_emulate_serves_on_loopback_until_stopped() -> None:
    port = _free_port()
    options = ["--port", str(port), "--phase-seconds", "0.05", "--coze-failing-bot", "7350001"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "runreplay.cli", "emulate", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                response = httpx.post(f"http://127.0.0.1:{port}/v1/threads", json={})
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline, "emulator did not start"
                time.sleep(0.05)
        assert response.status_code == 200
        assert response.json()["object"] == "thread"
        chat = {"bot_id": "7350001", "user_id": "u1", "stream": True, "additional_messages": []}
        stream = httpx.post(f"http://127.0.0.1:{port}/v3/chat", json=chat).text
        assert "event:conversation.chat.failed" in stream, "--coze-failing-bot makes that bot's chats fail"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_demo_records_and_replays(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "runreplay.cli", "demo", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "demo passed" in result.stdout
    assert "requires_action" in result.stdout
    openai_cassette = json.loads((tmp_path / "openai_tool_run.json").read_text())
    urls = [i["request"]["url"] for i in openai_cassette["interactions"]]
    assert any(u.endswith("/submit_tool_outputs") for u in urls)
    coze = load(tmp_path / "coze_chat.json")
    assert any(i.response.body.kind == "sse" for i in coze)
    assert "sk-demo-not-a-real-key" not in (tmp_path / "openai_tool_run.json").read_text()
    assert "pat_demo_not_a_real_token" not in (tmp_path / "coze_chat.json").read_text()
    # The Azure agent run: create_and_process and a stream, each with a tool call, at Foundry paths.
    assert re.search(r"azure_agent_run: \d+ interactions, \d+ SSE events", result.stdout), result.stdout
    assert re.search(r"azure_agent_run: \d+ interactions replayed .* result identical", result.stdout)
    azure = load(tmp_path / "azure_agent_run.json")
    assert all("/api/projects/emulator/" in i.request.path for i in azure)
    assert sum("/submit_tool_outputs" in i.request.path for i in azure) == 2
    assert [i.request.method for i in azure if i.response.body.kind == "sse"] == ["POST", "POST"]
    assert "eyJ" not in (tmp_path / "azure_agent_run.json").read_text()  # the made-up JWT was scrubbed


def test_import_exact_keeps_stream_bytes(tmp_path: Path) -> None:
    import yaml

    source = SHARED / "openai-assistants" / "openllmetry_v1__test_streaming_new_assistant.yaml"
    raw = next(
        i["response"]["body"]["string"]
        for i in yaml.safe_load(source.read_text())["interactions"]
        if "text/event-stream" in str(i["response"]["headers"].get("content-type", i["response"]["headers"]))
    )
    result = CliRunner().invoke(main, ["import", "--exact", str(source), "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    (sse,) = [i for i in load(tmp_path / f"{source.stem}.json") if i.response.body.kind == "sse"]
    assert encode_body(sse.response.body) == raw.encode("utf-8")
