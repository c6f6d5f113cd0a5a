"""A self-starting emulator for recording: ``--runreplay-emulator`` (or ``runreplay_emulator = true``).

When a test's runreplay session may record, the built-in emulator (:class:`runreplay.Emulator`)
starts, once per pytest process (each xdist worker has its own), on 127.0.0.1, and stops when
the session ends. For each recording test the SDKs are pointed at it through the environment
variables they read, as each API family declares them (``OPENAI_BASE_URL`` and
``OPENAI_API_KEY``; ``COZE_API_BASE`` and ``COZE_API_TOKEN``), and those are restored after
the test. A test that only replays starts nothing: its SDKs get the same variables with a
port on 127.0.0.1 where nothing listens (replay answers before any connection), so the same
suite replays with no environment of its own, and one whose cassettes all exist never starts
the emulator.

The emulator's keywords come from the session fixture ``runreplay_emulator_settings``
(override it in a conftest.py), whose default takes ``runreplay_emulator_phase_seconds``
from the ini file.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import pytest

from runreplay.providers import sdk_environment
from runreplay_pytest.marker import wants_session

if TYPE_CHECKING:
    from runreplay.emulator import Emulator

#: The API key the SDKs are given (the emulator takes any; scrubbing hides it anyway).
KEY = "runreplay-emulator-key"
#: Where a replaying test's SDKs point: the discard port, where nothing listens.
NOWHERE = "http://127.0.0.1:9"
#: How long each run or chat phase lasts by default, in seconds: fast, and polled as often.
DEFAULT_PHASE_SECONDS = 0.05


def add_options(parser: pytest.Parser) -> None:
    """The flag and the ini keys, in the plugin's option group."""
    group = parser.getgroup("runreplay")
    group.addoption(
        "--runreplay-emulator",
        action="store_true",
        dest="runreplay_emulator",
        default=None,
        help="start the local emulator (once, on 127.0.0.1) when a test records, and point the SDKs' "
        "environment variables at it for that test; a test that only replays starts nothing.",
    )
    parser.addini("runreplay_emulator", "--runreplay-emulator for every run", type="bool", default=False)
    parser.addini(
        "runreplay_emulator_phase_seconds",
        f"how long each run/chat phase of the self-started emulator lasts (default {DEFAULT_PHASE_SECONDS})",
        default="",
    )


def enabled(config: pytest.Config) -> bool:
    flag = config.getoption("runreplay_emulator", None)
    return bool(flag if flag is not None else config.getini("runreplay_emulator"))


def _phase_seconds(config: pytest.Config) -> float:
    text = str(config.getini("runreplay_emulator_phase_seconds") or "").strip()
    if not text:
        return DEFAULT_PHASE_SECONDS
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        where = config.inipath or "the ini file"
        pytest.fail(
            f"runreplay_emulator_phase_seconds in {where}: expected a positive number of seconds, got {text!r}",
            pytrace=False,
        )
    return value


class LazyEmulator:
    """The session's emulator, started the first time a recording test needs it."""

    def __init__(self, settings: Mapping[str, Any]) -> None:
        self.settings = dict(settings)
        self.emulator: Emulator | None = None

    def get(self) -> Emulator:
        if self.emulator is None:
            try:
                from runreplay.emulator import Emulator
            except ImportError as exc:
                pytest.fail(f"--runreplay-emulator / runreplay_emulator: {exc}", pytrace=False)
            try:
                self.emulator = Emulator(**self.settings).start()
            except (TypeError, ValueError, OSError, RuntimeError) as exc:
                pytest.fail(
                    f"--runreplay-emulator: the emulator did not start with {self.settings}: {exc}", pytrace=False
                )
        return self.emulator

    def stop(self) -> None:
        if self.emulator is not None:
            self.emulator.stop()
            self.emulator = None


@pytest.fixture(scope="session")
def runreplay_emulator_settings(pytestconfig: pytest.Config) -> dict[str, Any]:
    """Keywords of :class:`runreplay.Emulator` for the self-started emulator; override to change them.

    The default: ``port=0`` (a free port), ``phase_seconds`` from the ini file (0.05), and
    runs that ask to be polled once a phase (``poll_after_ms``).
    """
    phase = _phase_seconds(pytestconfig)
    return {"port": 0, "phase_seconds": phase, "poll_after_ms": max(1, round(phase * 1000))}


@pytest.fixture(scope="session")
def _runreplay_emulator_server(runreplay_emulator_settings: dict[str, Any]) -> Iterator[LazyEmulator]:
    lazy = LazyEmulator(runreplay_emulator_settings)
    yield lazy
    lazy.stop()


def _session_records(request: pytest.FixtureRequest) -> bool | None:
    """Whether this test's runreplay session may record (and so needs a server); None: no session."""
    if not wants_session(request.node):
        return None
    session = request.getfixturevalue("runreplay_cassette")
    return None if session is None else bool(session.recording)


@pytest.fixture(autouse=True)
def runreplay_emulator(request: pytest.FixtureRequest) -> Iterator[Emulator | None]:
    """The emulator this test records from (its SDK environment variables point at it), or
    None: without ``--runreplay-emulator``, or when the test only replays."""
    records = _session_records(request) if enabled(request.config) else None
    if records is None:
        yield None
        return
    emulator = request.getfixturevalue("_runreplay_emulator_server").get() if records else None
    env = emulator.environment(KEY) if emulator is not None else sdk_environment(NOWHERE, KEY)
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        yield emulator
