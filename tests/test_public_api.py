"""The public API: what ``runreplay`` exports is pinned, typed, and what the README uses.

Adding or removing a public name is a decision: change ``EXPORTED`` with it.
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
import typing
from pathlib import Path

import pytest
from _paths import REPO

import runreplay
from runreplay import ConfigError, Options, RecordMode, Session, use_cassette
from runreplay.options import OptionKeywords, option_help, option_names

EXPORTED = [
    "Body",
    "BodyKind",
    "Cassette",
    "CassetteError",
    "ConfigError",
    "DriftConfig",
    "DriftReport",
    "Emulator",
    "Framing",
    "Headers",
    "Interaction",
    "MatchConfig",
    "Options",
    "RealSleepWarning",
    "RecordMode",
    "RepeatedRequestError",
    "ReplayMode",
    "ReplayedIdWarning",
    "Request",
    "ResourceReplay",
    "Response",
    "RunReplayError",
    "SSEEvent",
    "SanitizedIdWarning",
    "SchemaViolationError",
    "SchemaViolationWarning",
    "ScrubRules",
    "Scrubber",
    "Session",
    "StreamOptions",
    "ToolOutputs",
    "UnmatchedRequestError",
    "UnusedInteractionsError",
    "UnusedInteractionsWarning",
    "UnusedPolicy",
    "ValidatePolicy",
    "Violation",
    "__version__",
    "check_cassette",
    "drift",
    "find_secrets",
    "load",
    "load_rules",
    "save",
    "serve",
    "use_cassette",
    "validate_cassette",
    "validate_interaction",
]


def test_all_is_pinned() -> None:
    assert sorted(runreplay.__all__) == EXPORTED


@pytest.mark.parametrize("name", EXPORTED)
def test_every_exported_name_exists(name: str) -> None:
    assert getattr(runreplay, name) is not None


def test_importing_runreplay_does_not_start_the_web_stack() -> None:
    code = "import sys, runreplay; print('uvicorn' in sys.modules, 'starlette' in sys.modules)"
    assert _python(code).split() == ["False", "False"]
    assert _python("import sys, runreplay; runreplay.Emulator; print('uvicorn' in sys.modules)").strip() == "True"


def _python(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout


def test_an_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Emulater'"):
        _ = runreplay.Emulater  # type: ignore[attr-defined]


def test_the_package_and_the_plugin_are_typed() -> None:
    assert (REPO / "runreplay" / "py.typed").is_file()
    assert (REPO / "pytest_plugin" / "py.typed").is_file()


def test_the_keywords_are_declared_once() -> None:
    fields = [f.name for f in dataclasses.fields(Options)]
    assert option_names() == fields
    assert list(typing.get_type_hints(OptionKeywords)) == fields
    assert list(option_help()) == fields and all(option_help().values())


def test_session_and_use_cassette_take_every_option_and_no_other(tmp_path: Path) -> None:
    defaults = {name: getattr(Options(), name) for name in option_names()}
    with use_cassette(tmp_path / "a.json", **{**defaults, "record_mode": "once"}) as session:
        pass
    assert session.options == Options(record_mode=RecordMode.ONCE)
    with pytest.raises(ConfigError, match=r"unknown option 'replay_mod' \(did you mean 'replay_mode'\?\)"):
        Session(tmp_path / "b.json", record_mode="once", replay_mod="fast")  # type: ignore[call-arg]
    with pytest.raises(ConfigError, match="unknown unused policy 'loud'; choose one of: warn, error, ignore"):
        Session(tmp_path / "b.json", record_mode="once", unused="loud")


def test_readme_examples_import_only_the_public_api() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.DOTALL)
    assert blocks, "the README has Python examples"
    private = re.findall(r"^\s*(?:from|import) (runreplay\.[\w.]+)", "\n".join(blocks), flags=re.MULTILINE)
    assert not private, f"README examples import internal modules: {sorted(set(private))}"


#: Keywords that take Python objects: no ini key.
PYTHON_OBJECTS = ("streams", "scrub", "before_record_request", "before_record_response")


def test_the_readme_options_table_lists_every_keyword_with_its_default() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    row = r"^\| `(\w+)` \| ?(?:`(runreplay_\w+)`)? ?\|[^|]*\| `([^`]*)` \|"
    rows = re.findall(row, readme, flags=re.MULTILINE)
    documented = {name: (ini, default) for name, ini, default in rows}
    assert list(documented) == option_names()
    for name, (ini, default) in documented.items():
        value = getattr(Options(), name)
        assert default == (value.value if hasattr(value, "value") else repr(value)), name
        assert ini == ("" if name in PYTHON_OBJECTS else f"runreplay_{name}"), name
