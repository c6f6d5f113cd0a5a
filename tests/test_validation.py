"""Validation of recorded traffic: real vendor recordings, the Coze examples, the
emulator's payloads, and cassettes edited to break in one way each."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

import _coze_docs as docs
import cozepy
import openai
import pytest
from _paths import TRAFFIC

from runreplay import schema, use_cassette
from runreplay.cassette import Body, Cassette, Headers, Interaction, Request, Response, from_json, load
from runreplay.checks.validation import (
    Violation,
    check_cassette,
    check_interaction,
    format_violations,
    validate_cassette,
    validate_interaction,
)
from runreplay.emulator import Emulator
from runreplay.importers import import_file
from runreplay.providers import Unrouted, match
from runreplay.providers.openai_assistants import api_version

ROOT = Path(__file__).resolve().parents[1]
ASSISTANTS = TRAFFIC / "openai-assistants"
OPENAI_FILES = sorted(p for p in ASSISTANTS.iterdir() if p.is_file())
POLLING = ROOT / "cassettes" / "imported" / "openllmetry_v2__test_new_assistant_with_polling.json"
STREAMING = ROOT / "cassettes" / "imported" / "openai-dotnet__StreamingToolCall.json"


def test_the_real_recordings_are_all_here() -> None:
    assert len(OPENAI_FILES) == 22  # an empty folder would make the tests below vacuous


# --------------------------------------------------------------------------- real OpenAI traffic


@pytest.mark.parametrize("path", OPENAI_FILES, ids=lambda p: p.name)
def test_every_real_openai_recording_validates_against_its_own_version(path: Path) -> None:
    cassette = import_file(path)
    for interaction in cassette.interactions:
        matched = match(interaction)
        assert not isinstance(matched, Unrouted), interaction.request.url
        header = interaction.request.headers.get("openai-beta")
        expected = header.split("=")[1] if header else "v2"
        assert matched.namespace.name == f"openai/{expected}"
    if "_v1__" in path.name:  # the lemur and openllmetry v1 recordings: v1 throughout
        assert {i.request.headers.get("openai-beta") for i in cassette.interactions} == {"assistants=v1"}
    assert validate_cassette(cassette) == []


@pytest.mark.parametrize(
    ("name", "field", "tool"),
    [
        ("lemur_v1__runs.yml", "file_ids", "retrieval"),
        ("openllmetry_v1__test_new_assistant.yaml", "file_ids", None),
        ("ruby-openai__runs_create.yml", "file_ids", None),
    ],
)
def test_a_v1_recording_checked_as_v2_reports_its_v1_parts(name: str, field: str, tool: str | None) -> None:
    cassette = import_file(ASSISTANTS / name)
    assert validate_cassette(cassette) == []  # as the v1 it is: clean
    found = check_cassette(cassette, api_version="v2")
    unknown = {v.path.rsplit(".", 1)[-1] for v in found if v.category == "unknown_field"}
    assert field in unknown
    if tool:
        assert any(v.category == "new_enum_value" and tool in v.found for v in found)


def test_version_header() -> None:
    def request(*headers: tuple[str, str]) -> Request:
        return Request("GET", "https://api.openai.com/v1/threads/t/runs/r", Headers(list(headers)))

    assert api_version(request()) == "v2"
    assert api_version(request(("OpenAI-Beta", "assistants=v1"))) == "v1"
    assert api_version(request(("openai-beta", "realtime=v1, assistants=v2"))) == "v2"
    interaction = Interaction(request(("openai-beta", "assistants=v3")), Response(200))
    [found] = check_interaction(interaction)
    assert found.category == "unknown_endpoint" and "'v3'" in found.found


# --------------------------------------------------------------------------- Coze examples

CLEAN_COZE = [p.name for p in docs.response_files() if "schematic" not in p.name and "chat_cancel" not in p.name]
CLEAN_COZE.remove("documented__chat_submit_tool_outputs__nonstream.response.json")


def test_the_coze_examples_are_all_here() -> None:
    assert len(docs.response_files()) == 22 and len(CLEAN_COZE) == 18


@pytest.mark.parametrize("name", CLEAN_COZE)
def test_real_and_cleanly_documented_coze_examples_validate(name: str) -> None:
    interaction = docs.interaction(docs.COZE / name)
    assert validate_interaction(interaction, cassette=name) == []


def test_coze_example_objects_validate() -> None:
    assert schema.is_valid("coze/Chat", docs.jsonc(docs.COZE / "documented__chat_v3__chat_object_example.jsonc"))
    event_data = docs.jsonc(docs.COZE / "documented_localplugin__01_chat_stream_requires_action_event_data.jsonc")
    assert schema.is_valid("coze/Chat", event_data)


def test_the_real_coze_websocket_payloads_have_the_documented_shapes() -> None:
    checked = 0
    for event, data in docs.websocket_events(docs.COZE / "coze-go__websocket_chat_success.txt"):
        type_name = docs_event_type(event)
        if type_name is not None:  # WebSocket-only events (audio.completed, ...) have no HTTP schema
            assert schema.is_valid(f"coze/{type_name}", data), event
            checked += 1
    assert checked > 80


def docs_event_type(event: str) -> str | None:
    from runreplay.models import coze_chat as coze

    return coze.EVENTS.get(event)


def _found(name: str) -> set[tuple[str, str]]:
    """(category, path inside the payload) of every finding in one example."""
    found = check_interaction(docs.interaction(docs.COZE / name))
    return {(v.category, v.path.split(".json", 1)[-1].split("].data", 1)[-1]) for v in found}


def test_the_documented_cancel_reply_is_a_zero_value_placeholder() -> None:
    assert _found("documented__chat_cancel.response.json") == {
        ("missing_required", ".code"),
        ("missing_required", ".data.usage.token_count"),
        ("missing_required", ".data.usage.output_count"),
        ("missing_required", ".data.usage.input_count"),
        ("type_change", ".data.last_error.code"),
        ("new_enum_value", ".data.required_action.submit_tool_outputs.tool_calls[0].type"),
    }


def test_the_documented_usage_typo_is_drift() -> None:
    assert _found("documented__chat_submit_tool_outputs__nonstream.response.json") == {
        ("unknown_field", ".data.usage.output_tokens"),
        ("unknown_field", ".data.usage.input_tokens"),
        ("missing_required", ".data.usage.output_count"),
        ("missing_required", ".data.usage.input_count"),
    }


def test_the_schematic_stream_is_reported_as_drift_not_crashed_on() -> None:
    found = check_interaction(
        docs.interaction(docs.COZE / "documented__chat_v3__stream_schematic_all_event_types.response.sse.txt")
    )
    by_kind = {(v.category, v.path.rsplit(".", 1)[-1], v.found) for v in found}
    assert ("new_enum_value", "status", 'string "compleated"') in by_kind
    assert ("unknown_field", "compleated_at", "null") in by_kind
    assert ("unknown_field", "output_tokens", "integer 1173") in by_kind
    assert ("missing_required", "output_count", "missing") in by_kind
    assert ("new_enum_value", "type", 'string "knowledge"') in by_kind
    annotated = "conversation.chat.completed \uff08chat\u5b8c\u6210\uff09"  # the doc's note in the event name
    assert ("unknown_event", "event", f'string "{annotated}"') in by_kind
    assert any(v.category == "type_change" and v.path.endswith("data_text") for v in found)  # unquoted keys
    assert all(v.cassette is None and v.interaction is None for v in found)


def test_the_schematic_submit_stream_is_reported_not_crashed_on() -> None:
    name = "documented__chat_submit_tool_outputs__stream_schematic.response.sse.txt"
    found = validate_interaction(docs.interaction(docs.COZE / name))
    assert [v.category for v in found] == ["type_change"]  # no blank lines: one merged, unreadable event


# --------------------------------------------------------------------------- edited cassettes


def _edited(path: Path, edit: Any) -> Cassette:
    document = json.loads(path.read_text(encoding="utf-8"))
    edit(document["interactions"])
    cassette = from_json(document)
    cassette.path = path
    return cassette


def _set(obj: dict[str, Any], key: str, value: Any) -> None:
    obj[key] = value


RUN = 5  # a GET of the run in the polling recording
RUN_BODY = ("response", "body", "json")


def _run(interactions: list[Any]) -> dict[str, Any]:
    run: dict[str, Any] = interactions[RUN]["response"]["body"]["json"]
    return run


EDITS = {
    "unknown_field": (lambda i: _set(_run(i), "priority", "high"), ".priority"),
    "missing_required": (lambda i: _run(i).pop("thread_id"), ".thread_id"),
    "type_change": (lambda i: _set(_run(i), "created_at", "2024-05-07T10:00:00Z"), ".created_at"),
    "new_enum_value": (lambda i: _set(_run(i), "status", "paused"), ".status"),
    "unknown_endpoint": (lambda i: _set(i[RUN]["request"], "url", "https://api.openai.com/v1/threads/t/pause"), None),
}


@pytest.mark.parametrize("category", sorted(EDITS))
def test_each_edit_produces_exactly_its_drift_category(category: str) -> None:
    assert check_cassette(load(POLLING)) == []
    edit, where = EDITS[category]
    found = check_cassette(_edited(POLLING, edit))
    path = f"$.interactions[{RUN}].response.body.json{where}" if where else f"$.interactions[{RUN}].request.url"
    assert [(v.category, v.path, v.interaction) for v in found] == [(category, path, RUN)]
    assert found[0].cassette == str(POLLING)
    assert found[0].is_violation == (category not in ("unknown_field", "unknown_endpoint"))


def test_a_renamed_stream_event_is_an_unknown_event() -> None:
    def rename(interactions: list[Any]) -> None:
        interactions[1]["response"]["body"]["sse"]["events"][3]["event"] = "thread.run.paused"

    assert check_cassette(load(STREAMING)) == []
    found = check_cassette(_edited(STREAMING, rename))
    assert [(v.category, v.path) for v in found] == [
        ("unknown_event", "$.interactions[1].response.body.sse.events[3].event")
    ]


def test_keep_alive_comments_in_a_stream_are_not_events() -> None:
    def keep_alive(interactions: list[Any]) -> None:
        interactions[1]["response"]["body"]["sse"]["events"].insert(2, {"comments": ["keep-alive"], "at_ms": 5})

    assert check_cassette(_edited(STREAMING, keep_alive)) == []


def test_an_event_payload_is_checked_against_its_event_type() -> None:
    def break_step(interactions: list[Any]) -> None:
        event = interactions[1]["response"]["body"]["sse"]["events"][4]
        assert event["event"] == "thread.run.step.created"
        event["data"]["status"] = "paused"

    [found] = validate_cassette(_edited(STREAMING, break_step))
    assert found.category == "new_enum_value"
    assert found.schema == "openai/v2/RunStep"
    assert found.path == "$.interactions[1].response.body.sse.events[4].data.status"


def test_request_bodies_are_checked_and_undeclared_queries_left_alone() -> None:
    def edit(interactions: list[Any]) -> None:
        interactions[3]["request"]["body"]["json"]["assistant_id"] = 42
        # GET run declares no query model: proxies (Azure's api-version) add parameters freely.
        interactions[4]["request"]["url"] += "?api-version=2024-05-01"

    found = check_cassette(_edited(POLLING, edit))
    assert [(v.category, v.path) for v in found] == [
        ("type_change", "$.interactions[3].request.body.json.assistant_id"),
    ]


def test_list_queries_are_typed() -> None:
    url = "https://api.openai.com/v1/threads/t/runs/r/steps?limit=many&order=sideways&include[]=x"
    interaction = Interaction(Request("GET", url), Response(200, body=Body.json(_empty_list())))
    found = {(v.category, v.path) for v in validate_interaction(interaction)}
    assert found == {
        ("type_change", "$.request.query.limit"),
        ("new_enum_value", "$.request.query.order"),
        ("new_enum_value", "$.request.query.include[0]"),
    }
    ok = url.replace("limit=many&order=sideways&include[]=x", "limit=20&order=asc")
    assert validate_interaction(Interaction(Request("GET", ok), Response(200, body=Body.json(_empty_list())))) == []


def _empty_list() -> dict[str, Any]:
    return {"object": "list", "data": [], "first_id": None, "last_id": None, "has_more": False}


def test_error_replies_have_the_error_shape() -> None:
    url = "https://api.openai.com/v1/threads/t/runs"
    body = {"error": {"message": "no", "type": "invalid_request_error", "param": None, "code": None}}
    request = Request("POST", url, body=Body.json({"assistant_id": "a"}))
    assert validate_interaction(Interaction(request, Response(400, body=Body.json(body)))) == []
    broken = copy.deepcopy(body)
    del broken["error"]["type"]
    [found] = validate_interaction(Interaction(request, Response(400, body=Body.json(broken))))
    assert (found.category, found.schema) == ("missing_required", "openai/common/ErrorResponse")
    html = Interaction(request, Response(502, body=Body.text("<html>bad gateway</html>")))
    assert validate_interaction(html) == []  # a proxy's page is not the API's drift
    coze_error = {"code": 4000, "msg": "Invalid parameter", "detail": {"logid": "x"}}
    coze = Request("POST", "https://api.coze.cn/v3/chat", body=Body.json({"bot_id": "b", "user_id": "u"}))
    assert validate_interaction(Interaction(coze, Response(200, body=Body.json(coze_error)))) == []


def test_a_violation_names_cassette_interaction_path_expected_and_found() -> None:
    found = validate_cassette(_edited(POLLING, EDITS["new_enum_value"][0]))
    line = found[0].format()
    for part in (str(POLLING), f"interaction #{RUN}", "GET /threads/{thread_id}/runs/{run_id} (openai v2)"):
        assert part in line
    assert '$.interactions[5].response.body.json.status: new enum value: expected one of "queued"' in line
    assert line.endswith('found string "paused"')
    report = format_violations(found)
    assert report.splitlines()[0] == "runreplay: 1 schema violation(s):" and line in report
    assert found[0].to_json()["category"] == "new_enum_value"


def test_without_an_index_paths_start_at_the_interaction() -> None:
    cassette = _edited(POLLING, EDITS["missing_required"][0])
    [found] = validate_interaction(cassette.interactions[RUN])
    assert (found.path, found.interaction, found.cassette) == ("$.response.body.json.thread_id", None, None)
    assert isinstance(found, Violation)


# --------------------------------------------------------------------------- the emulator's payloads

TOOL: Any = {
    "type": "function",
    "function": {"name": "lookup_order", "parameters": {"type": "object", "properties": {"order": {"type": "string"}}}},
}


def openai_flow(base_url: str, version: str) -> None:
    """Every run and step endpoint, polled and streamed, plus an error reply."""
    client = openai.OpenAI(base_url=base_url, api_key="sk-x", default_headers={"OpenAI-Beta": f"assistants={version}"})
    runs = client.beta.threads.runs
    assistant = client.beta.assistants.create(model="gpt-4o-mini", tools=[TOOL, {"type": "code_interpreter"}])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Where is order 42?"}])
    run = runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=20)
    assert run.required_action is not None
    outputs: list[Any] = [
        {"tool_call_id": c.id, "output": "shipped"} for c in run.required_action.submit_tool_outputs.tool_calls
    ]
    run = runs.submit_tool_outputs_and_poll(
        thread_id=thread.id, run_id=run.id, tool_outputs=outputs, poll_interval_ms=20
    )
    steps = runs.steps.list(thread_id=thread.id, run_id=run.id)
    runs.steps.retrieve(thread_id=thread.id, run_id=run.id, step_id=steps.data[0].id)
    runs.update(thread_id=thread.id, run_id=run.id, metadata={"m": "1"})
    runs.list(thread_id=thread.id, limit=5, order="asc")
    client.beta.threads.messages.list(thread_id=thread.id)
    with runs.stream(thread_id=thread.id, assistant_id=assistant.id) as stream:
        stream.until_done()
        streamed = stream.get_final_run()
    assert streamed.required_action is not None
    calls = streamed.required_action.submit_tool_outputs.tool_calls
    with runs.submit_tool_outputs_stream(
        thread_id=thread.id, run_id=streamed.id, tool_outputs=[{"tool_call_id": c.id, "output": "ok"} for c in calls]
    ) as stream:
        stream.until_done()
    other = client.beta.threads.create_and_run(
        assistant_id=assistant.id, thread={"messages": [{"role": "user", "content": "hi"}]}
    )
    runs.cancel(thread_id=other.thread_id, run_id=other.id)
    with pytest.raises(openai.NotFoundError):
        runs.cancel(thread_id=other.thread_id, run_id="run_missing")
    client.beta.threads.delete(thread.id)
    client.beta.assistants.delete(assistant.id)


def coze_flow(base_url: str) -> None:
    """Create, poll, submit, list, stream, stream-submit, cancel, and an error reply."""
    client = cozepy.Coze(auth=cozepy.TokenAuth("pat"), base_url=base_url)
    question = [cozepy.Message.build_user_question_text("Weather in Paris?")]
    chat = client.chat.create(bot_id="7350000000000tool", user_id="u", additional_messages=question)
    while chat.status == "in_progress":
        time.sleep(0.02)
        chat = client.chat.retrieve(conversation_id=chat.conversation_id, chat_id=chat.id)
    assert chat.required_action is not None and chat.required_action.submit_tool_outputs is not None
    answers = [
        cozepy.ToolOutput(tool_call_id=c.id, output="sunny")
        for c in chat.required_action.submit_tool_outputs.tool_calls
    ]
    client.chat.submit_tool_outputs(
        conversation_id=chat.conversation_id, chat_id=chat.id, tool_outputs=answers, stream=False
    )
    client.chat.messages.list(conversation_id=chat.conversation_id, chat_id=chat.id)
    last = list(client.chat.stream(bot_id="7350000000000tool", user_id="u", additional_messages=question))[-1]
    assert last.chat is not None and last.chat.required_action is not None
    assert last.chat.required_action.submit_tool_outputs is not None
    calls = last.chat.required_action.submit_tool_outputs.tool_calls
    answers = [cozepy.ToolOutput(tool_call_id=c.id, output="sunny") for c in calls]
    list(
        client.chat.submit_tool_outputs(
            conversation_id=last.chat.conversation_id, chat_id=last.chat.id, tool_outputs=answers, stream=True
        )
    )
    plain = client.chat.create(bot_id="7350000000000plain", user_id="u", additional_messages=question)
    client.chat.cancel(conversation_id=plain.conversation_id, chat_id=plain.id)
    with pytest.raises(cozepy.CozeAPIError):
        client.chat.cancel(conversation_id=plain.conversation_id, chat_id=plain.id)


@pytest.mark.parametrize("flow", ["openai v1", "openai v2", "coze"])
def test_fresh_emulator_recordings_validate_cleanly(tmp_path: Path, flow: str) -> None:
    path = tmp_path / "flow.json"
    with Emulator(port=0, phase_seconds=0.02) as emulator, use_cassette(path, record_mode="once"):
        if flow == "coze":
            coze_flow(emulator.url("coze"))
        else:
            openai_flow(emulator.url("openai"), flow.split()[1])
    cassette = load(path)
    assert len(cassette.interactions) >= 8
    assert any(i.response.body.kind == "sse" for i in cassette.interactions)
    assert check_cassette(cassette) == []  # no violation, no unknown field, no unknown endpoint


@pytest.mark.parametrize("path", sorted((ROOT / "cassettes").rglob("*.json")), ids=lambda p: p.name)
def test_the_example_cassettes_validate_cleanly(path: Path) -> None:
    assert check_cassette(load(path)) == []
