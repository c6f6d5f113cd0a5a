"""`runreplay record`, `show`, and every command's error path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from runreplay.cassette import load
from runreplay.cli import main
from runreplay.emulator import Emulator

SCRIPT = textwrap.dedent(
    """
    import os, subprocess, sys
    import openai

    client = openai.OpenAI(api_key="sk-proj-ScriptKey0123456789abcdefghij", base_url=os.environ["BASE"])
    assistant = client.beta.assistants.create(model="gpt-4o-mini", name="nightly")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=50)
    print("run", run.status)
    # a Python child process is recorded too
    child = (
        "import os, httpx; "
        "print('child', httpx.get(os.environ['BASE'] + '/assistants/' + os.environ['ASST']).json()['name'])"
    )
    subprocess.run([sys.executable, "-c", child], check=True, env={**os.environ, "ASST": assistant.id})
    """
)


def _record(tmp_path: Path, base: str, *args: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "script.py"
    script.write_text(SCRIPT)
    command = [sys.executable, "-m", "runreplay.cli", "record", "--cassette", str(tmp_path / "c.json"), *args]
    return subprocess.run(
        [*command, "--", "python", str(script)],
        env={**os.environ, "BASE": base},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )


def test_record_a_script_and_its_children_then_replay_it(tmp_path: Path) -> None:
    with Emulator(port=0, phase_seconds=0.1) as emulator:
        recorded = _record(tmp_path, emulator.url("openai"))
    assert recorded.returncode == 0, recorded.stderr
    assert "run completed" in recorded.stdout and "child nightly" in recorded.stdout
    assert "from 2 process(es)" in recorded.stderr
    cassette = load(tmp_path / "c.json")
    paths = [i.request.url.split("/v1")[1] for i in cassette]
    assert paths[0] == "/assistants" and paths[-1].startswith("/assistants/asst_")
    assert [i.at_ms for i in cassette] == sorted(i.at_ms for i in cassette)
    assert cassette.meta["processes"] == 2 and cassette.timelines
    assert "ScriptKey" not in (tmp_path / "c.json").read_text()

    replayed = _record(tmp_path, "http://127.0.0.1:9/v1", "--mode", "none")
    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stdout == recorded.stdout
    assert load(tmp_path / "c.json").to_json() == cassette.to_json(), "replaying changed nothing"


def test_record_passes_on_the_command_exit_code(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["record", "--cassette", str(tmp_path / "c.json"), "--", sys.executable, "-c", "raise SystemExit(3)"]
    )
    assert result.exit_code == 3


def test_show_text_and_json() -> None:
    cassette = Path(__file__).resolve().parents[1] / "cassettes" / "demo" / "openai_tool_run.json"
    runner = CliRunner()
    text = runner.invoke(main, ["show", str(cassette)])
    assert text.exit_code == 0
    assert "queued -> in_progress -> requires_action -> queued -> in_progress -> completed" in text.output
    assert "tool calls: call_" in text.output and "answers: call_" in text.output
    assert "\x1b[" not in text.output, "plain output when not a terminal"
    data = json.loads(runner.invoke(main, ["show", "--format", "json", str(cassette)]).output)
    assert data["resources"][0]["states"][-1] == "completed"
    coze = runner.invoke(main, ["show", str(cassette.with_name("coze_chat.json"))])
    assert "stream: 17 events" in coze.output and "conversation.message.delta x" in coze.output


@pytest.fixture
def broken(tmp_path: Path) -> dict[str, Path]:
    bad_json = tmp_path / "broken.json"
    bad_json.write_text('{"format": 1, "interactions": [')
    bad_rules = tmp_path / "rules.toml"
    bad_rules.write_text("json_pathz = ['x']\n")
    bad_drift = tmp_path / "drift.toml"
    bad_drift.write_text('[tool.runreplay.drift]\nunknwon_field = "error"\n')
    good = tmp_path / "good.json"
    good.write_text(Path(__file__).resolve().parents[1].joinpath("cassettes/demo/coze_chat.json").read_text())
    return {
        "missing": tmp_path / "missing.json",
        "broken": bad_json,
        "rules": bad_rules,
        "drift": bad_drift,
        "good": good,
        "dir": tmp_path,
    }


ERROR_CASES = {
    "show missing": (["show", "{missing}"], "missing.json"),
    "show broken": (["show", "{broken}"], "broken.json at line 1"),
    "scrub missing": (["scrub", "{missing}"], "missing.json"),
    "scrub broken": (["scrub", "--check", "{broken}"], "broken.json at line 1"),
    "scrub bad rules": (["scrub", "--rules", "{rules}", "{good}"], "unknown key 'json_pathz'"),
    "validate missing": (["validate", "{missing}"], "missing.json"),
    "validate broken": (["validate", "{broken}"], "broken.json"),
    "drift broken": (["drift", "{broken}"], "broken.json"),
    "drift bad config": (["drift", "--config", "{drift}", "{good}"], "unknown key 'unknwon_field'"),
    "import missing": (["import", "{missing}", "-o", "{dir}"], "missing.json"),
    "import broken": (["import", "{broken}", "-o", "{dir}"], "broken.json"),
    "record no command": (["record", "--cassette", "{good}"], "COMMAND"),
    "record none without cassette": (
        ["record", "--cassette", "{missing}", "--mode", "none", "--", "python", "-V"],
        "missing.json",
    ),
    "record bad rules": (["record", "--cassette", "{good}", "--rules", "{rules}", "--", "python", "-V"], "json_pathz"),
    "emulate bad port": (["emulate", "--port", "99999"], "99999"),
    "unknown option": (["show", "--colour", "{good}"], "--colour"),
}


@pytest.mark.parametrize("case", sorted(ERROR_CASES))
def test_every_error_path_is_one_paragraph_and_exit_2(broken: dict[str, Path], case: str) -> None:
    args, fragment = ERROR_CASES[case]
    result = CliRunner().invoke(main, [a.format(**broken) for a in args])
    assert result.exit_code == 2, result.output
    assert fragment in result.output
    assert "Traceback" not in result.output
    message = result.output.strip().split("\n\n")
    assert len(message) <= 2, f"one paragraph (plus click's usage line), got: {result.output!r}"


def test_emulator_commands_name_the_extra_they_need_when_it_is_missing() -> None:
    # A None entry in sys.modules makes an import fail, as if the package were not installed.
    code = (
        "import sys; sys.modules['uvicorn'] = None\n"
        "from click.testing import CliRunner\n"
        "from runreplay.cli import main\n"
        "for args in (['emulate'], ['demo'], ['serve', '.']):\n"
        "    result = CliRunner().invoke(main, args)\n"
        "    print(result.exit_code, result.output.strip().splitlines()[-1])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        assert line.startswith("2 ") and "pip install 'runreplay[emulator]'" in line, out


def test_demo_names_the_extra_when_an_sdk_is_missing() -> None:
    code = (
        "import sys; sys.modules['azure.ai.agents'] = None\n"
        "from click.testing import CliRunner\n"
        "from runreplay.cli import main\n"
        "result = CliRunner().invoke(main, ['demo'])\n"
        "print(result.exit_code, result.output.strip().splitlines()[-1])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out.startswith("2 ") and "azure.ai.agents is not installed" in out, out
    assert "pip install 'runreplay[demo]'" in out, out
