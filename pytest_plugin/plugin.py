"""The runreplay pytest plugin, registered through the ``pytest11`` entry point.

Mark a test with ``@pytest.mark.runreplay`` and every HTTP request it makes is recorded
to, or replayed from, ``cassettes/<test module>/<test name>.json`` beside the test file.
The marker takes the keywords of :func:`runreplay.use_cassette` (every field of
:class:`runreplay.Options`), each also settable as an ini key ``runreplay_<keyword>``; a
few have a command-line flag. One rule decides between them, for every keyword: the
command line, then the marker, then the ini file, then the default.

``--block-network`` blocks every outbound connection of tests that have no recording
session (``--allowed-hosts`` and ``--runreplay-allow-loopback`` let some through); a
replay-only session blocks them by itself (:mod:`runreplay.engine.isolation`).
``--disable-recording`` makes the marker do nothing. Both mean what they mean in
pytest-recording.
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path, PurePosixPath, PureWindowsPath
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
from runreplay.engine.isolation import NetworkGuard
from runreplay.options import option_help, option_names
from runreplay_pytest import emulator

# The self-starting emulator's fixtures (--runreplay-emulator), found by pytest in this module's
# namespace; `pytest_plugins` would import the module a second time for assertion rewriting and warn.
from runreplay_pytest.emulator import (  # noqa: F401
    _runreplay_emulator_server,
    runreplay_emulator,
    runreplay_emulator_settings,
)

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
_BOOLS = frozenset({"match_host", "virtual_clock", "sse_exact", "validate_replay", "allow_loopback"})
_LISTS = frozenset({"match_ignore_paths", "match_headers", "allow_hosts"})

_SESSION = pytest.StashKey[Session]()
_GUARD = pytest.StashKey[NetworkGuard]()
_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-\[\]=,+@]")
#: The longest cassette file (or folder) name, in bytes; longer ones are cut and end in a hash.
MAX_NAME_BYTES = 100


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
    group.addoption(
        "--runreplay-allow-hosts",
        "--allowed-hosts",
        action="store",
        dest="runreplay_allow_hosts",
        default=None,
        metavar="HOST,HOST",
        help="hosts (name, IP or *.glob, optionally :port) that replay-only sessions and --block-network "
        "let through, comma-separated.",
    )
    group.addoption(
        "--runreplay-allow-loopback",
        action="store_true",
        dest="runreplay_allow_loopback",
        default=None,
        help="replay-only sessions and --block-network let connections to 127.0.0.1, ::1 and localhost through.",
    )
    group.addoption(
        "--block-network",
        action="store_true",
        dest="runreplay_block_network",
        default=None,
        help="block every outbound connection of tests without a recording runreplay session, marked or not "
        "(except --allowed-hosts, and loopback with --runreplay-allow-loopback).",
    )
    group.addoption(
        "--disable-recording",
        action="store_true",
        dest="runreplay_disable_recording",
        default=False,
        help="runreplay markers do nothing: marked tests reach the network as unmarked ones do.",
    )
    parser.addini("runreplay_block_network", "--block-network for every run", type="bool", default=False)
    parser.addini(
        "runreplay_absolute_cassette_names",
        "marker cassette names may be absolute paths (and ~ is expanded)",
        type="bool",
        default=False,
    )
    for name, meaning in option_help().items():
        if name in OBJECTS:
            continue
        kind: Literal["bool", "linelist", "string"] = (
            "bool" if name in _BOOLS else "linelist" if name in _LISTS else "string"
        )
        parser.addini(f"runreplay_{name}", meaning, type=kind, default=None)
    parser.addini("runreplay_cassette_dir", "cassette folder (relative to the rootdir)", default="")
    emulator.add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    keywords = ", ".join(f"{name}=..." for name in option_names())
    config.addinivalue_line(
        "markers",
        f"runreplay(cassette=None, *, {keywords}): record/replay this test's HTTP traffic with runreplay; "
        "the keywords are those of runreplay.use_cassette.",
    )
    if _network_blocked(config):
        _block_guard(config)  # a malformed --allowed-hosts is a usage error before any test runs


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
        if name == "allow_hosts":
            flag = _allowed_hosts_flag(config)
        elif name == "allow_loopback":
            flag = config.getoption("runreplay_allow_loopback", None)
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


def _allowed_hosts_flag(config: pytest.Config) -> list[str] | None:
    given = config.getoption("runreplay_allow_hosts", None)
    if given is None:
        return None
    return [host.strip() for host in str(given).split(",") if host.strip()]


def cassette_path(item: pytest.Item, name: object) -> Path:
    """Where a test's cassette lives: ``<dir>/<module>/<test>.json``.

    A marker's name stays inside that folder (a ConfigError names the test and the name
    otherwise), each part made safe as test ids are and cut to :data:`MAX_NAME_BYTES`.
    """
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
    if name is not None:
        return _named(item, name, folder)
    test_name = item.name
    cls = getattr(item, "cls", None)
    if cls is not None:
        test_name = f"{cls.__name__}.{test_name}"
    return folder / _safe_name(test_name, ".json")


def _named(item: pytest.Item, name: object, folder: Path) -> Path:
    """A marker's cassette name as a path inside ``folder`` (or, when the ini allows it, an absolute one)."""
    if isinstance(name, os.PathLike):
        name = os.fspath(name)
    where = f"@pytest.mark.runreplay on {item.nodeid}: cassette name {name!r}"
    if not isinstance(name, str):
        raise ConfigError(f"{where} must be a string")
    outside = bool(item.config.getini("runreplay_absolute_cassette_names"))
    allow = "set runreplay_absolute_cassette_names = true in the ini file to store cassettes outside it"
    if not name.strip():
        raise ConfigError(f"{where} is empty: give a file name, or no name to use the test's")
    if name.startswith("~"):
        if not outside:
            raise ConfigError(f"{where}: '~' is not expanded in a name inside the cassette folder {folder}; {allow}")
        name = os.path.expanduser(name)
    windows = PureWindowsPath(name)
    if PurePosixPath(name).is_absolute() or windows.is_absolute() or windows.drive:
        if not outside:
            raise ConfigError(f"{where} is an absolute path, outside the cassette folder {folder}; {allow}")
        return Path(name) if name.endswith(".json") else Path(name + ".json")
    parts = re.split(r"[/\\]", name)
    for part in parts:
        if part in ("", ".", ".."):
            raise ConfigError(
                f"{where} has a {part or 'empty'!r} part: a cassette name is a file name, optionally in "
                f"sub-folders, that stays inside the cassette folder {folder}"
            )
    *folders, stem = parts
    return folder.joinpath(*(_safe_name(part) for part in folders), _safe_name(stem, ".json"))


def _safe_name(text: str, suffix: str = "") -> str:
    """``text`` made safe as a file name (as test ids are), cut with a stable hash beyond MAX_NAME_BYTES."""
    if suffix and text.endswith(suffix):
        text = text[: -len(suffix)]
    safe = _UNSAFE.sub("_", text)  # ASCII only from here: bytes are characters
    if len(safe) + len(suffix) > MAX_NAME_BYTES:
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        safe = safe[: MAX_NAME_BYTES - len(suffix) - len(digest) - 1] + "-" + digest
    return safe + suffix


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


def _recording_disabled(config: pytest.Config) -> bool:
    return bool(config.getoption("runreplay_disable_recording", False))


def _network_blocked(config: pytest.Config) -> bool:
    flag = config.getoption("runreplay_block_network", None)
    return bool(flag if flag is not None else config.getini("runreplay_block_network"))


def _block_guard(config: pytest.Config) -> NetworkGuard:
    """The guard of ``--block-network``: hosts and loopback from the command line, else the ini file."""
    hosts = _allowed_hosts_flag(config)
    if hosts is None:
        hosts = list(config.getini("runreplay_allow_hosts") or [])
    loopback = config.getoption("runreplay_allow_loopback", None)
    if loopback is None:
        loopback = bool(config.getini("runreplay_allow_loopback"))
    try:
        return NetworkGuard(
            hosts,
            allow_loopback=loopback,
            reason="pytest runs with --block-network and this test has no recording runreplay session",
            allow_hint="--allowed-hosts={host} (or the ini key runreplay_allow_hosts)",
            loopback_hint="--runreplay-allow-loopback (or runreplay_allow_loopback = true in the ini file)",
        )
    except RunReplayError as exc:
        raise pytest.UsageError(f"--allowed-hosts / runreplay_allow_hosts: {exc}") from None


@pytest.fixture
def runreplay_cassette(request: pytest.FixtureRequest) -> Iterator[Session | None]:
    """The active runreplay session (its cassette, what was recorded and replayed).

    Requesting it activates recording/replay even without the marker. Under
    ``--disable-recording`` it is None and nothing is recorded or replayed.
    """
    item = request.node
    if _recording_disabled(item.config):
        yield None
        return
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
    session = item.stash.get(_SESSION, None)
    try:
        result = yield
    except BaseException as exc:
        if session is not None:  # its unused report then blames the failure, not the code's polling
            session.ended_early = f"The test raised {type(exc).__name__}"
        raise
    if session is not None and session.unmatched:
        # The code under test swallowed the unmatched-request error; the test must still fail.
        pytest.fail(session.unmatched[0], pytrace=False)
    guard = item.stash.get(_GUARD, None)
    if guard is not None and guard.blocked:
        pytest.fail(guard.blocked[0], pytrace=False)  # a blocked connection the test swallowed
    return result


@pytest.fixture(autouse=True)
def _runreplay_marker(request: pytest.FixtureRequest) -> Iterator[None]:
    config = request.config
    session = None
    wanted = request.node.get_closest_marker(MARKER) is not None or "runreplay_cassette" in request.fixturenames
    if wanted and not _recording_disabled(config):
        session = request.getfixturevalue("runreplay_cassette")
    if session is None and _network_blocked(config):
        # A recording session needs the network; a replay-only one blocks it by itself.
        guard = _block_guard(config)
        request.node.stash[_GUARD] = guard
        with guard:
            yield
    else:
        yield


def pytest_report_header(config: pytest.Config) -> str | None:
    mode = config.getoption("runreplay_record_mode") or config.getini("runreplay_record_mode") or "none"
    extra = ""
    if _recording_disabled(config):
        extra += ", recording disabled"
    if _network_blocked(config):
        extra += ", network blocked"
    return f"runreplay: record mode {mode}{extra}"
