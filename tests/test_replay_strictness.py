"""Replay strictness and re-record guidance, with the openai SDK against recordings of the emulator.

A request that creates or changes something (a create, a cancel, a submit) is served once
per recording; reads repeat. A miss says how to re-record in a way that suits a stateful
API, and ``new_episodes`` warns when a live request names an id only the recording knows.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import openai
import pytest

from runreplay import ConfigError, RepeatedRequestError, ReplayedIdWarning, use_cassette
from runreplay.cassette import Body, Headers, Interaction, Request, Response
from runreplay.emulator import Emulator
from runreplay.engine.replayer import Replayer
from runreplay.errors import UnmatchedRequestError
from runreplay.options import MatchConfig, Options

PHASE = 0.05
OFFLINE = "http://127.0.0.1:9/v1"  # nothing listens: replay must not need a server
HELLO: Any = [{"role": "user", "content": "Hello"}]
TOOL = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}


def _client() -> openai.OpenAI:
    return openai.OpenAI(api_key="sk-test", base_url=OFFLINE, max_retries=0)


def _record_assistant(tmp_path: Path) -> Path:
    """A cassette holding one assistants.create and one retrieve of it."""
    cassette = tmp_path / "assistant.json"
    with Emulator(port=0, phase_seconds=PHASE) as emulator, use_cassette(cassette, record_mode="once"):
        client = openai.OpenAI(api_key="sk-test", base_url=emulator.url("openai"))
        assistant = client.beta.assistants.create(model="gpt-4o-mini", name="helper")
        client.beta.assistants.retrieve(assistant.id)
    return cassette


# ---------------------------------------------------------------------------- repeats


def test_a_second_create_fails_by_default_and_says_how_to_allow_it(tmp_path: Path) -> None:
    cassette = _record_assistant(tmp_path)
    client = _client()
    with pytest.raises(RepeatedRequestError) as caught, use_cassette(cassette) as session:
        client.beta.assistants.create(model="gpt-4o-mini", name="helper")
        client.beta.assistants.create(model="gpt-4o-mini", name="helper")
    message = str(caught.value)
    assert "POST /v1/assistants (create_assistant, role call) is asked for the 2nd time" in message
    assert f"{cassette} recorded it once" in message
    assert "allow_repeats=True or allow_repeats=['create_assistant']" in message
    assert "--record-mode=rewrite" in message
    assert session.unmatched == [message]  # a test that swallows it still fails under pytest


@pytest.mark.parametrize("allow", [True, ["create_assistant"], "create_assistant"])
def test_allow_repeats_lets_a_create_repeat(tmp_path: Path, allow: Any) -> None:
    cassette = _record_assistant(tmp_path)
    client = _client()
    with use_cassette(cassette, allow_repeats=allow, unused="ignore"):
        first = client.beta.assistants.create(model="gpt-4o-mini", name="helper")
        again = client.beta.assistants.create(model="gpt-4o-mini", name="helper")
    assert first.id == again.id


def test_allow_repeats_for_another_route_does_not_cover_the_create(tmp_path: Path) -> None:
    cassette = _record_assistant(tmp_path)
    client = _client()
    with pytest.raises(RepeatedRequestError), use_cassette(cassette, allow_repeats=["cancel_run"]):
        client.beta.assistants.create(model="gpt-4o-mini", name="helper")
        client.beta.assistants.create(model="gpt-4o-mini", name="helper")


def test_an_unknown_route_name_is_refused_with_a_hint(tmp_path: Path) -> None:
    cassette = _record_assistant(tmp_path)
    refused = r"allow_repeats: no API route is named 'create_asistant' \(did you mean 'create_assistant'\?\)"
    with pytest.raises(ConfigError, match=refused), use_cassette(cassette, allow_repeats=["create_asistant"]):
        pass


async def test_a_second_create_fails_and_is_allowed_async(tmp_path: Path) -> None:
    cassette = _record_assistant(tmp_path)
    client = openai.AsyncOpenAI(api_key="sk-test", base_url=OFFLINE, max_retries=0)
    with pytest.raises(RepeatedRequestError, match="create_assistant, role call"), use_cassette(cassette):
        await client.beta.assistants.create(model="gpt-4o-mini", name="helper")
        await client.beta.assistants.create(model="gpt-4o-mini", name="helper")
    with use_cassette(cassette, allow_repeats=True, unused="ignore"):
        first = await client.beta.assistants.create(model="gpt-4o-mini", name="helper")
        again = await client.beta.assistants.create(model="gpt-4o-mini", name="helper")
    assert first.id == again.id


def test_reads_and_polls_repeat_freely(tmp_path: Path) -> None:
    cassette = tmp_path / "run.json"
    with Emulator(port=0, phase_seconds=PHASE) as emulator, use_cassette(cassette, record_mode="once"):
        client = openai.OpenAI(api_key="sk-test", base_url=emulator.url("openai"))
        assistant = client.beta.assistants.create(model="gpt-4o-mini")
        thread = client.beta.threads.create(messages=HELLO)
        run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
        client.beta.assistants.retrieve(assistant.id)
    client = _client()
    with use_cassette(cassette) as session:
        client.beta.assistants.create(model="gpt-4o-mini")
        client.beta.threads.create(messages=HELLO)
        run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
        polls = [client.beta.threads.runs.retrieve(run.id, thread_id=thread.id).status for _ in range(5)]
        reads = [client.beta.assistants.retrieve(assistant.id).id for _ in range(3)]
    assert polls == ["completed"] * 5
    assert reads == [assistant.id] * 3
    assert session.unused() == []


def _record_tool_run(tmp_path: Path) -> tuple[Path, str, str, list[dict[str, str]]]:
    cassette = tmp_path / "tool.json"
    with Emulator(port=0, phase_seconds=PHASE) as emulator, use_cassette(cassette, record_mode="once"):
        client = openai.OpenAI(api_key="sk-test", base_url=emulator.url("openai"))
        assistant = client.beta.assistants.create(model="gpt-4o-mini", tools=[TOOL])  # type: ignore[list-item]
        thread = client.beta.threads.create(messages=HELLO)
        runs = client.beta.threads.runs
        run = runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=20)
        assert run.status == "requires_action"
        assert run.required_action is not None
        calls = run.required_action.submit_tool_outputs.tool_calls
        outputs = [{"tool_call_id": c.id, "output": "42"} for c in calls]
        runs.submit_tool_outputs_and_poll(
            run_id=run.id,
            thread_id=thread.id,
            tool_outputs=outputs,  # type: ignore[arg-type]
            poll_interval_ms=20,
        )
    return cassette, thread.id, run.id, outputs


def _replay_tool_run(client: openai.OpenAI, thread_id: str, outputs: list[dict[str, str]]) -> str:
    assistant = client.beta.assistants.create(model="gpt-4o-mini", tools=[TOOL])  # type: ignore[list-item]
    client.beta.threads.create(messages=HELLO)
    run = client.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=assistant.id)
    client.beta.threads.runs.submit_tool_outputs(run_id=run.id, thread_id=thread_id, tool_outputs=outputs)  # type: ignore[arg-type]
    return run.id


def test_a_submit_is_served_once(tmp_path: Path) -> None:
    cassette, thread_id, run_id, outputs = _record_tool_run(tmp_path)
    client = _client()
    with pytest.raises(RepeatedRequestError, match="submit_tool_outputs, role mutate"), use_cassette(cassette):
        _replay_tool_run(client, thread_id, outputs)
        client.beta.threads.runs.submit_tool_outputs(run_id=run_id, thread_id=thread_id, tool_outputs=outputs)  # type: ignore[arg-type]
    with use_cassette(cassette, allow_repeats=["submit_tool_outputs"], unused="ignore"):
        _replay_tool_run(client, thread_id, outputs)
        client.beta.threads.runs.submit_tool_outputs(run_id=run_id, thread_id=thread_id, tool_outputs=outputs)  # type: ignore[arg-type]


def test_a_cancel_is_served_once(tmp_path: Path) -> None:
    cassette = tmp_path / "cancel.json"
    with Emulator(port=0, phase_seconds=5) as emulator, use_cassette(cassette, record_mode="once"):
        client = openai.OpenAI(api_key="sk-test", base_url=emulator.url("openai"))
        assistant = client.beta.assistants.create(model="gpt-4o-mini")
        thread = client.beta.threads.create(messages=HELLO)
        run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
        assert client.beta.threads.runs.cancel(run.id, thread_id=thread.id).status == "cancelling"
    client = _client()

    def replay() -> None:
        client.beta.assistants.create(model="gpt-4o-mini")
        client.beta.threads.create(messages=HELLO)
        client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
        client.beta.threads.runs.cancel(run.id, thread_id=thread.id)

    with use_cassette(cassette):
        replay()  # once, as recorded
    with pytest.raises(RepeatedRequestError, match="cancel_run, role mutate"), use_cassette(cassette):
        replay()
        client.beta.threads.runs.cancel(run.id, thread_id=thread.id)


# ---------------------------------------------------------------------------- guidance


def test_a_create_that_misses_advises_rewrite(tmp_path: Path) -> None:
    cassette = _record_assistant(tmp_path)
    with pytest.raises(UnmatchedRequestError) as caught, use_cassette(cassette):
        _client().beta.assistants.create(model="gpt-4o-mini", name="renamed")
    message = str(caught.value)
    assert "POST /v1/assistants    (openai create_assistant)" in message
    assert "This request creates a resource (create_assistant)" in message
    assert "re-record the test with --record-mode=rewrite" in message
    assert "new_episodes adds" not in message


def test_a_miss_naming_a_recorded_id_advises_rewrite_and_one_naming_none_new_episodes(tmp_path: Path) -> None:
    cassette = _record_assistant(tmp_path)
    recorded_id = json.loads(cassette.read_text())["interactions"][0]["response"]["body"]["json"]["id"]
    with pytest.raises(UnmatchedRequestError) as caught, use_cassette(cassette):
        _client().beta.assistants.update(recorded_id, name="renamed")
    assert f"This request names {recorded_id}, an id only the recording gave out" in str(caught.value)
    with pytest.raises(UnmatchedRequestError) as caught, use_cassette(cassette):
        _client().beta.assistants.list(limit=3)
    assert "--record-mode=new_episodes adds this request (it names no recorded id)" in str(caught.value)


def test_new_episodes_warns_when_a_live_call_names_a_replayed_id(tmp_path: Path) -> None:
    cassette = tmp_path / "episodes.json"
    with Emulator(port=0, phase_seconds=PHASE) as emulator, use_cassette(cassette, record_mode="once"):
        client = openai.OpenAI(api_key="sk-test", base_url=emulator.url("openai"))
        assistant = client.beta.assistants.create(model="gpt-4o-mini", name="helper")
    with (
        warnings.catch_warnings(record=True) as seen,
        Emulator(port=0, phase_seconds=PHASE) as fresh,
        use_cassette(cassette, record_mode="new_episodes"),
    ):
        warnings.simplefilter("always")
        client = openai.OpenAI(api_key="sk-test", base_url=fresh.url("openai"), max_retries=0)
        replayed = client.beta.assistants.create(model="gpt-4o-mini", name="helper")
        assert replayed.id == assistant.id  # served from the recording: the fresh server never made it
        with pytest.raises(openai.NotFoundError):
            client.beta.assistants.retrieve(replayed.id)
        live = client.beta.threads.create()  # an id the live server gave this session...
        client.beta.threads.retrieve(live.id)  # ...is used without a warning
    (message,) = [str(w.message) for w in seen if issubclass(w.category, ReplayedIdWarning)]
    assert f"names {assistant.id}, an id only replayed replies from {cassette} gave out" in message
    assert "(it answered 404)" in message
    assert "--record-mode=rewrite" in message


# ---------------------------------------------------------------------------- closest candidates


def _interaction(method: str, path: str, body: Any, reply: Any) -> Interaction:
    request = Request(method, "https://api.openai.com/v1" + path, Headers(), Body.json(body))
    return Interaction(request, Response(200, Headers([("content-type", "application/json")]), Body.json(reply)))


def test_closest_candidates_of_the_same_route_come_first() -> None:
    text = {"role": "user", "content": "Where is my order A-1? Please look it up in the system."}
    recorded = [
        # another route, but a body almost equal to the request's: first by text similarity alone
        _interaction("POST", "/threads/thread_b/runs", {**text, "assistant_id": "asst_1"}, {"id": "run_1"}),
        # the request's own route (create_message), on another thread, with another text
        _interaction("POST", "/threads/thread_a/messages", {"role": "user", "content": "Hi"}, {"id": "msg_1"}),
    ]
    replayer = Replayer(recorded, MatchConfig(), name="c.json")
    request = _interaction("POST", "/threads/thread_b/messages", text, {}).request
    message = replayer.explain_miss(request)
    assert message.index("interaction #1") < message.index("interaction #0"), message
    unranked = replayer.matcher.explain_miss(replayer.key(request), "c.json")
    assert unranked.index("interaction #0") < unranked.index("interaction #1"), "the test must tell them apart"


@pytest.mark.parametrize(
    ("given", "parsed"),
    [
        (True, True),
        ("true", True),  # as an ini file gives it
        ("false", False),
        ("create_assistant, cancel_run", ("create_assistant", "cancel_run")),
        (["submit_tool_outputs"], ("submit_tool_outputs",)),
        ([], False),
    ],
)
def test_allow_repeats_takes_a_bool_or_route_names(given: Any, parsed: Any) -> None:
    assert Options.parse({"allow_repeats": given}).allow_repeats == parsed


def test_allow_repeats_refuses_other_values() -> None:
    with pytest.raises(ConfigError, match="allow_repeats must be True, False or a list of route names, not 3"):
        Options.parse({"allow_repeats": 3})
