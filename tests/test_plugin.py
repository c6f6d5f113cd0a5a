"""The pytest plugin, driven the way users drive it: pytest runs on generated test files.

Each scenario runs pytest in a subprocess (so the plugin loads through its ``pytest11``
entry point, as in a downstream project) against the emulator on 127.0.0.1, then again
with the emulator stopped.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from runreplay.cassette import load
from runreplay.emulator import Emulator

pytest_plugins = ["pytester"]

TEST_FILE = textwrap.dedent(
    """
    import os

    import httpx
    import pytest

    URL = os.environ.get("RR_URL", "http://127.0.0.1:9") + "/v1"


    def make_assistant(name):
        response = httpx.post(URL + "/assistants", json={"model": "gpt-4o-mini", "name": name},
                              headers={"Authorization": "Bearer sk-secret-value-123"})
        response.raise_for_status()
        return response.json()


    @pytest.mark.runreplay
    def test_default_name():
        assert make_assistant("one")["name"] == "one"


    @pytest.mark.runreplay("named_cassette")
    def test_named():
        assert make_assistant("two")["name"] == "two"


    class TestGroup:
        @pytest.mark.runreplay
        def test_method(self, runreplay_cassette):
            assert make_assistant("three")["name"] == "three"
            assert runreplay_cassette.path.name == "TestGroup.test_method.json"


    @pytest.mark.runreplay
    async def test_async_client():
        async with httpx.AsyncClient() as client:
            response = await client.post(URL + "/threads", json={"metadata": {"k": "v"}})
        assert response.json()["metadata"] == {"k": "v"}
    """
)


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "asyncio", *args)


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini("[pytest]\nasyncio_mode = auto\n")
    pytester.makepyfile(test_flow=TEST_FILE)
    return pytester


def test_record_once_then_replay_offline(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    with Emulator(port=0) as emulator:
        monkeypatch.setenv("RR_URL", emulator.base_url)
        _run(project, "--record-mode=once").assert_outcomes(passed=4)
    folder = project.path / "cassettes" / "test_flow"
    names = sorted(p.name for p in folder.iterdir())
    assert names == [
        "TestGroup.test_method.json",
        "named_cassette.json",
        "test_async_client.json",
        "test_default_name.json",
    ]
    raw = (folder / "test_default_name.json").read_text()
    assert "sk-secret-value-123" not in raw
    assert load(folder / "test_default_name.json").meta["provider"] == "openai"

    monkeypatch.setenv("RR_URL", "http://127.0.0.1:9")  # nothing listens: replay only
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    _run(project).assert_outcomes(passed=4)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before, "replay must not rewrite cassettes"


def test_missing_cassette_in_mode_none_names_the_path(project: pytest.Pytester) -> None:
    result = _run(project, "-k", "test_default_name")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*test_default_name.json: cassette not found and record mode is 'none'*"])


def test_unmatched_request_fails_even_when_swallowed(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    with Emulator(port=0) as emulator:
        monkeypatch.setenv("RR_URL", emulator.base_url)
        _run(project, "--record-mode=once", "-k", "test_default_name").assert_outcomes(passed=1)
    project.makepyfile(
        test_flow=TEST_FILE
        + textwrap.dedent(
            """

            @pytest.mark.runreplay("test_default_name")
            def test_swallowing():
                try:
                    make_assistant("not recorded")
                except BaseException:
                    pass
            """
        )
    )
    result = _run(project, "-k", "test_swallowing")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*no recorded interaction*matches this request*", '*+  "name": "not recorded"*'])


def test_cassette_dir_option_ini_and_marker_options(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    project.makeini("[pytest]\nasyncio_mode = auto\nrunreplay_cassette_dir = recorded\nrunreplay_record_mode = once\n")
    with Emulator(port=0) as emulator:
        monkeypatch.setenv("RR_URL", emulator.base_url)
        _run(project, "-k", "test_named").assert_outcomes(passed=1)
        assert (project.path / "recorded" / "test_flow" / "named_cassette.json").is_file()
        _run(project, "-k", "test_named", "--runreplay-cassette-dir", "elsewhere").assert_outcomes(passed=1)
        assert (project.path / "elsewhere" / "test_flow" / "named_cassette.json").is_file()


def test_marker_typo_is_a_clear_error(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_typo="""
        import pytest

        @pytest.mark.runreplay(recod_mode="once")
        def test_x():
            pass
        """
    )
    result = _run(project, "test_typo.py")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*unknown option(s)*recod_mode*known: cassette, record_mode*"])


def test_rewrite_replaces_and_new_episodes_appends(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    cassette = project.path / "cassettes" / "test_flow" / "test_default_name.json"
    with Emulator(port=0) as emulator:
        monkeypatch.setenv("RR_URL", emulator.base_url)
        _run(project, "--record-mode=once", "-k", "test_default_name").assert_outcomes(passed=1)
        _run(project, "--record-mode=all", "-k", "test_default_name").assert_outcomes(passed=1)
        assert len(load(cassette)) == 2
        _run(project, "--record-mode=rewrite", "-k", "test_default_name").assert_outcomes(passed=1)
        assert len(load(cassette)) == 1
        _run(project, "--record-mode=new_episodes", "-k", "test_default_name").assert_outcomes(passed=1)
        assert len(load(cassette)) == 1, "a matched request is replayed, not recorded again"


def test_xdist_workers_record_their_own_files(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    project.makepyfile(
        test_many="""
        import pytest
        from test_flow import make_assistant

        @pytest.mark.parametrize("n", range(8))
        @pytest.mark.runreplay
        def test_n(n):
            assert make_assistant(f"a{n}")["name"] == f"a{n}"
        """
    )
    with Emulator(port=0) as emulator:
        monkeypatch.setenv("RR_URL", emulator.base_url)
        _run(project, "-n", "2", "--record-mode=once", "test_many.py").assert_outcomes(passed=8)
    folder = project.path / "cassettes" / "test_many"
    files = sorted(folder.glob("*.json"))
    assert len(files) == 8
    for path in files:
        doc = json.loads(path.read_text())
        assert len(doc["interactions"]) == 1
    assert not list(folder.glob("*.runreplay-tmp"))
    monkeypatch.setenv("RR_URL", "http://127.0.0.1:9")
    _run(project, "-n", "2", "test_many.py").assert_outcomes(passed=8)


def test_cassette_path_from_the_test_file_location(project: pytest.Pytester) -> None:
    sub = project.mkpydir("pkg")
    (Path(sub) / "test_inner.py").write_text(
        "import pytest\n\n@pytest.mark.runreplay(record_mode='once')\n"
        "def test_p(runreplay_cassette):\n    assert runreplay_cassette.recording\n"
        "    assert runreplay_cassette.path.parts[-3:] == ('cassettes', 'test_inner', 'test_p.json')\n"
    )
    _run(project, "pkg").assert_outcomes(passed=1)


POLLING_TESTS = textwrap.dedent(
    """
    import os
    import time

    import openai
    import pytest

    URL = os.environ.get("RR_URL", "http://127.0.0.1:9") + "/v1"


    def start_run():
        client = openai.OpenAI(api_key="sk-test", base_url=URL)
        assistant = client.beta.assistants.create(model="gpt-4o-mini")
        thread = client.beta.threads.create(messages=[{"role": "user", "content": "Hi"}])
        return client, client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)


    @pytest.mark.runreplay("run")
    def test_poll_slowly(runreplay_cassette):
        client, run = start_run()
        started = time.perf_counter()
        run = client.beta.threads.runs.poll(run.id, thread_id=run.thread_id, poll_interval_ms=2000)
        assert run.status == "completed"
        if runreplay_cassette.replaying:
            assert time.perf_counter() - started < 1.0
            (resource,) = runreplay_cassette.report()["resources"]
            assert resource["states"][-1] == "completed"
            assert runreplay_cassette.virtual_seconds >= 2


    @pytest.mark.runreplay("run", replay_mode="fast")
    def test_fast_mode_from_the_marker(runreplay_cassette):
        client, run = start_run()
        client.beta.threads.runs.poll(run.id, thread_id=run.thread_id, poll_interval_ms=10)
        (resource,) = runreplay_cassette.resources
        assert resource.polls == len(resource.states) - 1


    @pytest.mark.runreplay("run")
    def test_stops_early():
        start_run()
    """
)


def test_replay_options_unused_policy_and_inspection(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeini("[pytest]\nasyncio_mode = auto\n")
    pytester.makepyfile(test_polling_flow=POLLING_TESTS)
    with Emulator(port=0, phase_seconds=1.0) as emulator:
        monkeypatch.setenv("RR_URL", emulator.base_url)
        _run(pytester, "--record-mode=once", "-k", "test_poll_slowly").assert_outcomes(passed=1)
    monkeypatch.setenv("RR_URL", "http://127.0.0.1:9")
    result = _run(pytester, "-W", "always")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*UnusedInteractionsWarning*never replayed*"])
    strict = _run(pytester, "--runreplay-unused=error", "-k", "test_stops_early")
    strict.assert_outcomes(passed=1, errors=1)
    strict.stdout.fnmatch_lines(["*recorded interaction(s)*were never replayed*"])
    typo = _run(pytester, "--runreplay-replay-mode=timelime")
    assert typo.ret == 4  # pytest's usage error
    typo.stderr.fnmatch_lines(["*invalid choice: 'timelime'*"])


def test_pytest_markers_lists_every_keyword(pytester: pytest.Pytester) -> None:
    from runreplay.options import option_names

    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--markers")
    line = next(line for line in result.outlines if line.startswith("@pytest.mark.runreplay("))
    for name in ["cassette", *option_names()]:
        assert f"{name}=" in line, name


def test_one_precedence_for_every_keyword(pytester: pytest.Pytester) -> None:
    """Command line, then marker, then ini file, then the default: the same for every keyword."""
    pytester.makeini(
        "[pytest]\n"
        "runreplay_record_mode = once\n"
        "runreplay_replay_mode = sequence\n"
        "runreplay_unused = error\n"
        "runreplay_tool_outputs = ids\n"
        "runreplay_virtual_clock = false\n"
        "runreplay_match_headers =\n    openai-beta\n"
    )
    pytester.makepyfile(
        test_precedence="""
        import pytest
        from runreplay import Options, RecordMode, ReplayMode, ToolOutputs, UnusedPolicy, ValidatePolicy

        @pytest.mark.runreplay(replay_mode="fast", unused="warn", validate="warn", match_host=True)
        def test_options(runreplay_cassette):
            assert runreplay_cassette.options == Options(
                record_mode=RecordMode.ONCE,          # ini
                replay_mode=ReplayMode.FAST,          # marker over ini
                unused=UnusedPolicy.IGNORE,           # command line over marker and ini
                tool_outputs=ToolOutputs.IDS,         # ini
                validate=ValidatePolicy.WARN,         # marker
                virtual_clock=False,                  # ini, a boolean
                match_headers=("openai-beta",),       # ini, a list
                match_host=True,                      # marker
                scrub=runreplay_cassette.options.scrub,  # the project's [tool.runreplay.scrub]
            )
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--runreplay-unused", "ignore")
    result.assert_outcomes(passed=1)


SHARED_TESTS = """
import pytest
from test_flow import make_assistant

@pytest.mark.parametrize("n", range(6))
@pytest.mark.runreplay("one_for_all")
def test_one_cassette(n):
    assert make_assistant(f"s{n}")["name"] == f"s{n}"
"""


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["sequential", "xdist"])
def test_tests_sharing_a_cassette_keep_each_others_recordings(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, workers: list[str]
) -> None:
    """Every record mode merges into a cassette several tests use; rewrite replaces it once per pytest session."""
    project.makepyfile(test_one_cassette=SHARED_TESTS)
    cassette = project.path / "cassettes" / "test_one_cassette" / "one_for_all.json"
    with Emulator(port=0) as emulator:
        monkeypatch.setenv("RR_URL", emulator.base_url)
        for mode in ("new_episodes", "rewrite", "rewrite", "all"):
            _run(project, *workers, f"--record-mode={mode}", "test_one_cassette.py").assert_outcomes(passed=6)
            names = sorted(i.request.body.json_value["name"] for i in load(cassette))
            expected = [f"s{n}" for n in range(6)] * (2 if mode == "all" else 1)
            assert names == sorted(expected), (mode, names)
    monkeypatch.setenv("RR_URL", "http://127.0.0.1:9")
    _run(project, *workers, "test_one_cassette.py").assert_outcomes(passed=6)
