"""The runreplay pytest plugin, registered through the ``pytest11`` entry point.

Mark a test with ``@pytest.mark.runreplay`` and every HTTP request it makes is recorded
to, or replayed from, ``cassettes/<test module>/<test name>.json`` beside the test file.
The marker takes the keywords of :func:`runreplay.use_cassette` (every field of
:class:`runreplay.Options`), each also settable as an ini key ``runreplay_<keyword>``; a
few have a command-line flag. One rule decides between them, for every keyword: the
command line, then the marker, then the ini file, then the default.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import pytest

from runreplay import (
    ConfigError,
    RecordMode,
    ReplayMode,
    RunReplayError,
    Session,
    ToolOutputs,
    UnusedPolicy,
    ValidatePolicy,
    load_rules,
)
from runreplay.options import option_help, option_names

MARKER = "runreplay"

#: Keywords with a command-line flag (``--runreplay-<keyword>``), with their choices.
FLAGS: dict[str, list[str]] = {
    "record_mode": [m.value for m in RecordMode],
    "replay_mode": [m.value for m in ReplayMode],
    "unused": [m.value for m in UnusedPolicy],
    "tool_outputs": [m.value for m in ToolOutputs],
    "validate": [m.value for m in ValidatePolicy],
}
#: Keywords that only a marker (or use_cassette) can give: they take Python objects.
OBJECTS = frozenset({"streams", "scrub"})
_BOOLS = frozenset({"match_host", "virtual_clock", "sse_exact", "validate_replay"})
_LISTS = frozenset({"match_ignore_paths", "match_headers"})

_SESSION = pytest.StashKey[Session]()
_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-\[\]=,+@]")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("runreplay", "record and replay of agent run APIs")
    group.addoption(
        "--record-mode",
        action="store",
        dest="runreplay_record_mode",
        default=None,
        choices=FLAGS["record_mode"],
        help="runreplay record mode for marked tests (the same as --runreplay-record-mode).",
    )
    for name, choices in FLAGS.items():
        flag = "--runreplay-" + name.replace("_", "-")
        group.addoption(
            flag, action="store", dest=f"runreplay_{name}", default=None, choices=choices, help=option_help()[name]
        )
    group.addoption(
        "--runreplay-cassette-dir",
        action="store",
        dest="runreplay_cassette_dir",
        default=None,
        help="store cassettes under DIR/<test module>/ instead of beside each test file.",
    )
    for name, meaning in option_help().items():
        if name in OBJECTS:
            continue
        kind: Literal["bool", "linelist", "string"] = (
            "bool" if name in _BOOLS else "linelist" if name in _LISTS else "string"
        )
        parser.addini(f"runreplay_{name}", meaning, type=kind, default=None)
    parser.addini("runreplay_cassette_dir", "cassette folder (relative to the rootdir)", default="")


def pytest_configure(config: pytest.Config) -> None:
    keywords = ", ".join(f"{name}=..." for name in option_names())
    config.addinivalue_line(
        "markers",
        f"runreplay(cassette=None, *, {keywords}): record/replay this test's HTTP traffic with runreplay; "
        "the keywords are those of runreplay.use_cassette.",
    )


def marker_options(item: pytest.Item) -> tuple[str | None, dict[str, Any]]:
    """The marker's cassette name and keywords (checked: an unknown keyword is an error)."""
    marker = item.get_closest_marker(MARKER)
    if marker is None:
        return None, {}
    keywords = dict(marker.kwargs)
    if len(marker.args) > 1:
        raise ConfigError(f"@pytest.mark.runreplay on {item.nodeid}: takes at most one positional argument")
    name = marker.args[0] if marker.args else keywords.pop("cassette", None)
    unknown = sorted(set(keywords) - set(option_names()))
    if unknown:
        known = ", ".join(["cassette", *option_names()])
        raise ConfigError(f"@pytest.mark.runreplay on {item.nodeid}: unknown option(s) {unknown}; known: {known}")
    return name, keywords


def session_options(item: pytest.Item, marked: dict[str, Any]) -> dict[str, Any]:
    """Each keyword from the command line, else the marker, else the ini file (unset: the default)."""
    config = item.config
    chosen: dict[str, Any] = {}
    for name in option_names():
        flag = config.getoption(f"runreplay_{name}", None) if name in FLAGS else None
        if flag is not None:
            chosen[name] = flag
        elif name in marked:
            chosen[name] = marked[name]
        elif name not in OBJECTS:
            ini = config.getini(f"runreplay_{name}")
            if ini not in (None, "", []):
                chosen[name] = ini
    chosen.setdefault("scrub", _scrub_rules(config))
    return chosen


def cassette_path(item: pytest.Item, name: str | None) -> Path:
    """Where a test's cassette lives: ``<dir>/<module>/<test>.json``."""
    config = item.config
    module = Path(str(item.path)).stem
    chosen = config.getoption("runreplay_cassette_dir") or config.getini("runreplay_cassette_dir")
    if chosen:
        base = Path(chosen)
        if not base.is_absolute():
            base = config.rootpath / base
    else:
        base = Path(str(item.path)).parent / "cassettes"
    folder = base / module
    if name:
        path = Path(name)
        if path.suffix != ".json":
            path = path.with_name(path.name + ".json")
        return path if path.is_absolute() else folder / path
    test_name = item.name
    cls = getattr(item, "cls", None)
    if cls is not None:
        test_name = f"{cls.__name__}.{test_name}"
    return folder / (_UNSAFE.sub("_", test_name) + ".json")


_RUN = pytest.StashKey[str]()


def _run_id(config: pytest.Config) -> str:
    """This pytest session's id, shared by its xdist workers (their ``testrunuid``)."""
    if _RUN not in config.stash:
        workerinput = getattr(config, "workerinput", None)
        shared = workerinput.get("testrunuid") if isinstance(workerinput, dict) else None
        config.stash[_RUN] = str(shared or uuid.uuid4().hex)
    return config.stash[_RUN]


_SCRUB = pytest.StashKey[Any]()


def _scrub_rules(config: pytest.Config) -> Any:
    """[tool.runreplay.scrub] of the project's pyproject.toml, read once per run."""
    if _SCRUB not in config.stash:
        config.stash[_SCRUB] = load_rules(search_from=config.rootpath)
    return config.stash[_SCRUB]


@pytest.fixture
def runreplay_cassette(request: pytest.FixtureRequest) -> Iterator[Session]:
    """The active runreplay session (its cassette, what was recorded and replayed).

    Requesting it activates recording/replay even without the marker.
    """
    item = request.node
    problem = None
    try:
        name, marked = marker_options(item)
        session = Session(cassette_path(item, name), rewrite_run=_run_id(item.config), **session_options(item, marked))
    except RunReplayError as exc:
        problem = str(exc)
    if problem is not None:
        pytest.fail(problem, pytrace=False)
    item.stash[_SESSION] = session
    with session:
        yield session
    if session.problems:
        pytest.fail(str(session.problems[0]), pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    result = yield
    session = item.stash.get(_SESSION, None)
    if session is not None and session.unmatched:
        # The code under test swallowed the unmatched-request error; the test must still fail.
        pytest.fail(session.unmatched[0], pytrace=False)
    return result


@pytest.fixture(autouse=True)
def _runreplay_marker(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker(MARKER) is not None:
        request.getfixturevalue("runreplay_cassette")


def pytest_report_header(config: pytest.Config) -> str | None:
    mode = config.getoption("runreplay_record_mode") or config.getini("runreplay_record_mode") or "none"
    return f"runreplay: record mode {mode}"
