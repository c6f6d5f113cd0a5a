"""The example cassettes committed under cassettes/ keep loading and replaying offline."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from runreplay import find_secrets, use_cassette
from runreplay.cassette import load
from runreplay.cli.demo import azure_agent_run, coze_chat, openai_background_response, openai_tool_run

CASSETTES = Path(__file__).resolve().parents[1] / "cassettes"
ALL = sorted(CASSETTES.rglob("*.json"))
SECRET = re.compile(r"\b(sk-[A-Za-z0-9_-]{8,}|pat_[A-Za-z0-9]{8,}|Bearer\s+(?!scrubbed-)[A-Za-z0-9._-]{8,})")


def test_examples_exist() -> None:
    assert {p.relative_to(CASSETTES).as_posix() for p in ALL} >= {
        "demo/openai_tool_run.json",
        "demo/openai_background_response.json",
        "demo/coze_chat.json",
        "demo/azure_agent_run.json",
        "imported/openllmetry_v2__test_new_assistant_with_polling.json",
        "imported/openai-dotnet__StreamingToolCall.json",
    }


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
def test_example_loads_and_holds_no_secret(path: Path) -> None:
    cassette = load(path)
    assert cassette.meta["runreplay"]
    assert len(cassette) > 0
    assert not SECRET.search(path.read_text()), f"secret-shaped value in {path}"
    assert find_secrets(cassette) == []


def test_demo_openai_cassette_replays_offline() -> None:
    with use_cassette(CASSETTES / "demo" / "openai_tool_run.json") as session:
        result = openai_tool_run("http://127.0.0.1:9/v1")
    assert result["statuses"] == ["requires_action", "completed"]
    assert sorted(result["steps"]) == ["message_creation", "tool_calls"]
    assert session.unused() == []


def test_demo_coze_cassette_replays_offline() -> None:
    with use_cassette(CASSETTES / "demo" / "coze_chat.json") as session:
        result = coze_chat("http://127.0.0.1:9")
    assert result["chat"]["status"] == "completed"
    assert result["stream_events"][0] == "conversation.chat.created"
    assert result["answers"]
    assert session.unused() == []


def test_demo_background_response_cassette_replays_offline() -> None:
    with use_cassette(CASSETTES / "demo" / "openai_background_response.json") as session:
        result = openai_background_response("http://127.0.0.1:9/v1")
    assert result["statuses"] == ["queued", "in_progress", "completed"] * 2
    assert result["calls"] == ["get_weather"] and "celsius" in result["text"]
    assert [r.states for r in session.resources] == [["queued", "in_progress", "completed"]] * 2
    assert session.unused() == []


def test_demo_azure_cassette_replays_offline() -> None:
    with use_cassette(CASSETTES / "demo" / "azure_agent_run.json") as session:
        result = azure_agent_run("http://127.0.0.1:9/api/projects/emulator")
    assert result["run"]["status"] == "completed"
    assert sorted(result["steps"]) == ["message_creation", "tool_calls"]
    # The SDK's handler answered the streamed tool call and went on reading the same iteration.
    events = result["stream_events"]
    assert events.index("thread.run.requires_action") < events.index("thread.run.completed")
    assert [a.count("celsius") for a in result["answers"]] == [1, 1]
    assert [r.states[-1] for r in session.resources] == ["completed", "completed"]
    assert session.unused() == []
