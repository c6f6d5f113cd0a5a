"""What the plugin tells a user after a replay, run the way users run it (pytest in a subprocess).

The unused report names its cause (the test failed first, the cassette holds an episode
twice, the code stopped early), a test that made no request gets an empty cassette that
replays, and a miss's traceback shows the test's frames, not runreplay's.
"""

from __future__ import annotations

import textwrap

import pytest

from runreplay.cassette import load
from runreplay.emulator import Emulator

pytest_plugins = ["pytester"]

FLOWS = textwrap.dedent(
    """
    import os

    import httpx
    import pytest

    URL = os.environ.get("RR_URL", "http://127.0.0.1:9") + "/v1"


    def create(name):
        response = httpx.post(URL + "/assistants", json={"model": "gpt-4o-mini", "name": name})
        response.raise_for_status()
        return response.json()


    @pytest.mark.runreplay
    def test_fails_first():
        if os.environ.get("RR_FAIL"):
            raise KeyError("broken before any request")
        create("a")


    @pytest.mark.runreplay
    def test_stops_early():
        create("a")
        if not os.environ.get("RR_EARLY"):
            create("b")


    @pytest.mark.runreplay
    def test_twice_recorded():
        create("a")
    """
)

FAILED = "were not replayed because the test failed first"
DUPLICATES = "as --record-mode=all leaves it"
EARLY = "The code under test stopped earlier than the recording did"


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)


def _record(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, *args: str, passed: int = 1) -> None:
    with Emulator(port=0) as emulator:
        monkeypatch.setenv("RR_URL", emulator.base_url)
        _run(pytester, *args).assert_outcomes(passed=passed)
    monkeypatch.setenv("RR_URL", "http://127.0.0.1:9")  # nothing listens: replay only


@pytest.fixture
def flows(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    pytester.makepyfile(test_flows=FLOWS)
    _record(pytester, monkeypatch, "--record-mode=once", passed=3)
    return pytester


def _unused_report(result: pytest.RunResult) -> str:
    return "\n".join(result.outlines)


def test_a_test_that_failed_first_is_blamed_not_the_code(
    flows: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RR_FAIL", "1")
    result = _run(flows, "--runreplay-unused=error", "-k", "test_fails_first")
    result.assert_outcomes(failed=1)  # the unused report does not add an error of its own
    out = _unused_report(result)
    assert FAILED in out
    assert "The test raised KeyError after 0 replayed interaction(s)" in out
    assert EARLY not in out and DUPLICATES not in out


def test_a_real_early_stop_is_reported_as_one(flows: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RR_EARLY", "1")
    result = _run(flows, "-k", "test_stops_early")
    result.assert_outcomes(passed=1)
    out = _unused_report(result)
    assert EARLY in out
    assert FAILED not in out and DUPLICATES not in out


def test_episodes_doubled_by_record_mode_all_are_named(flows: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    _record(flows, monkeypatch, "--record-mode=all", "-k", "test_twice_recorded")
    cassette = flows.path / "cassettes" / "test_flows" / "test_twice_recorded.json"
    assert len(load(cassette)) == 2
    result = _run(flows, "-k", "test_twice_recorded")
    result.assert_outcomes(passed=1)
    out = _unused_report(result)
    assert DUPLICATES in out
    assert "Re-record with --record-mode=rewrite to keep one" in out
    assert FAILED not in out and EARLY not in out


def test_a_test_without_requests_gets_an_empty_cassette_that_replays(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_quiet="""
        import pytest

        pytestmark = pytest.mark.runreplay

        def test_no_request():
            assert 1 + 1 == 2
        """
    )
    _run(pytester, "--record-mode=once").assert_outcomes(passed=1)
    cassette = pytester.path / "cassettes" / "test_quiet" / "test_no_request.json"
    assert len(load(cassette)) == 0
    result = _run(pytester, "-W", "error::runreplay.UnusedInteractionsWarning")  # replay, no unused report
    result.assert_outcomes(passed=1)
    _run(pytester, "--record-mode=rewrite").assert_outcomes(passed=1)
    assert len(load(cassette)) == 0


def test_a_miss_traceback_shows_the_test_not_runreplay(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_flows=FLOWS)
    _record(pytester, monkeypatch, "--record-mode=once", "-k", "test_twice_recorded")
    pytester.makepyfile(
        test_flows=FLOWS.replace(
            'def test_twice_recorded():\n    create("a")', 'def test_twice_recorded():\n    create("z")'
        )
    )
    result = _run(pytester, "-k", "test_twice_recorded", "--tb=long")
    result.assert_outcomes(failed=1)
    out = "\n".join(result.outlines)
    assert "UnmatchedRequestError: runreplay: no recorded interaction" in out
    assert 'create("z")' in out  # the test's own frame is shown
    assert "runreplay/engine" not in out and "runreplay_pytest" not in out, out
