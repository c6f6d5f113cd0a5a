"""Streamed runs and chats are equal to polled ones: tool calls, resources, report and show.

Each flow asks for a tool call and answers it, recorded from the local emulator through
the real SDK (sync and async): OpenAI ``runs.stream`` and ``create_and_run_stream``, each
answered by ``submit_tool_outputs_stream``; cozepy ``chat.stream`` answered by a streamed
submit or by a plain one followed by polls. Replaying it with other output text passes
under ``tool_outputs="ids"`` and fails by default naming the call; answering a call that
was never asked for fails in both modes; the run or chat is listed with every status its
streams and polls showed, while recording as while replaying, by ``report()`` and by
``runreplay show``.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import re
import textwrap
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cozepy
import openai
import pytest
from click.testing import CliRunner

from runreplay import UnmatchedRequestError, use_cassette
from runreplay.cassette import load
from runreplay.cli import main
from runreplay.emulator import Emulator

pytest_plugins = ["pytester"]

OFFLINE = {"openai": "http://127.0.0.1:9/v1", "coze": "http://127.0.0.1:9"}
PHASE = 0.05
TOOL: Any = {"type": "function", "function": {"name": "lookup_order", "parameters": {"type": "object"}}}
QUESTION = "Where is order A-1?"
COZE_TOOL_BOT = "7350000000000tool"
RECORDED_OUTPUT = "shipped"
WRONG_ID = "call_never_asked_for"
# What the emulator's runs and chats walk through: asked for the tool, then answered.
RUN_WALK = ["queued", "in_progress", "requires_action", "queued", "in_progress", "completed"]
CHAT_WALK = ["created", "in_progress", "requires_action", "in_progress", "completed"]


@dataclass
class Answer:
    """How a flow answers its tool calls: the output text, and whether with a wrong call id."""

    output: str = RECORDED_OUTPUT
    wrong_id: bool = False

    def openai(self, calls: Any) -> Any:
        return [{"tool_call_id": WRONG_ID if self.wrong_id else c.id, "output": self.output} for c in calls]

    def coze(self, calls: Any) -> list[cozepy.ToolOutput]:
        return [cozepy.ToolOutput(tool_call_id=WRONG_ID if self.wrong_id else c.id, output=self.output) for c in calls]


#: What a flow returns: the status it ended in, and the call ids it was asked to answer.
Outcome = tuple[str, list[str]]
Flow = Callable[[str, Answer], Outcome | Awaitable[Outcome]]


# ---------------------------------------------------------------------------- OpenAI


def _openai(base_url: str) -> openai.OpenAI:
    return openai.OpenAI(api_key="sk-test", base_url=base_url, max_retries=0)


def _aopenai(base_url: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(api_key="sk-test", base_url=base_url, max_retries=0)


def _calls(run: Any) -> Any:
    assert run is not None and run.status == "requires_action", run
    return run.required_action.submit_tool_outputs.tool_calls


def _submit_stream(client: openai.OpenAI, run: Any, answer: Answer) -> Outcome:
    calls = _calls(run)
    with client.beta.threads.runs.submit_tool_outputs_stream(
        thread_id=run.thread_id, run_id=run.id, tool_outputs=answer.openai(calls)
    ) as stream:
        stream.until_done()
        final = stream.get_final_run()
    return final.status, [c.id for c in calls]


async def _asubmit_stream(client: openai.AsyncOpenAI, run: Any, answer: Answer) -> Outcome:
    calls = _calls(run)
    async with client.beta.threads.runs.submit_tool_outputs_stream(
        thread_id=run.thread_id, run_id=run.id, tool_outputs=answer.openai(calls)
    ) as stream:
        await stream.until_done()
        final = await stream.get_final_run()
    return final.status, [c.id for c in calls]


def _stream_until_asked(client: openai.OpenAI) -> Any:
    """``runs.stream`` on a new thread, to the run's ``requires_action``."""
    assistant = client.beta.assistants.create(model="gpt-4o-mini", tools=[TOOL])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": QUESTION}])
    with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id) as stream:
        stream.until_done()
        return stream.current_run


def runs_stream(base_url: str, answer: Answer) -> Outcome:
    client = _openai(base_url)
    return _submit_stream(client, _stream_until_asked(client), answer)


def create_and_run_stream(base_url: str, answer: Answer) -> Outcome:
    client = _openai(base_url)
    assistant = client.beta.assistants.create(model="gpt-4o-mini", tools=[TOOL])
    thread: Any = {"messages": [{"role": "user", "content": QUESTION}]}
    with client.beta.threads.create_and_run_stream(assistant_id=assistant.id, thread=thread) as stream:
        stream.until_done()
        run = stream.current_run
    return _submit_stream(client, run, answer)


async def async_runs_stream(base_url: str, answer: Answer) -> Outcome:
    async with _aopenai(base_url) as client:
        assistant = await client.beta.assistants.create(model="gpt-4o-mini", tools=[TOOL])
        thread = await client.beta.threads.create(messages=[{"role": "user", "content": QUESTION}])
        async with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id) as stream:
            await stream.until_done()
            run = stream.current_run
        return await _asubmit_stream(client, run, answer)


async def async_create_and_run_stream(base_url: str, answer: Answer) -> Outcome:
    async with _aopenai(base_url) as client:
        assistant = await client.beta.assistants.create(model="gpt-4o-mini", tools=[TOOL])
        thread: Any = {"messages": [{"role": "user", "content": QUESTION}]}
        async with client.beta.threads.create_and_run_stream(assistant_id=assistant.id, thread=thread) as stream:
            await stream.until_done()
            run = stream.current_run
        return await _asubmit_stream(client, run, answer)


# ---------------------------------------------------------------------------- Coze


def _question() -> list[cozepy.Message]:
    return [cozepy.Message.build_user_question_text(QUESTION)]


def _asked(events: list[Any]) -> Any:
    assert events[-1].event == cozepy.ChatEventType.CONVERSATION_CHAT_REQUIRES_ACTION, events[-1]
    return events[-1].chat


def _finished(chat: Any) -> bool:
    return chat.status in (cozepy.ChatStatus.COMPLETED, cozepy.ChatStatus.FAILED)


def _status(events: list[Any]) -> str:
    """The status of the last chat a stream of chat events carried."""
    chats = [e.chat for e in events if e.chat is not None]
    return str(chats[-1].status.value)


def coze_chat_stream(submit_stream: bool) -> Flow:
    def flow(base_url: str, answer: Answer) -> Outcome:
        coze = cozepy.Coze(auth=cozepy.TokenAuth("pat_test"), base_url=base_url)
        chat = _asked(list(coze.chat.stream(bot_id=COZE_TOOL_BOT, user_id="u1", additional_messages=_question())))
        calls = chat.required_action.submit_tool_outputs.tool_calls
        ids = dict(conversation_id=chat.conversation_id, chat_id=chat.id)
        outputs = answer.coze(calls)
        if submit_stream:
            events = list(coze.chat.submit_tool_outputs(**ids, tool_outputs=outputs, stream=True))
            return _status(events), [c.id for c in calls]
        chat = coze.chat.submit_tool_outputs(**ids, tool_outputs=outputs, stream=False)
        while not _finished(chat):
            time.sleep(0.02)
            chat = coze.chat.retrieve(**ids)
        return str(chat.status.value), [c.id for c in calls]

    flow.__name__ = f"coze_chat_stream_submit_{'stream' if submit_stream else 'poll'}"
    return flow


def async_coze_chat_stream(submit_stream: bool) -> Flow:
    async def flow(base_url: str, answer: Answer) -> Outcome:
        coze = cozepy.AsyncCoze(auth=cozepy.AsyncTokenAuth("pat_test"), base_url=base_url)
        stream = coze.chat.stream(bot_id=COZE_TOOL_BOT, user_id="u1", additional_messages=_question())
        chat = _asked([e async for e in stream])
        calls = chat.required_action.submit_tool_outputs.tool_calls
        ids = dict(conversation_id=chat.conversation_id, chat_id=chat.id)
        outputs = answer.coze(calls)
        if submit_stream:
            events = [e async for e in coze.chat.submit_tool_outputs_stream(**ids, tool_outputs=outputs)]
            return _status(events), [c.id for c in calls]
        chat = await coze.chat.submit_tool_outputs(**ids, tool_outputs=outputs)
        while not _finished(chat):
            await asyncio.sleep(0.02)
            chat = await coze.chat.retrieve(**ids)
        return str(chat.status.value), [c.id for c in calls]

    flow.__name__ = f"async_coze_chat_stream_submit_{'stream' if submit_stream else 'poll'}"
    return flow


FLOWS: list[tuple[Flow, str, str, list[str]]] = [
    (runs_stream, "openai", "run", RUN_WALK),
    (create_and_run_stream, "openai", "run", RUN_WALK),
    (async_runs_stream, "openai", "run", RUN_WALK),
    (async_create_and_run_stream, "openai", "run", RUN_WALK),
    (coze_chat_stream(submit_stream=True), "coze", "chat", CHAT_WALK),
    (coze_chat_stream(submit_stream=False), "coze", "chat", CHAT_WALK),
    (async_coze_chat_stream(submit_stream=True), "coze", "chat", CHAT_WALK),
    (async_coze_chat_stream(submit_stream=False), "coze", "chat", CHAT_WALK),
]


async def _run(flow: Flow, base_url: str, answer: Answer) -> Outcome:
    result = flow(base_url, answer)
    return await result if inspect.isawaitable(result) else result


@dataclass
class Recorded:
    path: Path
    provider: str
    kind: str
    walk: list[str]
    call_ids: list[str]
    #: ``report()["resources"]`` of the recording session, taken inside it.
    resources: list[dict[str, Any]]


@pytest.fixture(params=FLOWS, ids=[flow.__name__ for flow, *_ in FLOWS])
async def recorded(request: pytest.FixtureRequest, tmp_path: Path) -> Recorded:
    flow, provider, kind, walk = request.param
    path = tmp_path / "flow.json"
    with Emulator(port=0, phase_seconds=PHASE) as emulator, use_cassette(path, record_mode="once") as session:
        status, call_ids = await _run(flow, emulator.url(provider), Answer())
        assert session.recording and not session.replaying
        resources = session.report()["resources"]
    assert status == "completed" and call_ids
    return Recorded(path, provider, kind, walk, call_ids, resources)


def _flow(recorded: Recorded, request: pytest.FixtureRequest) -> Flow:
    flow: Flow = request.node.callspec.params["recorded"][0]
    return flow


# ---------------------------------------------------------------------------- tool calls


async def test_changed_tool_output_passes_with_ids_and_fails_by_default(
    recorded: Recorded, request: pytest.FixtureRequest
) -> None:
    flow = _flow(recorded, request)
    with use_cassette(recorded.path, tool_outputs="ids") as session:
        status, call_ids = await _run(flow, OFFLINE[recorded.provider], Answer(output="out for delivery"))
    assert (status, call_ids) == ("completed", recorded.call_ids)
    assert session.replayed_count == len(load(recorded.path).interactions)

    with pytest.raises(UnmatchedRequestError) as failure, use_cassette(recorded.path, unused="ignore"):
        await _run(flow, OFFLINE[recorded.provider], Answer(output="out for delivery"))
    message = str(failure.value)
    assert f"tool outputs differ from the recording for {recorded.provider} {recorded.kind} " in message
    (call,) = recorded.call_ids
    assert re.search(rf"{re.escape(call)}: recorded '{RECORDED_OUTPUT}'\n\s+submitted 'out for delivery'", message)
    assert str(recorded.path) in message and "tool_outputs='ids'" in message


@pytest.mark.parametrize("policy", ["match", "ids"])
async def test_a_wrong_tool_call_id_fails_in_both_modes(
    recorded: Recorded, request: pytest.FixtureRequest, policy: str
) -> None:
    flow = _flow(recorded, request)
    with (
        pytest.raises(UnmatchedRequestError) as failure,
        use_cassette(recorded.path, tool_outputs=policy, unused="ignore"),
    ):
        await _run(flow, OFFLINE[recorded.provider], Answer(wrong_id=True))
    message = str(failure.value)
    assert f"tool-call round trip broken for {recorded.provider} {recorded.kind} " in message
    (call,) = recorded.call_ids
    assert f"missing: [{call!r}]" in message and f"extra: [{WRONG_ID!r}]" in message


# ---------------------------------------------------------------------------- resources, report, show


async def test_resources_list_the_streamed_resource_while_recording_and_replaying(
    recorded: Recorded, request: pytest.FixtureRequest
) -> None:
    (while_recording,) = recorded.resources
    assert while_recording["resource"].startswith(f"{recorded.provider}:{recorded.kind}:")
    assert while_recording["states"] == recorded.walk and while_recording["finished"]

    with use_cassette(recorded.path) as session:
        await _run(_flow(recorded, request), OFFLINE[recorded.provider], Answer())
    (resource,) = session.resources
    assert resource.timeline.kind == recorded.kind and resource.finished
    assert resource.states == recorded.walk
    assert [p.trigger_name for p in resource.timeline.phases][1:] == ["submit_tool_outputs"]
    (reported,) = session.report()["resources"]
    assert reported["resource"] == while_recording["resource"] and reported["states"] == recorded.walk

    shown = CliRunner().invoke(main, ["show", "--format", "json", str(recorded.path)])
    assert shown.exit_code == 0, shown.output
    (listed,) = json.loads(shown.output)["resources"]
    assert listed["resource"] == while_recording["resource"].replace(":", " ")
    assert listed["states"] == recorded.walk
    text = CliRunner().invoke(main, ["show", str(recorded.path)]).output
    assert f"{' -> '.join(recorded.walk)} (" in text
    first_stream = " -> ".join(recorded.walk[: recorded.walk.index("requires_action") + 1])
    assert f"{recorded.kind} {resource.timeline.resource_id}: {first_stream}\n" in text


# ---------------------------------------------------------------------------- through the plugin

PLUGIN_TEST = textwrap.dedent(
    """
    import os

    import openai
    import pytest

    URL = os.environ["RR_URL"] + "/v1"
    TOOL = {"type": "function", "function": {"name": "lookup_order", "parameters": {"type": "object"}}}


    @pytest.mark.runreplay(tool_outputs="ids")
    def test_streamed_run(runreplay_cassette):
        client = openai.OpenAI(api_key="sk-test", base_url=URL, max_retries=0)
        assistant = client.beta.assistants.create(model="gpt-4o-mini", tools=[TOOL])
        thread = client.beta.threads.create(messages=[{"role": "user", "content": "Hi"}])
        with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id) as stream:
            stream.until_done()
            run = stream.current_run
        calls = run.required_action.submit_tool_outputs.tool_calls
        outputs = [{"tool_call_id": c.id, "output": os.environ["RR_OUTPUT"]} for c in calls]
        with client.beta.threads.runs.submit_tool_outputs_stream(
            thread_id=thread.id, run_id=run.id, tool_outputs=outputs
        ) as stream:
            stream.until_done()
        (resource,) = runreplay_cassette.resources  # recording or replaying alike
        assert resource.states == RUN_WALK
        assert runreplay_cassette.report()["resources"][0]["finished"]
    """
).replace("RUN_WALK", repr(RUN_WALK))


def test_the_fixture_lists_a_streamed_run_while_recording_and_replaying(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_streamed=PLUGIN_TEST)
    args = ("-p", "no:cacheprovider")
    monkeypatch.setenv("RR_OUTPUT", "shipped")
    with Emulator(port=0, phase_seconds=PHASE) as emulator:
        monkeypatch.setenv("RR_URL", emulator.base_url)
        pytester.runpytest_subprocess(*args, "--record-mode=once").assert_outcomes(passed=1)
    monkeypatch.setenv("RR_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("RR_OUTPUT", "delivered")  # accepted under tool_outputs="ids"
    pytester.runpytest_subprocess(*args).assert_outcomes(passed=1)


# ---------------------------------------------------------------------------- only the texts may differ


def _runs_stream_then_plain_submit(base_url: str) -> str:
    client = _openai(base_url)
    run = _stream_until_asked(client)
    outputs = Answer(output="out for delivery").openai(_calls(run))
    runs = client.beta.threads.runs
    return runs.submit_tool_outputs_and_poll(run_id=run.id, thread_id=run.thread_id, tool_outputs=outputs).status


def test_ids_accepts_other_texts_but_not_a_plain_submit_where_a_stream_was_recorded(tmp_path: Path) -> None:
    path = tmp_path / "flow.json"
    with Emulator(port=0, phase_seconds=PHASE) as emulator, use_cassette(path, record_mode="once"):
        runs_stream(emulator.url("openai"), Answer())
    with (
        pytest.raises(UnmatchedRequestError) as failure,
        use_cassette(path, tool_outputs="ids", unused="ignore"),
    ):
        _runs_stream_then_plain_submit(OFFLINE["openai"])
    message = str(failure.value)
    assert "differs from the recorded one in more than its output texts" in message
    # The outputs compare as recorded, so the diff shows only what else changed: the stream flag.
    assert '-  "stream": true' in message and "out for delivery" not in message
