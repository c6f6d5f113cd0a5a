"""`runreplay validate` and `runreplay schemas export`, through their click commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from _paths import TRAFFIC
from click.testing import CliRunner

from runreplay.cli.common import recording_files
from runreplay.cli.schemas import COMMANDS, validate
from runreplay.cli.schemas import schemas as schemas_command

ROOT = Path(__file__).resolve().parents[1]
REAL = TRAFFIC / "openai-assistants"
POLLING = ROOT / "cassettes" / "imported" / "openllmetry_v2__test_new_assistant_with_polling.json"


def _invoke(*args: str) -> Any:
    return CliRunner().invoke(validate, list(args))


def _broken_run(tmp_path: Path) -> Path:
    document = json.loads(POLLING.read_text(encoding="utf-8"))
    document["interactions"][5]["response"]["body"]["json"]["status"] = "paused"
    path = tmp_path / "broken_run.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_clean_folders_exit_0() -> None:
    result = _invoke(str(ROOT / "cassettes"), str(REAL))  # cassettes and other tools' recordings
    assert result.exit_code == 0, result.output
    count = len(recording_files([ROOT / "cassettes", REAL]))
    assert count > 20
    assert result.output.strip().endswith(f"validate: 0 violation(s) in 0 of {count} cassette(s)")
    assert f"{POLLING}: ok" in result.output


def test_violations_exit_1_with_their_place(tmp_path: Path) -> None:
    result = _invoke(str(_broken_run(tmp_path)), str(POLLING))
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == f"{tmp_path / 'broken_run.json'}: 1 violation(s)"
    assert lines[1].startswith("  #5 GET /threads/{thread_id}/runs/{run_id} (openai v2) ")
    assert "$.interactions[5].response.body.json.status: new enum value" in lines[1]
    assert lines[-1] == "validate: 1 violation(s) in 1 of 2 cassette(s)"


def test_json_output(tmp_path: Path) -> None:
    result = _invoke(str(_broken_run(tmp_path)), "--format", "json")
    document = json.loads(result.output)
    assert result.exit_code == 1 and document["violations"] == 1 and document["exit_code"] == 1
    [violation] = document["cassettes"][0]["violations"]
    assert violation["category"] == "new_enum_value" and violation["interaction"] == 5


def test_unknown_endpoints_are_notes_not_violations(tmp_path: Path) -> None:
    document = json.loads(POLLING.read_text(encoding="utf-8"))
    document["interactions"][0]["request"]["url"] = "https://api.openai.com/v1/vector_stores"
    path = tmp_path / "vector_store.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    result = _invoke(str(path))
    assert result.exit_code == 0
    assert "  note: #0 POST /v1/vector_stores (no documented endpoint has this method and path)" in result.output
    unchecked = json.loads(_invoke(str(path), "--format", "json").output)["cassettes"][0]["unchecked"]
    assert [u["category"] for u in unchecked] == ["unknown_endpoint"]


def test_unreadable_input_exits_2_naming_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": 1, "interactions": [{"request": 5}]}')
    result = _invoke(str(bad))
    assert result.exit_code == 2
    assert result.output.startswith(f"runreplay: error: {bad} at $.interactions[0].request: ")
    assert "must be an object, found 5" in result.output
    assert _invoke(str(tmp_path / "nope.json")).exit_code == 2  # no such path
    assert _invoke().exit_code == 2
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _invoke(str(empty)).exit_code == 2


def test_the_api_version_option(tmp_path: Path) -> None:
    result = _invoke(str(REAL / "lemur_v1__runs.yml"), "--api-version", "v2")
    assert result.exit_code == 1
    assert 'found string "retrieval"' in result.output


def test_schemas_export_and_check(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(schemas_command, ["export", "--out", str(tmp_path), "--check"]).exit_code == 1
    result = runner.invoke(schemas_command, ["export", "--out", str(tmp_path)])
    assert result.exit_code == 0 and "written or removed" in result.output
    assert (tmp_path / "openai" / "v2" / "Run.json").is_file()
    check = runner.invoke(schemas_command, ["export", "--out", str(tmp_path), "--check"])
    assert check.exit_code == 0 and "is up to date" in check.output
    (tmp_path / "coze" / "Chat.json").write_text("{}")
    stale = runner.invoke(schemas_command, ["export", "--out", str(tmp_path), "--check"])
    assert stale.exit_code == 1 and f"stale: {tmp_path / 'coze' / 'Chat.json'}" in stale.output


def test_every_command_documents_itself_with_examples() -> None:
    assert isinstance(schemas_command, click.Group)
    commands = [*COMMANDS, *schemas_command.commands.values()]
    for command in commands:
        help_text = CliRunner().invoke(command, ["--help"]).output
        assert "Example" in help_text, command.name
        assert "Exit codes" in help_text or command.name in ("export", "schemas"), command.name
