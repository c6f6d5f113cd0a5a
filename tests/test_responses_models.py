"""OpenAI Responses: the models against the real recordings, the SDK's own objects and the spec.

Every real recording in real-traffic/openai-responses/ validates and shows no drift; each
kind of change a vendor makes (a new status, a new field, a changed type, a new item or
event) is reported with the severity drift gives it; openai-python's objects are accepted.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, get_args

import pytest
from _paths import SPECS, TRAFFIC
from click.testing import CliRunner
from openai.types import responses as sdk
from openai.types.responses import response_output_item as sdk_items
from pydantic import BaseModel, ValidationError

from runreplay import schema
from runreplay.cassette import Cassette, dumps, load
from runreplay.checks.drift import drift
from runreplay.checks.spec import load_spec
from runreplay.checks.validation import UNKNOWN_EVENT, check_cassette, query_params, validate_cassette
from runreplay.cli.schemas import drift as drift_command
from runreplay.importers import import_file
from runreplay.models import NAMESPACES, unknown_fields
from runreplay.models import openai_responses as models
from runreplay.providers import Match, Unrouted, match
from runreplay.schema.generate import key_of, model_classes
from runreplay.schema.walker import SCHEMA_VIOLATIONS, UNKNOWN_FIELD

RESPONSES = TRAFFIC / "openai-responses"
FILES = sorted(p for p in RESPONSES.iterdir() if p.is_file())
CANCEL = RESPONSES / "openai-dotnet__CanCancelBackgroundResponses.json"
FUNCTION_STREAM = RESPONSES / "openai-dotnet__FunctionCallStreamingWorks.json"
BACKGROUND_STREAM = RESPONSES / "openai-dotnet__CanUseStreamingBackgroundResponses.json"
MODELS: dict[str, type[BaseModel]] = {key_of(model): model for model in model_classes()}
SPACE = NAMESPACES["openai/responses"]


def _matched(interaction: Any) -> Match:
    found = match(interaction)
    assert not isinstance(found, Unrouted), interaction.request.url
    return found


def _payloads(cassette: Cassette) -> list[tuple[str, Any]]:
    """(schema key, payload) of every request body, query, reply body and event of a cassette."""
    out: list[tuple[str, Any]] = []
    for interaction in cassette.interactions:
        matched = _matched(interaction)
        route, request, body = matched.route, interaction.request, interaction.response.body
        if route.request and request.body.kind == "json":
            out.append((matched.schema_key(route.request), request.body.value))
        if route.query:
            key = matched.schema_key(route.query)
            out.append((key, query_params(request.query(), key)))
        if body.kind == "json":
            out.append((matched.schema_key(route.response), body.value))
        elif body.kind == "sse":
            out += [(str(matched.event_key(event.event)), event.data) for event in body.events]
    return out


# --------------------------------------------------------------------------- the real recordings


def test_the_real_recordings_are_all_here() -> None:
    assert len(FILES) == 9  # an empty folder would make the tests below vacuous


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_real_responses_recording_validates_and_shows_no_drift(path: Path) -> None:
    cassette = import_file(path)
    for interaction in cassette.interactions:
        assert _matched(interaction).namespace.name == "openai/responses"
    assert validate_cassette(cassette) == []
    report = drift([cassette])
    assert report.findings == [], report.to_text()  # not even an unknown field
    assert report.exit_code == 0


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_the_models_read_every_real_payload_as_the_schemas_do(path: Path) -> None:
    payloads = _payloads(import_file(path))
    assert payloads
    for key, value in payloads:
        from_model = unknown_fields(MODELS[key].model_validate(value))
        from_schema = [i.path for i in schema.classify(key, value) if i.category == UNKNOWN_FIELD]
        assert sorted(from_model) == sorted(from_schema) == [], key


def test_every_event_of_the_real_streams_is_a_documented_event() -> None:
    seen: set[str] = set()
    for path in FILES:
        cassette = import_file(path)
        for interaction in cassette.interactions:
            for event in interaction.response.body.events if interaction.response.body.kind == "sse" else ():
                assert event.event in SPACE.events, (path.name, event.event)
                assert _matched(interaction).event_key(event.event) == f"openai/responses/{SPACE.events[event.event]}"
                assert event.data["type"] == event.event  # a Responses event names itself in its data
                seen.add(event.event)
        assert not [v for v in check_cassette(cassette) if v.category == UNKNOWN_EVENT]
    assert {"response.created", "response.queued", "response.in_progress", "response.completed"} <= seen
    assert {"response.output_text.delta", "response.function_call_arguments.delta"} <= seen


def test_the_event_table_is_the_specs_list_of_stream_events() -> None:
    # checks/spec.py reads event names from an `event` property; ResponseStreamEvent names
    # each event in `type`, so the names are compared here.
    document = load_spec(SPECS / "openai-openapi.yaml")
    components = document["components"]["schemas"]
    names = set()
    for branch in components["ResponseStreamEvent"]["anyOf"]:
        event = components[branch["$ref"].rsplit("/", 1)[1]]
        names |= set(event["properties"]["type"]["enum"])
        assert SPACE.events[event["properties"]["type"]["enum"][0]] == branch["$ref"].rsplit("/", 1)[1]
    assert set(models.EVENTS) == names
    assert len(names) == 58
    assert SPACE.stream_schema == "ResponseStreamEvent"
    assert schema.is_valid(
        "openai/responses/ResponseStreamEvent",
        {
            "event": "error",
            "data": {"type": "error", "code": None, "message": "m", "param": None, "sequence_number": 3},
        },
    )


# --------------------------------------------------------------------------- drift in edited recordings


def _edited(source: Path, target: Path, edit: Callable[[list[Any]], None]) -> Path:
    """A real recording as a runreplay cassette file, edited."""
    document = json.loads(dumps(import_file(source)))
    edit(document["interactions"])
    target.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return target


def _cancelled(interactions: list[Any]) -> dict[str, Any]:
    body: dict[str, Any] = interactions[1]["response"]["body"]["json"]
    assert body["status"] == "cancelled"
    return body


def _set_status(interactions: list[Any]) -> None:
    _cancelled(interactions)["status"] = "paused"


def _add_field(interactions: list[Any]) -> None:
    _cancelled(interactions)["priority"] = "high"


def _change_type(interactions: list[Any]) -> None:
    _cancelled(interactions)["created_at"] = "1758064441"


@pytest.mark.parametrize(
    ("edit", "category", "field", "severity", "exit_code"),
    [
        (_set_status, "new_enum_value", "status", "error", 1),
        (_add_field, "unknown_field", "priority", "warning", 0),
        (_change_type, "type_change", "created_at", "error", 1),
    ],
    ids=["new status", "new field", "changed type"],
)
def test_a_changed_response_is_drift(
    tmp_path: Path, edit: Callable[[list[Any]], None], category: str, field: str, severity: str, exit_code: int
) -> None:
    path = _edited(CANCEL, tmp_path / "edited.json", edit)
    report = drift([load(path)])
    assert [(f.severity, f.violation.category) for f in report.findings] == [(severity, category)]
    finding = report.findings[0].violation
    assert finding.path == f"$.interactions[1].response.body.json.{field}"
    assert finding.schema == "openai/responses/Response"
    assert finding.endpoint == "POST /responses/{response_id}/cancel (openai-responses v1)"
    assert report.exit_code == exit_code
    result = CliRunner().invoke(drift_command, [str(path), "--format", "json"])
    assert result.exit_code == exit_code, result.output
    assert json.loads(result.output)["findings"][0]["category"] == category


def _stream(interactions: list[Any]) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = interactions[0]["response"]["body"]["sse"]["events"]
    return events


def test_a_changed_stream_is_drift(tmp_path: Path) -> None:
    def edit(interactions: list[Any]) -> None:
        events = _stream(interactions)
        events[2]["data"]["item"]["type"] = "agent_call"  # a new output item type
        events[3]["data"]["sequence_number"] = "3"  # a type change inside an event
        events[4]["event"] = events[4]["data"]["type"] = "response.function_call_arguments.paused"

    path = _edited(FUNCTION_STREAM, tmp_path / "stream.json", edit)
    found = {
        (f.severity, f.violation.category, f.violation.path.rsplit(".", 1)[-1]) for f in drift([load(path)]).findings
    }
    assert ("error", "new_enum_value", "type") in found  # events[2].data.item.type
    assert ("error", "type_change", "sequence_number") in found
    assert ("error", "unknown_event", "event") in found
    assert CliRunner().invoke(drift_command, [str(path)]).exit_code == 1


def test_an_event_without_sequence_number_is_the_2025_shape_not_drift(tmp_path: Path) -> None:
    def edit(interactions: list[Any]) -> None:
        for event in _stream(interactions):
            event["data"].pop("sequence_number")
            event["data"].pop("obfuscation", None)

    assert drift([load(_edited(FUNCTION_STREAM, tmp_path / "old.json", edit))]).findings == []


# --------------------------------------------------------------------------- requests and queries


def test_a_function_call_is_answered_by_the_next_create() -> None:
    request = {
        "model": "gpt-4o-mini",
        "previous_response_id": "resp_1",
        "background": True,
        "input": [{"type": "function_call_output", "call_id": "call_0UFGPwrziw5rbinYp7rthrTb", "output": '{"t": 18}'}],
        "tools": [{"type": "function", "name": "get_weather", "parameters": {"type": "object"}, "strict": False}],
    }
    created = models.CreateResponse.model_validate(request)
    assert isinstance(created.input, list) and isinstance(created.input[0], models.FunctionCallOutputParam)
    assert schema.classify("openai/responses/CreateResponse", request) == []
    assert schema.is_valid("openai/responses/CreateResponse", {"model": "gpt-4o", "input": "Hello!", "stream": True})
    short = {"input": [{"role": "user", "content": "Hi"}, {"type": "item_reference", "id": "msg_1"}, {"id": "rs_1"}]}
    assert schema.classify("openai/responses/CreateResponse", short) == []
    models.CreateResponse.model_validate(short)


def test_an_unknown_input_item_is_a_new_enum_value() -> None:
    request = {"model": "gpt-4o", "input": [{"type": "agent_handoff", "to": "x"}]}
    issues = schema.classify("openai/responses/CreateResponse", request)
    assert [(i.category, i.path) for i in issues] == [("new_enum_value", "$.input[0].type")]
    with pytest.raises(ValidationError):
        models.CreateResponse.model_validate(request)


def test_query_strings_arrive_as_strings_and_are_read_as_their_types() -> None:
    key = "openai/responses/RetrieveResponseQuery"
    pairs = [("stream", "true"), ("starting_after", "1"), ("include[]", "reasoning.encrypted_content")]
    query = query_params(pairs, key)
    assert query == {"stream": True, "starting_after": 1, "include": ["reasoning.encrypted_content"]}
    assert models.RetrieveResponseQuery.model_validate(query).starting_after == 1
    assert schema.classify(key, query) == []
    bad = query_params([("starting_after", "two"), ("include", "everything")], key)
    assert {(i.category, i.path) for i in schema.classify(key, bad)} == {
        ("type_change", "$.starting_after"),
        ("new_enum_value", "$.include[0]"),
    }
    listing = query_params(
        [("limit", "20"), ("order", "asc"), ("after", "msg_1")], "openai/responses/InputItemListParams"
    )
    assert schema.classify("openai/responses/InputItemListParams", listing) == []


def test_a_resumed_stream_names_the_event_it_resumes_after() -> None:
    resumed = import_file(BACKGROUND_STREAM).interactions[2]
    matched = _matched(resumed)
    assert matched.route.name == "resume_response_stream" and matched.route.query == "RetrieveResponseQuery"
    numbers = [event.data["sequence_number"] for event in resumed.response.body.events]
    assert numbers[0] == 3 and numbers == sorted(numbers)  # starting_after=2


# --------------------------------------------------------------------------- other replies

#: openai-dotnet's CanDeleteResponse recording (tests/SessionRecords/ResponsesTests/, 2026).
REAL_DELETE = {
    "id": "resp_0f445d215b2cbe55006a91dc785e9c87d0af3f39e95ba89c7e",
    "object": "response.deleted",
    "deleted": True,
}
REAL_NOT_FOUND = {
    "error": {
        "message": "Response with id 'resp_0f445d215b2cbe55006a91dc785e9c87d0af3f39e95ba89c7e' not found.",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }
}


def test_delete_and_error_replies() -> None:
    assert schema.classify("openai/responses/ResponseDeleted", REAL_DELETE) == []
    documented = {**REAL_DELETE, "object": "response"}  # the spec's example
    assert schema.classify("openai/responses/ResponseDeleted", documented) == []
    assert schema.classify("openai/responses/ErrorResponse", REAL_NOT_FOUND) == []
    models.ErrorResponse.model_validate(REAL_NOT_FOUND)


def test_the_response_model_is_strict_where_it_must_be() -> None:
    response = import_file(CANCEL).interactions[1].response.body.value
    models.Response.model_validate(response)
    for field, value in (("status", "paused"), ("created_at", "1758064441"), ("output", [{"type": "agent_call"}])):
        with pytest.raises(ValidationError, match=field):
            models.Response.model_validate({**response, field: value})
    with pytest.raises(ValidationError, match="object"):
        models.Response.model_validate({**response, "object": "thread.run"})
    assert unknown_fields(models.Response.model_validate({**response, "priority": 1})) == ["$.priority"]


# --------------------------------------------------------------------------- openai-python's own objects


def _message() -> sdk.ResponseOutputMessage:
    citation = {"type": "url_citation", "url": "https://example.com", "start_index": 0, "end_index": 2, "title": "t"}
    text = sdk.ResponseOutputText(type="output_text", text="Hi", annotations=[citation], logprobs=[])
    return sdk.ResponseOutputMessage(id="msg_1", type="message", role="assistant", status="completed", content=[text])


def _function_call() -> sdk.ResponseFunctionToolCall:
    return sdk.ResponseFunctionToolCall(
        type="function_call", id="fc_1", call_id="call_1", name="get_weather", arguments="{}", status="completed"
    )


def _output() -> list[Any]:
    return [
        _message(),
        _function_call(),
        sdk.ResponseReasoningItem(type="reasoning", id="rs_1", summary=[{"type": "summary_text", "text": "s"}]),
        sdk.ResponseFunctionWebSearch(
            type="web_search_call",
            id="ws_1",
            status="completed",
            action={"type": "search", "query": "weather"},
        ),
        sdk.ResponseFileSearchToolCall(type="file_search_call", id="fs_1", status="completed", queries=["q"]),
        sdk.ResponseCodeInterpreterToolCall(
            type="code_interpreter_call",
            id="ci_1",
            status="completed",
            container_id="cntr_1",
            code="print(1)",
            outputs=[{"type": "logs", "logs": "1"}],
        ),
        sdk_items.ImageGenerationCall(type="image_generation_call", id="ig_1", status="completed", result="aGk="),
        sdk_items.McpCall(type="mcp_call", id="mcp_1", server_label="s", name="n", arguments="{}"),
        sdk_items.McpListTools(
            type="mcp_list_tools",
            id="mcpl_1",
            server_label="s",
            tools=[{"name": "n", "input_schema": {}}],
        ),
        sdk.ResponseCustomToolCall(type="custom_tool_call", call_id="call_2", name="n", input="x"),
        sdk.ResponseComputerToolCall(
            type="computer_call",
            id="cu_1",
            call_id="call_3",
            status="completed",
            pending_safety_checks=[],
            action={"type": "click", "button": "left", "x": 1, "y": 2},
        ),
    ]


def _response(status: str = "completed") -> sdk.Response:
    usage = {
        "input_tokens": 11,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": 10,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 21,
    }
    return sdk.Response(
        id="resp_1",
        object="response",
        created_at=1758064441,
        model="gpt-4.1-mini",
        status=status,
        background=True,
        output=_output(),
        parallel_tool_calls=True,
        tool_choice="auto",
        tools=[
            sdk.FunctionTool(type="function", name="get_weather", parameters={"type": "object"}, strict=True),
            sdk.WebSearchTool(type="web_search"),
            sdk.FileSearchTool(type="file_search", vector_store_ids=["vs_1"]),
        ],
        usage=usage,
        reasoning={"effort": "low", "summary": None},
        text={"format": {"type": "text"}, "verbosity": "medium"},
        metadata={},
    )


SDK_OBJECTS: list[tuple[str, Callable[[], BaseModel]]] = [
    ("Response", _response),
    ("Response", lambda: _response("queued").model_copy(update={"output": [], "usage": None})),
    (
        "ResponseQueuedEvent",
        lambda: sdk.ResponseQueuedEvent(type="response.queued", response=_response("queued"), sequence_number=1),
    ),
    (
        "ResponseCompletedEvent",
        lambda: sdk.ResponseCompletedEvent(type="response.completed", response=_response(), sequence_number=9),
    ),
    (
        "ResponseOutputItemAddedEvent",
        lambda: sdk.ResponseOutputItemAddedEvent(
            type="response.output_item.added", item=_function_call(), output_index=0, sequence_number=2
        ),
    ),
    (
        "ResponseTextDeltaEvent",
        lambda: sdk.ResponseTextDeltaEvent(
            type="response.output_text.delta",
            item_id="msg_1",
            output_index=0,
            content_index=0,
            delta="Hi",
            logprobs=[],
            sequence_number=3,
        ),
    ),
    (
        "ResponseFunctionCallArgumentsDoneEvent",
        lambda: sdk.ResponseFunctionCallArgumentsDoneEvent(
            type="response.function_call_arguments.done",
            item_id="fc_1",
            output_index=0,
            arguments="{}",
            sequence_number=4,
        ),
    ),
    (
        "ResponseReasoningSummaryTextDeltaEvent",
        lambda: sdk.ResponseReasoningSummaryTextDeltaEvent(
            type="response.reasoning_summary_text.delta",
            item_id="rs_1",
            output_index=0,
            summary_index=0,
            delta="s",
            sequence_number=5,
        ),
    ),
    (
        "ResponseErrorEvent",
        lambda: sdk.ResponseErrorEvent(type="error", code="server_error", message="m", param=None, sequence_number=6),
    ),
    (
        "ResponseItemList",
        lambda: sdk.ResponseItemList(
            object="list",
            data=[
                sdk.ResponseInputMessageItem(
                    id="msg_0",
                    type="message",
                    role="user",
                    content=[{"type": "input_text", "text": "Hi"}],
                ),
                _message(),
            ],
            has_more=False,
            first_id="msg_0",
            last_id="msg_1",
        ),
    ),
]


@pytest.mark.parametrize(("name", "build"), SDK_OBJECTS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(SDK_OBJECTS)])
def test_the_models_accept_the_sdks_own_objects(name: str, build: Callable[[], BaseModel]) -> None:
    data = build().model_dump(mode="json")
    model = SPACE.resolve(name)
    model.model_validate(data)
    key = f"openai/responses/{name}"
    assert schema.is_valid(key, data)
    assert not [i for i in schema.classify(key, data) if i.category in SCHEMA_VIOLATIONS]


def _tags(union: Any) -> set[str]:
    """The ``type`` values of the members of an ``Annotated`` tagged union."""
    members = get_args(get_args(union)[0])
    return {str(tag) for member in members for tag in get_args(member.model_fields["type"].annotation)}


def test_every_output_item_and_tool_type_of_the_sdk_is_modelled() -> None:
    assert _tags(models.OutputItem) == _tags(sdk.ResponseOutputItem)
    assert len(_tags(models.OutputItem)) == 28
    assert _tags(models.Tool) == _tags(sdk.Tool)
