"""Drift: severities from pyproject.toml, the three output formats, exit codes, --compare."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from _paths import TRAFFIC
from click.testing import CliRunner

from runreplay.cassette import Cassette, from_json, load
from runreplay.checks.compare import compare
from runreplay.checks.drift import DEFAULT_SEVERITIES, DriftConfig, drift, load_config
from runreplay.cli.schemas import drift as drift_command
from runreplay.config import find_pyproject
from runreplay.errors import ConfigError
from runreplay.importers import import_file

ROOT = Path(__file__).resolve().parents[1]
POLLING = ROOT / "cassettes" / "imported" / "openllmetry_v2__test_new_assistant_with_polling.json"
STREAMING = ROOT / "cassettes" / "imported" / "openai-dotnet__StreamingToolCall.json"
LEMUR_V1 = TRAFFIC / "openai-assistants" / "lemur_v1__runs.yml"


def _write_edited(path: Path, target: Path, edit: Any) -> Path:
    document = json.loads(path.read_text(encoding="utf-8"))
    edit(document["interactions"])
    target.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return target


def _drifted(tmp_path: Path) -> Path:
    """The polling recording with one new field (warning) and one new status (error)."""

    def edit(interactions: list[Any]) -> None:
        run = interactions[5]["response"]["body"]["json"]
        run["priority"] = "high"
        run["status"] = "paused"

    return _write_edited(POLLING, tmp_path / "drifted.json", edit)


def _loaded(path: Path) -> Cassette:
    return load(path)


# --------------------------------------------------------------------------- configuration


def _pyproject(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pyproject.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_a_pyproject(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert find_pyproject() is None or "runreplay" not in find_pyproject().read_text()  # type: ignore[union-attr]
    assert load_config(None).severities == dict(DEFAULT_SEVERITIES)
    assert DriftConfig().severity("unknown_field") == "warning"
    assert DriftConfig().severity("new_enum_value") == "error"


def test_a_partial_severity_mapping_keeps_the_defaults_of_what_it_does_not_name() -> None:
    partial = DriftConfig({"new_enum_value": "warning"})
    assert partial.severity("new_enum_value") == "warning"
    assert partial.severity("unknown_field") == DEFAULT_SEVERITIES["unknown_field"] == "warning"
    assert partial.severity("unknown_endpoint") == "warning"
    assert partial.severity("a category nobody named") == "error"


def test_severities_come_from_tool_runreplay_drift(tmp_path: Path) -> None:
    path = _pyproject(tmp_path, '[project]\nname = "x"\n[tool.runreplay.drift]\nunknown_field = "error"\n')
    config = load_config(path)
    assert config.severity("unknown_field") == "error"
    assert config.severity("type_change") == "error"  # the rest keep their defaults
    assert config.source == path
    (tmp_path / "sub").mkdir()
    assert find_pyproject(tmp_path / "sub") == path


def test_a_pyproject_without_the_table_means_defaults(tmp_path: Path) -> None:
    assert load_config(_pyproject(tmp_path, '[project]\nname = "x"\n')).severities == dict(DEFAULT_SEVERITIES)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[tool.runreplay.drift]\nunknwon_field = "error"\n',
            "unknown key 'unknwon_field' (did you mean 'unknown_field'?)",
        ),
        ('[tool.runreplay.drift]\ntype_change = "fatal"\n', "type_change = 'fatal': must be one of error, warning"),
        ("[tool.runreplay]\ndrift = 3\n", "[tool.runreplay] drift must be a table"),
        ("tool = 5\n", "[tool] must be a table"),
        ("[tool.runreplay.drift\n", "not valid TOML"),
    ],
)
def test_configuration_mistakes_name_the_file_and_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = _pyproject(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value).startswith(str(path))
    assert message in str(caught.value)


def test_a_missing_config_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nothere\.toml: configuration file not found"):
        load_config(tmp_path / "nothere.toml")


# --------------------------------------------------------------------------- the report


def test_severities_decide_the_exit_code(tmp_path: Path) -> None:
    cassette = _loaded(_drifted(tmp_path))
    report = drift([cassette])
    assert sorted((f.severity, f.violation.category) for f in report.findings) == [
        ("error", "new_enum_value"),
        ("warning", "unknown_field"),
    ]
    assert report.exit_code == 1
    relaxed = DriftConfig({**DEFAULT_SEVERITIES, "new_enum_value": "notice", "unknown_field": "ignore"})
    report = drift([cassette], relaxed)
    assert [(f.severity, f.violation.category) for f in report.findings] == [("notice", "new_enum_value")]
    assert report.exit_code == 0


def test_text_report(tmp_path: Path) -> None:
    text = drift([_loaded(_drifted(tmp_path))]).to_text()
    lines = text.splitlines()
    assert lines[0] == str(tmp_path / "drifted.json")
    assert lines[1].startswith("  error: #5 GET /threads/{thread_id}/runs/{run_id} (openai v2) ")
    assert 'status: new enum value: expected one of "queued"' in lines[1] and lines[1].endswith('found string "paused"')
    assert "warning: #5" in lines[2] and "priority: unknown field" in lines[2]
    assert lines[-1] == "drift: 1 error, 1 warning, 0 notices in 1 cassette(s)"


def test_json_report(tmp_path: Path) -> None:
    document = json.loads(drift([_loaded(_drifted(tmp_path))]).to_json())
    assert document["summary"] == {"error": 1, "warning": 1, "notice": 0}
    assert document["exit_code"] == 1
    first = document["findings"][0]
    assert first["severity"] == "error" and first["category"] == "new_enum_value"
    assert first["interaction"] == 5 and first["schema"] == "openai/v2/Run"
    assert first["path"] == "$.interactions[5].response.body.json.status"


def test_github_annotations_are_escaped(tmp_path: Path) -> None:
    lines = drift([_loaded(_drifted(tmp_path))]).to_github().splitlines()
    assert lines[0].startswith(f"::error file={tmp_path / 'drifted.json'},title=runreplay drift%3A new enum value::#5 ")
    assert lines[1].startswith("::warning file=")
    assert "%0A" not in lines[0] and lines[0].count("::") == 2


# --------------------------------------------------------------------------- the command


def _run(*args: str) -> Any:
    return CliRunner().invoke(drift_command, list(args))


def test_exit_codes(tmp_path: Path) -> None:
    assert _run(str(POLLING), str(STREAMING)).exit_code == 0
    result = _run(str(_drifted(tmp_path)), "--format", "json")
    assert result.exit_code == 1 and json.loads(result.output)["summary"]["error"] == 1
    broken = tmp_path / "broken.json"
    broken.write_text('{"format": 1, "interactions": [')
    result = _run(str(broken))
    assert result.exit_code == 2
    assert str(broken) in result.output and "invalid JSON" in result.output
    assert _run(str(tmp_path / "missing.json")).exit_code == 2
    assert _run().exit_code == 2


def test_the_config_option(tmp_path: Path) -> None:
    drifted = str(_drifted(tmp_path))
    lenient = _pyproject(tmp_path, '[tool.runreplay.drift]\nnew_enum_value = "warning"\n')
    assert _run(drifted, "--config", str(lenient)).exit_code == 0
    typo = _pyproject(tmp_path, '[tool.runreplay.drift]\nnew_enum = "warning"\n')
    result = _run(drifted, "--config", str(typo))
    assert result.exit_code == 2 and f"{typo}: [tool.runreplay.drift]: unknown key 'new_enum'" in result.output


def test_the_nearest_pyproject_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    drifted = str(_drifted(tmp_path))
    project = tmp_path / "project"
    (project / "tests").mkdir(parents=True)
    _pyproject(project, '[tool.runreplay.drift]\nnew_enum_value = "ignore"\nunknown_field = "ignore"\n')
    monkeypatch.chdir(project / "tests")
    result = _run(drifted)
    assert result.exit_code == 0 and "0 errors, 0 warnings" in result.output


def test_a_v1_recording_against_v2(tmp_path: Path) -> None:
    assert _run(str(LEMUR_V1)).exit_code == 0
    result = _run(str(LEMUR_V1), "--api-version", "v2", "--format", "json")
    findings = json.loads(result.output)["findings"]
    assert result.exit_code == 1
    assert {(f["category"], f["path"].rsplit(".", 1)[-1]) for f in findings} == {
        ("unknown_field", "file_ids"),  # runs, assistants and messages
        ("new_enum_value", "type"),  # the retrieval tool, and its tool call in the step
        ("missing_required", "tool_resources"),  # the v2 thread has it
    }


def test_help_has_examples() -> None:
    result = CliRunner().invoke(drift_command, ["--help"])
    assert (
        result.exit_code == 0 and "Examples:" in result.output and "--compare before.json after.json" in result.output
    )


# --------------------------------------------------------------------------- --compare


def _compare_edit(interactions: list[Any]) -> None:
    run = interactions[22]["response"]["body"]["json"]  # the last poll: completed
    run["status"] = "incomplete"
    run["usage"]["reasoning"] = {"tokens": 3}
    run["temperature"] = "1.0"
    del run["top_p"]
    interactions.append(
        {
            "at_ms": 99999,
            "request": {"method": "GET", "url": "https://api.openai.com/v1/threads/thread_1/runs", "headers": {}},
            "response": {"status": 200, "headers": {}, "body": {"json": {"object": "list", "data": [],
                         "first_id": None, "last_id": None, "has_more": False}}},
        }
    )  # fmt: skip


def test_compare_lists_what_changed(tmp_path: Path) -> None:
    new = from_json(json.loads(_write_edited(POLLING, tmp_path / "new.json", _compare_edit).read_text()))
    scope = "GET /threads/{thread_id}/runs/{run_id} response"
    assert [(c.kind, c.scope, c.detail) for c in compare(load(POLLING), new)] == [
        ("endpoint added", "GET /threads/{thread_id}/runs", ""),
        ("field added", scope, "$.usage.reasoning: object"),
        ("field added", scope, "$.usage.reasoning.tokens: integer"),
        ("type changed", scope, "$.temperature: number -> number | string"),  # the other polls keep numbers
        ("field partly removed", scope, "$.top_p: missing from 1 of 19 (was in all 19)"),  # gone from one poll
        ("value added", scope, '$.status: "incomplete"'),
        ("value removed", scope, '$.status: "completed"'),
    ]
    assert compare(load(POLLING), load(POLLING)) == []


def test_compare_sees_events_come_and_go(tmp_path: Path) -> None:
    def edit(interactions: list[Any]) -> None:
        events = interactions[1]["response"]["body"]["sse"]["events"]
        events[3]["event"] = "thread.run.paused"

    new = from_json(json.loads(_write_edited(STREAMING, tmp_path / "new.json", edit).read_text()))
    found = {(c.kind, c.scope, c.detail) for c in compare(load(STREAMING), new)}
    assert found == {
        ("event added", "POST /threads/runs", "thread.run.paused"),
        ("event removed", "POST /threads/runs", "thread.run.in_progress"),
    }  # the renamed event's fields are not listed again one by one


def test_compare_command(tmp_path: Path) -> None:
    new = _write_edited(POLLING, tmp_path / "new.json", _compare_edit)
    result = _run("--compare", str(POLLING), str(new))
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == f"{POLLING} -> {new}"
    assert '  value added: GET /threads/{thread_id}/runs/{run_id} response: $.status: "incomplete"' in result.output
    same = _run("--compare", str(POLLING), str(POLLING))
    assert same.exit_code == 0 and same.output.strip().endswith("compare: no change")
    document = json.loads(_run("--compare", str(POLLING), str(new), "--format", "json").output)
    assert {"kind": "type changed", "scope": "GET /threads/{thread_id}/runs/{run_id} response",
            "detail": "$.temperature: number -> number | string"} in document["changes"]  # fmt: skip
    assert _run("--compare", str(POLLING), str(new), str(POLLING)).exit_code == 2  # both modes at once


def test_compare_the_same_test_recorded_with_v1_and_with_v2() -> None:
    v2 = LEMUR_V1.with_name("lemur_v2__runs.yml")
    found = {(c.kind, c.scope, c.detail) for c in compare(import_file(LEMUR_V1), import_file(v2))}
    run = "GET /threads/{thread_id}/runs/{run_id}"
    assert ("version changed", run, "openai v1 -> openai v2") in found
    assert ("field removed", f"{run} response", "$.file_ids: array") in found
    assert ("field added", f"{run} response", "$.tool_resources: object") in found
    assert ("value added", f"{run} response", '$.tools[*].type: "file_search"') in found
    assert ("value removed", f"{run} response", '$.tools[*].type: "retrieval"') in found
    assert ("endpoint added", "POST /threads/{thread_id}/messages", "") in found  # v2 posts its question


# --------------------------------------------------------------------------- repeated findings, null, partial removal

RUN = "GET /threads/{thread_id}/runs/{run_id} response"


def _polls(path: Path, edits: list[Any]) -> Path:
    """A hand-made cassette: one poll of the polling recording, repeated once per edit and edited."""
    poll = json.loads(POLLING.read_text(encoding="utf-8"))["interactions"][4]
    interactions = []
    for number, edit in enumerate(edits):
        interaction = copy.deepcopy(poll)
        interaction["at_ms"] = number * 1000
        edit(interaction["response"]["body"]["json"])
        interactions.append(interaction)
    path.write_text(json.dumps({"format": 1, "interactions": interactions}), encoding="utf-8")
    return path


def _unchanged(run: dict[str, Any]) -> None:
    pass


def _set(field: str, value: Any) -> Any:
    return lambda run: run.__setitem__(field, value)


def test_drift_groups_a_finding_repeated_across_polls(tmp_path: Path) -> None:
    warm = [_set("temperature", "warm")] * 4 + [_set("temperature", "hot")]
    path = _polls(tmp_path / "warm.json", [*warm, _unchanged])
    result = _run(str(path))
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if "temperature" in line]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("  error: #0 GET /threads/{thread_id}/runs/{run_id} (openai v2) $.interactions[0]")
    assert lines[0].endswith(
        'found string "warm" (and 1 other value(s)) [5 times, in interaction(s) #0, #1, #2, #3, #4]'
    )
    assert result.output.splitlines()[-1] == "drift: 1 error, 0 warnings, 0 notices (5 occurrences) in 1 cassette(s)"
    document = json.loads(_run(str(path), "--format", "json").output)
    assert len(document["findings"]) == 5 and document["summary"]["error"] == 5  # every occurrence, as before
    (group,) = document["groups"]
    assert (group["count"], group["interactions"], group["found_values"]) == (
        5,
        [0, 1, 2, 3, 4],
        ['string "warm"', 'string "hot"'],
    )
    assert group["path"] == "$.interactions[0].response.body.json.temperature"
    annotations = _run(str(path), "--format", "github").output.splitlines()
    assert len(annotations) == 2 and "[5 times, in interaction(s) #0, #1, #2, #3, #4]" in annotations[0]


def test_compare_sees_fields_turn_null_and_leave_some_polls(tmp_path: Path) -> None:
    old = _polls(tmp_path / "old.json", [_unchanged] * 5)

    def drifted(number: int) -> Any:
        def edit(run: dict[str, Any]) -> None:
            run["instructions"] = None
            run["last_error"] = {"code": "server_error", "message": "boom"}
            if number in (1, 3):
                del run["model"]

        return edit

    new = _polls(tmp_path / "new.json", [drifted(n) for n in range(5)])
    result = _run("--compare", str(old), str(new))
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert f"  type changed: {RUN}: $.instructions: string -> null" in lines
    assert f"  type changed: {RUN}: $.last_error: null -> object" in lines
    assert f"  field partly removed: {RUN}: $.model: missing from 2 of 5 (was in all 5)" in lines
    back = _run("--compare", str(new), str(old)).output.splitlines()
    assert f"  type changed: {RUN}: $.instructions: null -> string" in back
    assert not any("partly removed" in line for line in back)  # the field came back everywhere
    document = json.loads(_run("--compare", str(old), str(new), "--format", "json").output)
    assert {"kind": "field partly removed", "scope": RUN, "detail": "$.model: missing from 2 of 5 (was in all 5)"} in (
        document["changes"]
    )


def test_compare_ignores_null_in_only_some_polls_beside_the_same_type(tmp_path: Path) -> None:
    # A field that is null while a run is busy and set once it ends depends on the polls caught.
    old = load(_polls(tmp_path / "old.json", [_unchanged] * 3))
    new = load(_polls(tmp_path / "new.json", [_set("instructions", None), _unchanged, _unchanged]))
    assert compare(old, new) == []
