"""Our schemas against the vendors' OpenAPI specs, with the reviewed deviations."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from _paths import SPECS
from click.testing import CliRunner

from runreplay import schema
from runreplay.checks.spec import (
    Difference,
    check_spec,
    compare,
    differences,
    event_names,
    load_deviations,
    load_spec,
    resolve_pointer,
    spec_files,
)
from runreplay.cli.schemas import schemas as schemas_command
from runreplay.errors import ConfigError

OPENAI_SPEC = SPECS / "openai-openapi.yaml"
COZE_SPEC = SPECS / "coze-openapi.yaml"
#: Every provider's vendor spec, from the repository's copies (the providers name the files).
SPEC_FILES = spec_files(SPECS)
DEVIATIONS = schema.DEFAULT_DIR / "deviations.yaml"


def test_every_provider_with_a_spec_has_its_copy_in_the_repository() -> None:
    assert set(SPEC_FILES) == {"azure", "coze", "openai", "openai-responses"}
    assert all(path.is_file() for path in SPEC_FILES.values())


@pytest.fixture(scope="module")
def specs() -> dict[str, Any]:
    return {name: load_spec(path) for name, path in SPEC_FILES.items()}


def test_our_schemas_match_the_specs_up_to_the_reviewed_deviations() -> None:
    report = check_spec(SPEC_FILES, DEVIATIONS)
    assert report.unlisted == [], report.to_text()
    assert report.stale == [], report.to_text()
    assert report.listed >= 20


def test_every_deviation_has_a_reason() -> None:
    entries = yaml.safe_load(DEVIATIONS.read_text(encoding="utf-8"))
    assert all(len(entry["reason"].split()) >= 5 for entry in entries)


def test_the_specs_are_cached_once_read() -> None:
    assert load_spec(OPENAI_SPEC) is load_spec(OPENAI_SPEC)


def test_a_field_or_status_only_the_spec_has_is_reported(specs: dict[str, Any]) -> None:
    run_object = copy.deepcopy(resolve_pointer(specs["openai"], "/components/schemas/RunObject"))
    run_object["properties"]["priority"] = {"type": "string"}
    run_object["properties"]["status"]["enum"].append("paused")
    found = set(compare("openai/v2/Run", specs["openai"], run_object))
    assert Difference("openai/v2/Run", "$", "field", "spec", "priority") in found
    assert Difference("openai/v2/Run", "$.status", "value", "spec", "paused") in found
    assert Difference("openai/v2/Run", "$", "field", "ours", "tool_resources") in found


def test_a_union_member_only_one_side_has_is_reported(specs: dict[str, Any]) -> None:
    found = set(
        compare("openai/v1/Run", specs["openai"], resolve_pointer(specs["openai"], "/components/schemas/RunObject"))
    )
    assert Difference("openai/v1/Run", "$.tools[]", "variant", "ours", "retrieval") in found
    assert Difference("openai/v1/Run", "$.tools[]", "variant", "spec", "file_search") in found
    assert Difference("openai/v1/Run", "$", "field", "ours", "file_ids") in found
    assert Difference("openai/v1/Run", "$.status", "value", "spec", "incomplete") in found


def test_stream_events_are_compared(specs: dict[str, Any]) -> None:
    edited = copy.deepcopy(specs)
    run_events = resolve_pointer(edited["openai"], "/components/schemas/RunStreamEvent")["oneOf"]
    run_events[0]["properties"]["event"]["enum"] = ["thread.run.paused"]
    found = set(differences(edited))
    key = "openai/v2/AssistantStreamEvent"
    assert Difference(key, "$.event", "value", "spec", "thread.run.paused") in found
    assert Difference(key, "$.event", "value", "ours", "thread.run.created") in found


def test_a_listed_difference_that_is_gone_is_reported(tmp_path: Path) -> None:
    extra = {
        "schema": "openai/v2/Run",
        "path": "$",
        "what": "field",
        "only_in": "spec",
        "items": ["long_gone"],
        "reason": "An entry for a difference that does not exist.",
    }
    entries = [*yaml.safe_load(DEVIATIONS.read_text(encoding="utf-8")), extra]
    path = tmp_path / "deviations.yaml"
    path.write_text(yaml.safe_dump(entries), encoding="utf-8")
    report = check_spec(SPEC_FILES, path)
    assert report.stale == [Difference("openai/v2/Run", "$", "field", "spec", "long_gone")]
    assert not report.ok


def test_an_unlisted_difference_fails(tmp_path: Path) -> None:
    entries = [
        e
        for e in yaml.safe_load(DEVIATIONS.read_text(encoding="utf-8"))
        if e["schema"] != "coze/Chat" or e["path"] != "$.status"
    ]
    path = tmp_path / "deviations.yaml"
    path.write_text(yaml.safe_dump(entries), encoding="utf-8")
    report = check_spec(SPEC_FILES, path)
    assert report.unlisted == [Difference("coze/Chat", "$.status", "enum", "ours", "*")]
    result = CliRunner().invoke(
        schemas_command,
        ["check-spec", "--spec", f"openai={OPENAI_SPEC}", "--spec", f"coze={COZE_SPEC}", "--deviations", str(path)],
    )
    assert result.exit_code == 1
    assert "unlisted difference: coze/Chat $.status: enum '*' only in ours" in result.output


def test_the_check_spec_command_defaults_to_the_repository_copies() -> None:
    result = CliRunner().invoke(schemas_command, ["check-spec"])
    assert result.exit_code == 0, result.output
    assert "our schemas match the specs" in result.output
    explicit = CliRunner().invoke(schemas_command, ["check-spec", "--spec", f"openai={OPENAI_SPEC}"])
    assert explicit.exit_code == 0, explicit.output
    missing = CliRunner().invoke(schemas_command, ["check-spec", "--spec", "coze=/nonexistent/coze.yaml"])
    assert missing.exit_code == 2 and "/nonexistent/coze.yaml: cannot read the vendor spec" in missing.output


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("openai", "write it as PROVIDER=FILE"),
        ("=x.yaml", "write it as PROVIDER=FILE"),
        ("gemini=x.yaml", "no provider"),
    ],
)
def test_check_spec_refuses_a_malformed_spec_option(given: str, message: str) -> None:
    result = CliRunner().invoke(schemas_command, ["check-spec", "--spec", given])
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"schema": "x", "path": "$", "what": "field", "only_in": "ours", "items": ["a"]}, "needs exactly the keys"),
        ({"schema": "x", "path": "$", "what": "field", "only_in": "ours", "items": ["a"], "reason": " "}, "empty"),
        ({"schema": "x", "path": "$", "what": "shape", "only_in": "ours", "items": ["a"], "reason": "r"}, "what must"),
    ],
)
def test_deviation_file_mistakes_name_the_entry(tmp_path: Path, entry: dict[str, Any], message: str) -> None:
    path = tmp_path / "deviations.yaml"
    path.write_text(yaml.safe_dump([entry]), encoding="utf-8")
    with pytest.raises(ConfigError, match=f"deviations.yaml: entry 1: .*{message}"):
        load_deviations(path)


def test_check_spec_outside_a_checkout_asks_for_the_specs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from runreplay.cli import schemas as cli_schemas

    monkeypatch.setattr(cli_schemas, "SPEC_FOLDER", tmp_path / "nowhere")
    result = CliRunner().invoke(schemas_command, ["check-spec", "--spec", f"openai={OPENAI_SPEC}"])
    assert result.exit_code == 2
    assert "no vendor spec for azure, coze, openai-responses in" in result.output
    assert "--spec PROVIDER=FILE" in result.output
    every = ["check-spec", *(f"--spec={name}={path}" for name, path in SPEC_FILES.items())]
    assert CliRunner().invoke(schemas_command, every).exit_code == 0


# --------------------------------------------------------------------------- checker behaviours
# Small hand-written spec fragments against our real schemas, through the module's functions.


def _schemas(**components: Any) -> dict[str, Any]:
    return {"components": {"schemas": components}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


#: The spec's way of writing a stored item: the item, plus an allOf extension with id,
#: created_by and a second status enumeration.
_STORED_COMPUTER_OUTPUT = _schemas(
    ComputerToolCallOutput={
        "type": "object",
        "properties": {
            "type": {"type": "string", "enum": ["computer_call_output"]},
            "id": {"type": "string"},
            "call_id": {"type": "string"},
            "acknowledged_safety_checks": {"type": "array", "items": {"type": "object"}},
            "output": {"type": "object"},
            "status": {"type": "string", "enum": ["in_progress", "completed", "incomplete"]},
        },
    },
    ComputerCallOutputStatus={"type": "string", "enum": ["completed", "incomplete", "failed"]},
    ComputerToolCallOutputResource={
        "allOf": [
            _ref("ComputerToolCallOutput"),
            {
                "type": "object",
                "properties": {
                    "id": {"type": "string"},
                    "status": _ref("ComputerCallOutputStatus"),
                    "created_by": {"type": "string"},
                },
            },
        ]
    },
)


def test_the_parts_of_an_allof_are_one_object() -> None:
    key = "openai/responses/ComputerCallOutput"
    document = _STORED_COMPUTER_OUTPUT
    assert compare(key, document, _ref("ComputerToolCallOutputResource")) == []
    # Inside a tagged union too: the extension is no untagged variant of its own.
    union = {"type": "array", "items": {"oneOf": [_ref("ComputerToolCallOutputResource")]}}
    ours_list = "openai/responses/ResponseItemList"
    found = set(compare(ours_list, document, {"type": "object", "properties": {"data": union}}))
    assert not {d for d in found if d.path == "$.data[]" and d.item == ""}
    assert not {d for d in found if d.path == "$.data[]<computer_call_output>"}
    # A field of the extension still counts: without it, ours has one the spec lacks.
    edited = copy.deepcopy(document)
    del resolve_pointer(edited, "/components/schemas/ComputerToolCallOutputResource/allOf/1/properties")["created_by"]
    assert compare(key, edited, _ref("ComputerToolCallOutputResource")) == [
        Difference(key, "$<computer_call_output>", "field", "ours", "created_by")
    ]


def test_the_enumerations_of_one_field_in_several_parts_add_up() -> None:
    key = "openai/responses/ComputerCallOutput"
    edited = copy.deepcopy(_STORED_COMPUTER_OUTPUT)
    # "failed" is only in the extension's enumeration: ours allows it, and so does the spec.
    assert compare(key, edited, _ref("ComputerToolCallOutputResource")) == []
    resolve_pointer(edited, "/components/schemas/ComputerCallOutputStatus")["enum"] = ["completed", "cancelled"]
    assert compare(key, edited, _ref("ComputerToolCallOutputResource")) == [
        Difference(key, "$<computer_call_output>.status", "value", "ours", "failed"),
        Difference(key, "$<computer_call_output>.status", "value", "spec", "cancelled"),
    ]


def _compound_filter(operators: list[str]) -> dict[str, Any]:
    return _schemas(
        ComparisonFilter={
            "type": "object",
            "properties": {
                "type": {"type": "string", "enum": ["eq", "ne", "gt", "gte", "lt", "lte", "in", "nin"]},
                "key": {"type": "string"},
                "value": {"oneOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}]},
            },
        },
        CompoundFilter={
            "$recursiveAnchor": True,
            "type": "object",
            "properties": {
                "type": {"type": "string", "enum": operators},
                "filters": {
                    "type": "array",
                    "items": {"oneOf": [_ref("ComparisonFilter"), {"$recursiveRef": "#"}]},
                },
            },
        },
    )


def test_a_recursive_ref_resolves_to_the_enclosing_anchor() -> None:
    key = "openai/responses/CompoundFilter"
    document = _compound_filter(["and", "or"])
    assert compare(key, document, _ref("CompoundFilter")) == []
    # Passed as the resolved schema itself, the anchor is that schema.
    assert compare(key, document, resolve_pointer(document, "/components/schemas/CompoundFilter")) == []
    # Compared structurally, level after level: a new operator shows at every nesting.
    found = set(compare(key, _compound_filter(["and", "or", "not"]), _ref("CompoundFilter")))
    for path in ("$.type", "$.filters[].type", "$.filters[].filters[].type"):
        assert Difference(key, path, "value", "spec", "not") in found


def test_stream_events_named_by_their_type_are_listed() -> None:
    document = _schemas(
        CreatedEvent={"type": "object", "properties": {"type": {"type": "string", "enum": ["response.created"]}}},
        DeltaEvent={"type": "object", "properties": {"type": {"const": "response.output_text.delta"}}},
        StreamEvent={"anyOf": [_ref("CreatedEvent"), _ref("DeltaEvent")]},
    )
    assert event_names(document, _ref("StreamEvent")) == {"response.created", "response.output_text.delta"}
    # An event property, where there is one, names the event (Assistants, Coze).
    named = _schemas(
        RunEvent={
            "type": "object",
            "properties": {"event": {"type": "string", "enum": ["thread.run.created"]}, "type": {"const": "x"}},
        }
    )
    assert event_names(named, _ref("RunEvent")) == {"thread.run.created"}


def test_the_responses_stream_events_are_compared(specs: dict[str, Any]) -> None:
    edited = copy.deepcopy(specs)
    queued = resolve_pointer(edited["openai-responses"], "/components/schemas/ResponseQueuedEvent")
    queued["properties"]["type"]["enum"] = ["response.paused"]
    found = set(differences(edited))
    key = "openai/responses/ResponseStreamEvent"
    assert Difference(key, "$.event", "value", "spec", "response.paused") in found
    assert Difference(key, "$.event", "value", "ours", "response.queued") in found
