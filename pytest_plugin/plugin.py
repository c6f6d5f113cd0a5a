"""The runreplay pytest plugin, registered through the ``pytest11`` entry point.

Mark a test with ``@pytest.mark.runreplay`` and every HTTP request it makes is recorded
to, or replayed from, ``cassettes/<test module>/<test name>.json`` beside the test file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runreplay.errors import ConfigError, RunReplayError
from runreplay.lifecycle import ReplayMode
from runreplay.matching import MatchConfig
from runreplay.record_mode import RecordMode
from runreplay.scrub import ScrubRules, load_rules
from runreplay.session import UNUSED_POLICIES, Session

MARKER = "runreplay"
#: Keyword arguments the marker accepts, with what each one sets.
MARKER_OPTIONS = {
    "cassette": "cassette file name or path (same as the positional argument)",
    "record_mode": "none | once | new_episodes | all | rewrite",
    "match_ignore_paths": "JSON paths in request bodies left out of matching",
    "match_host": "also match scheme-less host and port (default False)",
    "match_headers": "request headers that must be equal, e.g. ['openai-beta']",
    "replay_mode": "timeline | sequence | fast: how polls of runs and chats are answered",
    "virtual_clock": "sleeps cost no wall time during replay (default True)",
    "unused": "warn | error | ignore: recorded interactions never replayed",
    "tool_outputs": "match | ids: must submitted tool outputs equal the recording, or only their ids",
    "sse_exact": "keep each recorded SSE event's exact bytes (default False)",
    "streams": "a runreplay.transport.StreamOptions: pacing, re-chunking and faults for replayed streams",
    "validate": "error | warn | off: recorded payloads that break their documented schema",
    "validate_replay": "also check replayed payloads against the schemas (default True)",
}

_SESSION = pytest.StashKey[Session]()
_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-\[\]=,+@]")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("runreplay", "record and replay of agent run APIs")
    group.addoption(
        "--record-mode",
        action="store",
        dest="runreplay_record_mode",
        default=None,
        choices=[m.value for m in RecordMode],
        help="runreplay record mode for marked tests (default: the ini option, else 'none'). "
        "Given on the command line it wins over the marker.",
    )
    group.addoption(
        "--runreplay-cassette-dir",
        action="store",
        dest="runreplay_cassette_dir",
        default=None,
        help="store cassettes under DIR/<test module>/ instead of beside each test file.",
    )
    group.addoption(
        "--runreplay-replay-mode",
        action="store",
        dest="runreplay_replay_mode",
        default=None,
        choices=[m.value for m in ReplayMode],
        help="how polls of runs and chats are replayed (default: the ini option, else 'timeline').",
    )
    group.addoption(
        "--runreplay-unused",
        action="store",
        dest="runreplay_unused",
        default=None,
        choices=list(UNUSED_POLICIES),
        help="what to do about recorded interactions a test never replayed (default 'warn').",
    )
    parser.addini("runreplay_record_mode", "default record mode for marked tests", default="none")
    parser.addini("runreplay_replay_mode", "timeline | sequence | fast", default="timeline")
    parser.addini("runreplay_unused", "warn | error | ignore", default="warn")
    parser.addini("runreplay_tool_outputs", "match | ids", default="match")
    parser.addini("runreplay_virtual_clock", "sleeps cost no wall time during replay", type="bool", default=True)
    parser.addini("runreplay_validate", "error | warn | off: recorded payloads breaking their schema", default="error")
    parser.addini("runreplay_validate_replay", "check replayed payloads too", type="bool", default=True)
    parser.addini("runreplay_cassette_dir", "cassette folder (relative to the rootdir)", default="")
    parser.addini("runreplay_match_ignore_paths", "JSON body paths ignored when matching", type="linelist")
    parser.addini("runreplay_match_headers", "request headers that must be equal to match", type="linelist")
    parser.addini("runreplay_match_host", "match on host and port too", type="bool", default=False)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "runreplay(cassette=None, *, record_mode=None, match_ignore_paths=(), match_host=False, "
        "match_headers=(), replay_mode=None, virtual_clock=True, unused=None, tool_outputs=None): "
        "record/replay this test's HTTP traffic with runreplay.",
    )


def _marker_options(item: pytest.Item) -> tuple[str | None, dict[str, Any]]:
    marker = item.get_closest_marker(MARKER)
    if marker is None:
        return None, {}
    unknown = sorted(set(marker.kwargs) - set(MARKER_OPTIONS))
    if unknown:
        known = ", ".join(MARKER_OPTIONS)
        raise ConfigError(f"@pytest.mark.runreplay on {item.nodeid}: unknown option(s) {unknown}; known: {known}")
    if len(marker.args) > 1:
        raise ConfigError(f"@pytest.mark.runreplay on {item.nodeid}: takes at most one positional argument")
    name = marker.args[0] if marker.args else marker.kwargs.get("cassette")
    return name, dict(marker.kwargs)


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


def _record_mode(item: pytest.Item, options: dict[str, Any]) -> RecordMode:
    cli = item.config.getoption("runreplay_record_mode")
    chosen = cli or options.get("record_mode") or item.config.getini("runreplay_record_mode") or "none"
    return RecordMode.parse(chosen)


def _match_config(item: pytest.Item, options: dict[str, Any]) -> MatchConfig:
    ini = item.config.getini
    ignore = options.get("match_ignore_paths", ini("runreplay_match_ignore_paths"))
    headers = options.get("match_headers", ini("runreplay_match_headers"))
    if isinstance(ignore, str):
        ignore = [ignore]
    if isinstance(headers, str):
        headers = [headers]
    try:
        return MatchConfig(
            ignore_json_paths=tuple(ignore),
            match_host=bool(options.get("match_host", ini("runreplay_match_host"))),
            match_headers=tuple(headers),
        )
    except ValueError as exc:
        raise ConfigError(f"runreplay options for {item.nodeid}: {exc}") from None


def _replay_options(item: pytest.Item, options: dict[str, Any]) -> dict[str, Any]:
    """Marker beats command line beats ini for each replay option."""
    config = item.config
    return {
        "replay_mode": options.get("replay_mode")
        or config.getoption("runreplay_replay_mode")
        or config.getini("runreplay_replay_mode"),
        "unused": options.get("unused") or config.getoption("runreplay_unused") or config.getini("runreplay_unused"),
        "tool_outputs": options.get("tool_outputs") or config.getini("runreplay_tool_outputs"),
        "virtual_clock": bool(options.get("virtual_clock", config.getini("runreplay_virtual_clock"))),
        "exact_sse": bool(options.get("sse_exact", False)),
        "validate": options.get("validate") or config.getini("runreplay_validate"),
        "validate_replay": bool(options.get("validate_replay", config.getini("runreplay_validate_replay"))),
        "scrub": _scrub_rules(config),
        "streams": options.get("streams"),
    }


_SCRUB = pytest.StashKey[ScrubRules]()


def _scrub_rules(config: pytest.Config) -> ScrubRules:
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
        name, options = _marker_options(item)
        session = Session(
            cassette_path(item, name),
            record_mode=_record_mode(item, options),
            match=_match_config(item, options),
            **_replay_options(item, options),
        )
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
    mode = config.getoption("runreplay_record_mode") or config.getini("runreplay_record_mode")
    return f"runreplay: record mode {mode}"
