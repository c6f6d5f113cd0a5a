"""``--runreplay-emulator``: a suite records from an emulator nobody started by hand, then replays
with none started (the ini key, the network blocked)."""

from __future__ import annotations

from pathlib import Path

import pytest

from runreplay.cassette import load
from runreplay.checks.validation import validate_cassette

pytest_plugins = ["pytester"]

CONFTEST = """
import socket

import pytest

STARTED = []


@pytest.fixture(autouse=True)
def _seen(runreplay_emulator):
    if runreplay_emulator is not None and runreplay_emulator not in STARTED:
        STARTED.append(runreplay_emulator)


def pytest_sessionfinish(session):
    # Session fixtures are finalized by now: the emulator must have stopped and closed its port.
    listening = []
    for emulator in STARTED:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", emulator.port)) == 0:
                listening.append(emulator.port)
    print(f"\\nemulators started: {len(STARTED)}, still listening: {len(listening)}")
"""

SUITE = """
import os

import cozepy
import openai
import pytest

WEATHER = {
    "type": "function",
    "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}},
}


def check_environment(emulator, session):
    if session.recording:
        assert emulator is not None and emulator.running
        assert os.environ["OPENAI_BASE_URL"] == emulator.url("openai")
        assert os.environ["COZE_API_BASE"] == emulator.url("coze")
    else:  # replaying: nothing started, the SDKs point where nothing listens
        assert emulator is None
        assert os.environ["OPENAI_BASE_URL"] == "http://127.0.0.1:9/v1"
        assert os.environ["COZE_API_BASE"] == "http://127.0.0.1:9"


@pytest.mark.runreplay
def test_openai_tool_run(runreplay_emulator, runreplay_cassette):
    check_environment(runreplay_emulator, runreplay_cassette)
    client = openai.OpenAI(max_retries=0)  # base URL and key from the environment
    assistant = client.beta.assistants.create(model="gpt-4o-mini", tools=[WEATHER])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Weather in Paris?"}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "requires_action"
    calls = run.required_action.submit_tool_outputs.tool_calls
    outputs = [{"tool_call_id": call.id, "output": "21 C"} for call in calls]
    run = client.beta.threads.runs.submit_tool_outputs_and_poll(
        thread_id=thread.id, run_id=run.id, tool_outputs=outputs
    )
    assert run.status == "completed"
    (message,) = client.beta.threads.messages.list(thread_id=thread.id, run_id=run.id).data
    assert "21 C" in message.content[0].text.value


@pytest.mark.runreplay
def test_coze_chat(runreplay_emulator, runreplay_cassette):
    check_environment(runreplay_emulator, runreplay_cassette)
    coze = cozepy.Coze(auth=cozepy.TokenAuth(os.environ["COZE_API_TOKEN"]), base_url=os.environ["COZE_API_BASE"])
    question = [cozepy.Message.build_user_question_text("Weather in Paris?")]
    events = [e.event for e in coze.chat.stream(bot_id="7350000000000001", user_id="u1", additional_messages=question)]
    assert events[-1] == cozepy.ChatEventType.CONVERSATION_CHAT_COMPLETED


def test_unmarked_tests_see_no_emulator(runreplay_emulator):
    assert runreplay_emulator is None
    assert "OPENAI_BASE_URL" not in os.environ and "COZE_API_BASE" not in os.environ
"""

#: What the suite's SDKs could find in the environment; the outer test removes it all.
SDK_VARIABLES = ("OPENAI_BASE_URL", "OPENAI_API_KEY", "COZE_API_BASE", "COZE_API_TOKEN")


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-s", *args)


def test_records_from_a_self_started_emulator_then_replays_without_one(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in SDK_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_suite=SUITE)
    pytester.makeini("[pytest]\nfilterwarnings = ignore::DeprecationWarning\n")

    recording = _run(pytester, "--runreplay-emulator", "--runreplay-record-mode=once")
    recording.assert_outcomes(passed=3)
    recording.stdout.fnmatch_lines(["emulators started: 1, still listening: 0"])
    cassettes = sorted(Path(pytester.path, "cassettes", "test_suite").glob("*.json"))
    assert [c.name for c in cassettes] == ["test_coze_chat.json", "test_openai_tool_run.json"]
    for cassette in cassettes:
        assert validate_cassette(load(cassette)) == []

    pytester.makeini(
        "[pytest]\nfilterwarnings = ignore::DeprecationWarning\nrunreplay_emulator = true\n"
        "runreplay_record_mode = once\n"
    )
    replaying = _run(pytester, "--block-network")
    replaying.assert_outcomes(passed=3)
    replaying.stdout.fnmatch_lines(["emulators started: 0, still listening: 0"])


def test_without_the_option_nothing_starts(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SDK_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(
        test_plain="""
import os
import pytest

@pytest.mark.runreplay(record_mode="all")
def test_records_but_no_emulator(runreplay_emulator):
    assert runreplay_emulator is None and "OPENAI_BASE_URL" not in os.environ
"""
    )
    result = _run(pytester)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["emulators started: 0, still listening: 0"])


def test_a_bad_phase_length_names_the_ini_key(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nrunreplay_emulator = true\nrunreplay_emulator_phase_seconds = fast\n")
    pytester.makepyfile(
        test_bad="""
import pytest

@pytest.mark.runreplay(record_mode="all")
def test_records():
    pass
"""
    )
    result = _run(pytester)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*runreplay_emulator_phase_seconds in *tox.ini: expected a positive number*'fast'*"])
    result.stdout.no_fnmatch_line("*Traceback*")
