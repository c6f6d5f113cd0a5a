"""The runreplay pytest plugin, registered through the ``pytest11`` entry point.

Mark a test with ``@pytest.mark.runreplay`` and every HTTP request it makes is recorded
to, or replayed from, ``cassettes/<test module>/<test name>.json`` beside the test file.
The marker takes the keywords of :func:`runreplay.use_cassette` (every field of
:class:`runreplay.Options`); so does the ``runreplay_config`` fixture (override it in a
conftest.py), and most have an ini key ``runreplay_<keyword>``, a few a command-line flag.
One rule decides between them, key by key: the command line, then the markers (function,
class, module: the closest first), then ``runreplay_config``, then the ini file, then the
default. ``runreplay_cassette_dir`` and ``runreplay_cassette_name`` fixtures place the file.

``--block-network`` blocks every outbound connection of tests that have no recording
session (``--allowed-hosts`` and ``--runreplay-allow-loopback`` let some through); a
replay-only session blocks them by itself (:mod:`runreplay.engine.isolation`).
``--disable-recording`` makes the marker do nothing. Both mean what they mean in
pytest-recording, which may be loaded too: it then owns them and ``--record-mode`` and
``--allowed-hosts`` (see :mod:`runreplay_pytest.recording`).
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from collections.abc import Generator, Iterator, Mapping
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
from runreplay.options import option_help, option_kind, option_names
from runreplay_pytest import emulator, recording

# The self-starting emulator's fixtures (--runreplay-emulator), found by pytest in this module's
# namespace; `pytest_plugins` would import the module a second time for assertion rewriting and warn.
from runreplay_pytest.emulator import (  # noqa: F401
    _runreplay_emulator_server,
    runreplay_emulator,
    runreplay_emulator_settings,
)
from runreplay_pytest.marker import MARKER, wants_session

#: Keywords with a command-line flag (``--runreplay-<keyword>``), with their choices.
FLAGS: dict[str, list[str]] = {
    "record_mode": [m.value for m in RecordMode],
    "replay_mode": [m.value for m in ReplayMode],
    "unused": [m.value for m in UnusedPolicy],
    "tool_outputs": [m.value for m in ToolOutputs],
    "validate": [m.value for m in ValidatePolicy],
}
#: Keywords that only a marker, runreplay_config or use_cassette can give: they take Python objects.
OBJECTS = frozenset({"streams", "scrub", "before_record_request", "before_record_response"})
#: The ini type of each kind of keyword (runreplay.options.option_kind).
_INI_TYPES: dict[str, Literal["bool", "linelist", "string"]] = {"flag": "bool", "list": "linelist", "text": "string"}

_SESSION = pytest.StashKey[Session]()
_GUARD = pytest.StashKey[NetworkGuard]()
_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-\[\]=,+@]")
#: The longest cassette file (or folder) name, in bytes; longer ones are cut and end in a hash.
MAX_NAME_BYTES = 100


def pytest_addoption(parser: pytest.Parser) -> None:
    recording.make_room(parser)
    group = parser.getgroup("runreplay", "record and replay of agent run APIs")
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
    _add_shared_flags(group)
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
        parser.addini(f"runreplay_{name}", meaning, type=_INI_TYPES[option_kind(name)], default=None)
    parser.addini("runreplay_cassette_dir", "cassette folder (relative to the rootdir)", default="")
    emulator.add_options(parser)


def _add_shared_flags(group: pytest.OptionGroup) -> None:
    """The flags pytest-recording defines too, with its meanings: registered when it does not own them."""
    recording.add_shared(
        group,
        "--record-mode",
        action="store",
        dest="runreplay_shared_record_mode",
        default=None,
        choices=FLAGS["record_mode"],
        help="record mode for marked tests (--runreplay-record-mode beats it).",
    )
    recording.add_shared(
        group,
        "--allowed-hosts",
        action="store",
        dest="runreplay_shared_allowed_hosts",
        default=None,
        metavar="HOST,HOST",
        help="the same as --runreplay-allow-hosts.",
    )
    recording.add_shared(
        group,
        "--block-network",
        action="store_true",
        dest="runreplay_shared_block_network",
        default=False,
        help="block every outbound connection of tests without a recording runreplay session, marked or not "
        "(except --allowed-hosts, and loopback with --runreplay-allow-loopback).",
    )
    recording.add_shared(
        group,
        "--disable-recording",
        action="store_true",
        dest="runreplay_shared_disable_recording",
        default=False,
        help="runreplay markers do nothing: marked tests reach the network as unmarked ones do.",
    )


def pytest_configure(config: pytest.Config) -> None:
    keywords = ", ".join(f"{name}=..." for name in option_names())
    config.addinivalue_line(
        "markers",
        f"runreplay(cassette=None, *, {keywords}): record/replay this test's HTTP traffic with runreplay; "
        "the keywords are those of runreplay.use_cassette. Markers on the module, class and function merge "
        "(the closest wins per keyword) over the runreplay_config fixture and the ini file; the command line "
        "beats them all.",
    )
    if _network_blocked(config):
        _block_guard(config)  # a malformed --allowed-hosts is a usage error before any test runs


def marker_options(item: pytest.Item) -> tuple[str | None, dict[str, Any]]:
    """The cassette name and keywords of the test's runreplay markers, merged (checked: an unknown
    keyword is an error). The closest marker (function, then class, then module) wins per keyword."""
    name: str | None = None
    merged: dict[str, Any] = {}
    for marker in item.iter_markers(MARKER):  # the closest first
        marker_name, keywords = _one_marker(item, marker)
        name = marker_name if name is None else name
        for key, value in keywords.items():
            merged.setdefault(key, value)
    return name, merged


def _one_marker(item: pytest.Item, marker: pytest.Mark) -> tuple[Any, dict[str, Any]]:
    keywords = dict(marker.kwargs)
    if len(marker.args) > 1:
        raise ConfigError(f"@pytest.mark.runreplay on {item.nodeid}: takes at most one positional argument")
    name = marker.args[0] if marker.args else keywords.pop("cassette", None)
    unknown = sorted(set(keywords) - set(option_names()))
    if unknown:
        known = ", ".join(["cassette", *option_names()])
        raise ConfigError(f"@pytest.mark.runreplay on {item.nodeid}: unknown option(s) {unknown}; known: {known}")
    return name, keywords


def configured_options(item: pytest.Item, configured: object) -> dict[str, Any]:
    """The ``runreplay_config`` fixture's value, checked: a mapping of known keywords."""
    where = f"the runreplay_config fixture for {item.nodeid}"
    if not isinstance(configured, Mapping):
        raise ConfigError(f"{where} must return a dict of runreplay options, not {type(configured).__name__}")
    unknown = sorted(set(configured) - set(option_names()))
    if unknown:
        raise ConfigError(f"{where}: unknown option(s) {unknown}; known: {', '.join(option_names())}")
    return dict(configured)


def session_options(
    item: pytest.Item, marked: dict[str, Any], configured: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Each keyword from the command line, else the markers, else ``configured`` (the
    runreplay_config fixture), else the ini file (unset: the default)."""
    config = item.config
    configured = configured or {}
    chosen: dict[str, Any] = {}
    for name in option_names():
        flag = _flag_value(config, name)
        if flag is not None:
            chosen[name] = flag
        elif name in marked:
            chosen[name] = marked[name]
        elif name in configured:
            chosen[name] = configured[name]
        elif name not in OBJECTS:
            ini = config.getini(f"runreplay_{name}")
            if ini not in (None, "", []):
                chosen[name] = ini
    chosen.setdefault("scrub", _scrub_rules(config))
    return chosen


def _flag_value(config: pytest.Config, name: str) -> Any:
    """The command line's value of keyword ``name``, None when not given."""
    if name == "record_mode":
        return config.getoption("runreplay_record_mode", None) or config.getoption("--record-mode", None)
    if name == "allow_hosts":
        return _allowed_hosts_flag(config)
    if name == "allow_loopback":
        return config.getoption("runreplay_allow_loopback", None)
    return config.getoption(f"runreplay_{name}", None) if name in FLAGS else None


def _allowed_hosts_flag(config: pytest.Config) -> list[str] | None:
    """``--runreplay-allow-hosts``, else ``--allowed-hosts`` when it is runreplay's (host globs)."""
    given = config.getoption("runreplay_allow_hosts", None)
    if given is None and not recording.loaded(config):
        given = config.getoption("--allowed-hosts", None)
    return _split(given)


def _split(given: object) -> list[str] | None:
    if given is None:
        return None
    return [host.strip() for host in str(given).split(",") if host.strip()]


def cassette_folder(item: pytest.Item) -> Path:
    """The folder of a test's cassettes: ``<dir>/<module>``, with ``<dir>`` from
    ``--runreplay-cassette-dir``, else the ini key, else ``cassettes`` beside the test file."""
    config = item.config
    module = Path(str(item.path)).stem
    chosen = config.getoption("runreplay_cassette_dir") or config.getini("runreplay_cassette_dir")
    if chosen:
        base = Path(chosen)
        if not base.is_absolute():
            base = config.rootpath / base
    else:
        base = Path(str(item.path)).parent / "cassettes"
    return base / module


def default_cassette_name(item: pytest.Item) -> str:
    """A test's cassette name when nothing names one: ``test_name``, or ``Class.test_name``."""
    cls = getattr(item, "cls", None)
    return f"{cls.__name__}.{item.name}" if cls is not None else item.name


def cassette_path(item: pytest.Item, name: object, folder: Path | None = None, source: str = "") -> Path:
    """Where a test's cassette lives: ``<folder>/<name>.json`` (``folder``: :func:`cassette_folder`).

    A given name (the marker's, or ``source``'s) stays inside that folder (a ConfigError
    names the test and the name otherwise), each part made safe as test ids are and cut to
    :data:`MAX_NAME_BYTES`. Without a name, the test's own name is one part.
    """
    folder = cassette_folder(item) if folder is None else folder
    if name is None or name == default_cassette_name(item):
        return folder / _safe_name(default_cassette_name(item), ".json")
    return _named(item, name, folder, source or "@pytest.mark.runreplay")


def _named(item: pytest.Item, name: object, folder: Path, source: str) -> Path:
    """A given cassette name as a path inside ``folder`` (or, when the ini allows it, an absolute one)."""
    if isinstance(name, os.PathLike):
        name = os.fspath(name)
    where = f"{source} on {item.nodeid}: cassette name {name!r}"
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
    return bool(config.getoption("--disable-recording", False))


def _network_blocked(config: pytest.Config) -> bool:
    # False when not given (pytest-recording's default too): then the ini file decides.
    return bool(config.getoption("--block-network", False) or config.getini("runreplay_block_network"))


def _block_guard(config: pytest.Config) -> NetworkGuard:
    """The guard of ``--block-network``: hosts and loopback from the command line, else the ini file.

    With pytest-recording loaded, its ``--allowed-hosts`` are regular expressions, as there.
    """
    hosts = _allowed_hosts_flag(config)
    if hosts is None:
        hosts = list(config.getini("runreplay_allow_hosts") or [])
    loopback = config.getoption("runreplay_allow_loopback", None)
    if loopback is None:
        loopback = bool(config.getini("runreplay_allow_loopback"))
    patterns: list[str] = []
    allow_hint = "--allowed-hosts={host} (or the ini key runreplay_allow_hosts)"
    loopback_hint = "--runreplay-allow-loopback (or runreplay_allow_loopback = true in the ini file)"
    if recording.loaded(config):  # pytest-recording's guard is active too: only its flag opens both
        patterns = _split(config.getoption("--allowed-hosts", None)) or []
        allow_hint = loopback_hint = "--allowed-hosts=REGEX (pytest-recording's: a regular expression for the host)"
    try:
        return NetworkGuard(
            hosts,
            allow_loopback=loopback,
            allow_patterns=patterns,
            reason="pytest runs with --block-network and this test has no recording runreplay session",
            allow_hint=allow_hint,
            loopback_hint=loopback_hint,
        )
    except RunReplayError as exc:
        raise pytest.UsageError(f"--allowed-hosts / runreplay_allow_hosts: {exc}") from None


@pytest.fixture
def runreplay_config() -> dict[str, Any]:
    """Options for every runreplay session in this fixture's reach: override it in a conftest.py,
    a module or a class. Markers beat it key by key; it beats the ini file."""
    return {}


@pytest.fixture
def runreplay_cassette_dir(request: pytest.FixtureRequest) -> Path:
    """The folder of this test's cassettes (default: ``cassettes/<test module>`` beside the test file,
    or under the ini key ``runreplay_cassette_dir``). ``--runreplay-cassette-dir`` beats an override."""
    return cassette_folder(request.node)


@pytest.fixture
def runreplay_cassette_name(request: pytest.FixtureRequest) -> str:
    """This test's cassette name when its markers give none (default: ``test_name`` or ``Class.test_name``)."""
    return default_cassette_name(request.node)


def _plan(request: pytest.FixtureRequest) -> tuple[Path, dict[str, Any]]:
    """This test's cassette path and session keywords, from the flags, markers, fixtures and ini file."""
    item: pytest.Item = request.node
    config = item.config
    name, marked = marker_options(item)
    configured = configured_options(item, request.getfixturevalue("runreplay_config"))
    source = "@pytest.mark.runreplay"
    if name is None:
        name, source = request.getfixturevalue("runreplay_cassette_name"), "the runreplay_cassette_name fixture"
    if config.getoption("runreplay_cassette_dir"):
        folder = cassette_folder(item)  # the command line beats the fixture
    else:
        folder = Path(request.getfixturevalue("runreplay_cassette_dir"))
    return cassette_path(item, name, folder, source), session_options(item, marked, configured)


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
        path, options = _plan(request)
        session = Session(path, rewrite_run=_run_id(item.config), **options)
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


def _has_session(item: pytest.Item) -> bool:
    """Whether this test gets a runreplay session (a marker, or the fixture requested)."""
    return wants_session(item) and not _recording_disabled(item.config)


@pytest.fixture(autouse=True)
def _runreplay_marker(request: pytest.FixtureRequest) -> Iterator[None]:
    config = request.config
    session = request.getfixturevalue("runreplay_cassette") if _has_session(request.node) else None
    # A recording session needs the network; a replay-only one blocks it by itself; a test
    # pytest-recording records needs it too.
    if session is None and _network_blocked(config) and not (recording.loaded(config) and recording.records(request)):
        if recording.loaded(config):
            # Its guard first, so ours wraps it: runreplay's message, and a swallowed block still fails.
            request.getfixturevalue("block_network")
        guard = _block_guard(config)
        request.node.stash[_GUARD] = guard
        with guard:
            yield
    else:
        yield


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(
    fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
) -> Generator[None, object, object]:
    """pytest-recording's ``--block-network`` spares a test with a runreplay session, as runreplay's does."""
    if not (recording.is_block_fixture(fixturedef) and _has_session(request.node)):
        return (yield)
    with recording.network_flag_off(request.config):
        return (yield)


def pytest_report_header(config: pytest.Config) -> str | None:
    mode = _flag_value(config, "record_mode") or config.getini("runreplay_record_mode") or "none"
    extra = ""
    if recording.loaded(config):
        extra += ", next to pytest-recording (it owns " + ", ".join(recording.SHARED) + ")"
    if _recording_disabled(config):
        extra += ", recording disabled"
    if _network_blocked(config):
        extra += ", network blocked"
    return f"runreplay: record mode {mode}{extra}"
