"""runreplay next to pytest-recording in one pytest run: shared flags, each plugin's tests, both load orders.

pytest-recording is a dev dependency: this module fails (it does not skip) when it is missing.
Every run is a pytest subprocess, so both plugins load through their ``pytest11`` entry points.
"""

from __future__ import annotations

import json
import textwrap
import threading
from collections.abc import Iterator

import pytest
import pytest_recording  # noqa: F401  (a dev dependency: missing, this module must fail)
from _servers import Handler, serve

pytest_plugins = ["pytester"]

HITS: list[str] = []
_HITS_LOCK = threading.Lock()


class _Echo(Handler):
    """Answers every GET with its path, counting the requests that reached it."""

    def do_GET(self) -> None:
        with _HITS_LOCK:
            HITS.append(self.path)
        self.reply("application/json", json.dumps({"path": self.path}).encode())


TESTS = textwrap.dedent(
    """
    import os

    import httpx
    import pytest
    import requests

    URL = os.environ["RR_URL"]


    @pytest.mark.vcr
    def test_vcr():
        assert requests.get(URL + "/vcr", timeout=5).json() == {"path": "/vcr"}


    @pytest.mark.runreplay
    def test_runreplay():
        assert httpx.get(URL + "/rr").json() == {"path": "/rr"}


    def test_unmarked():
        assert httpx.get(URL + "/plain").json() == {"path": "/plain"}
    """
)

#: Loads pytest-recording after runreplay (the entry points load first, PYTEST_PLUGINS after them).
LATE = ("-p", "no:recording")


@pytest.fixture
def url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    HITS.clear()
    with serve(_Echo) as base:
        monkeypatch.setenv("RR_URL", base)
        yield base


@pytest.fixture
def project(pytester: pytest.Pytester, url: str) -> pytest.Pytester:
    pytester.makepyfile(test_both=TESTS)
    return pytester


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)
    assert "runreplay: record mode" in result.stdout.str()
    return result


def _hits() -> list[str]:
    with _HITS_LOCK:
        found = sorted(HITS)
        HITS.clear()
    return found


@pytest.mark.parametrize("late", [False, True], ids=["recording-first", "runreplay-first"])
def test_both_plugins_record_and_replay_in_one_run(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, late: bool
) -> None:
    order = LATE if late else ()
    if late:
        monkeypatch.setenv("PYTEST_PLUGINS", "pytest_recording.plugin")
    # One --record-mode, given once, records both plugins' cassettes.
    recorded = _run(project, *order, "--record-mode=once")
    recorded.assert_outcomes(passed=3)
    recorded.stdout.fnmatch_lines(["runreplay: record mode once, next to pytest-recording*"])
    assert _hits() == ["/plain", "/rr", "/vcr"]
    folder = project.path / "cassettes" / "test_both"
    assert sorted(p.name for p in folder.iterdir()) == ["test_runreplay.json", "test_vcr.yaml"]
    # Replayed: the marked tests reach nothing.
    _run(project, *order).assert_outcomes(passed=3)
    assert _hits() == ["/plain"]
    # --disable-recording: both plugins' markers do nothing, the cassettes stay as they are.
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    _run(project, *order, "--disable-recording").assert_outcomes(passed=3)
    assert _hits() == ["/plain", "/rr", "/vcr"]
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_block_network_spares_each_plugins_recordings(project: pytest.Pytester) -> None:
    # Recording, both plugins' tests reach the server through both guards; the unmarked one is stopped.
    blocked = _run(project, "--block-network", "--record-mode=all")
    blocked.assert_outcomes(passed=2, failed=1)
    blocked.stdout.fnmatch_lines(
        [
            "*test_unmarked*",
            "*NetworkBlockedError: runreplay: blocked a connection to 127.0.0.1:*--block-network*"
            "*--allowed-hosts=REGEX (pytest-recording's*",
        ]
    )
    assert _hits() == ["/rr", "/vcr"]
    # Replaying, both replay behind the guards and nothing reaches the server.
    _run(project, "--block-network").assert_outcomes(passed=2, failed=1)
    assert _hits() == []
    # pytest-recording's --allowed-hosts are regular expressions, for both guards.
    _run(project, "--block-network", r"--allowed-hosts=127\.0\.0\.\d+").assert_outcomes(passed=3)
    assert _hits() == ["/plain"]
    bad = project.runpytest_subprocess("-p", "no:cacheprovider", "--block-network", "--allowed-hosts=127.(")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    bad.stderr.fnmatch_lines(["*--allowed-hosts*'127.(' is not a regular expression*"])


def test_without_pytest_recording_runreplay_owns_the_flags(project: pytest.Pytester) -> None:
    _run(project, "-p", "no:recording", "--record-mode=once").assert_outcomes(passed=3)
    folder = project.path / "cassettes" / "test_both"
    assert sorted(p.name for p in folder.iterdir()) == ["test_runreplay.json"]  # no VCR without its plugin
    assert _hits() == ["/plain", "/rr", "/vcr"]
    replayed = _run(project, "-p", "no:recording", "--block-network", "--allowed-hosts=example.com")
    replayed.assert_outcomes(passed=1, failed=2)
    assert "next to pytest-recording" not in replayed.stdout.str()
    replayed.stdout.fnmatch_lines(["*test_unmarked*", "*test_vcr*"])
    # Its --allowed-hosts are host globs: 127.* lets the unmarked tests through.
    _run(project, "-p", "no:recording", "--block-network", "--allowed-hosts=127.*").assert_outcomes(passed=3)
    assert _hits() == ["/plain", "/vcr"]
