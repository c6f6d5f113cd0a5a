"""Markers on the module, class and function merge with the ``runreplay_config`` fixture, the ini file
and the command line: the closest wins per key. The cassette folder and name fixtures place the file."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

CONFTEST = """
import pytest

@pytest.fixture
def runreplay_config():
    return {"record_mode": "once", "virtual_clock": True, "validate": "off", "tool_outputs": "ids",
            "match_headers": ["x-api-version"]}

@pytest.fixture
def runreplay_cassette_dir(tmp_path_factory):
    return tmp_path_factory.getbasetemp().parent / "from-fixture"
"""

TESTS = """
import pytest
from runreplay import Options

pytestmark = pytest.mark.runreplay("module_name", validate="warn", sse_exact=True, match_host=True, unused="error")


def test_module_only(runreplay_cassette):
    expected = dict(
        record_mode="once",            # runreplay_config over the default
        replay_mode="sequence",        # ini
        virtual_clock=True,            # runreplay_config over the ini
        validate="warn",               # module marker over runreplay_config
        tool_outputs="ids",            # runreplay_config
        match_headers=("x-api-version",),  # runreplay_config over the ini (a list)
        sse_exact=True,                # module marker
        match_host=True,               # module marker
        unused="ignore",               # command line over the module marker
    )
    assert runreplay_cassette.options == Options.parse({**expected, "scrub": runreplay_cassette.options.scrub})
    assert runreplay_cassette.path.name == "module_name.json"  # the closest marker naming one


@pytest.mark.runreplay(tool_outputs="match", validate="off")
class TestGroup:
    @pytest.mark.runreplay("own_name", match_host=False, validate="error")
    def test_all_levels(self, runreplay_cassette):
        options = runreplay_cassette.options
        assert options.validate.value == "error"          # function over class over module
        assert options.tool_outputs.value == "match"      # class over runreplay_config
        assert options.match_host is False                # function over module
        assert options.sse_exact is True                  # module
        assert options.unused.value == "ignore"           # command line over everything
        assert options.record_mode.value == "once"        # runreplay_config
        assert runreplay_cassette.path.name == "own_name.json"

    def test_class_marker(self, runreplay_cassette):
        assert runreplay_cassette.options.validate.value == "off"  # class over module
        assert runreplay_cassette.path.name == "module_name.json"
"""

UNNAMED = """
import pytest

@pytest.fixture
def runreplay_cassette_name(request):
    return "renamed/" + request.node.name

@pytest.mark.runreplay(record_mode="once")
def test_fixture_name(runreplay_cassette):
    assert runreplay_cassette.path.parts[-3:] == ("from-fixture", "renamed", "test_fixture_name.json")

@pytest.mark.runreplay("given", record_mode="once")
def test_where(runreplay_cassette):
    print("CASSETTE", runreplay_cassette.path.as_posix())
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini(
        "[pytest]\n"
        "runreplay_replay_mode = sequence\n"
        "runreplay_virtual_clock = false\n"
        "runreplay_validate = error\n"
        "runreplay_match_headers =\n    openai-beta\n"
    )
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_merge=TESTS)
    return pytester


def test_markers_config_fixture_ini_and_command_line_merge_per_key(project: pytest.Pytester) -> None:
    result = project.runpytest_subprocess("-p", "no:cacheprovider", "--runreplay-unused=ignore", "test_merge.py")
    result.assert_outcomes(passed=3)


def test_cassette_name_and_dir_fixtures(project: pytest.Pytester) -> None:
    project.makepyfile(test_unnamed=UNNAMED)
    result = project.runpytest_subprocess("-p", "no:cacheprovider", "-s", "test_unnamed.py")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*CASSETTE */from-fixture/given.json"])  # a marker name beats the fixture
    # The command line beats an overridden cassette folder fixture.
    flagged = project.runpytest_subprocess(
        "-p", "no:cacheprovider", "-s", "--runreplay-cassette-dir=cli", "test_unnamed.py"
    )
    flagged.assert_outcomes(passed=1, failed=1)
    flagged.stdout.fnmatch_lines(["*CASSETTE */cli/test_unnamed/given.json"])


def test_every_list_keyword_takes_one_item_per_ini_line(pytester: pytest.Pytester) -> None:
    pytester.makeini(
        "[pytest]\n"
        "runreplay_record_mode = once\n"
        "runreplay_allow_versions =\n    2024-05-01-preview\n    v1\n"
        "runreplay_match_headers =\n    openai-beta\n    x-api-version\n"
    )
    pytester.makepyfile(
        test_lists="""
        import pytest

        @pytest.mark.runreplay
        def test_lists(runreplay_cassette):
            options = runreplay_cassette.options
            assert options.allow_versions == ("2024-05-01-preview", "v1")
            assert options.match_headers == ("openai-beta", "x-api-version")
        """
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_a_bad_config_fixture_names_the_test(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import pytest

        @pytest.fixture
        def runreplay_config():
            return {"record_mod": "once"}
        """
    )
    pytester.makepyfile(
        test_bad="""
        import pytest

        @pytest.mark.runreplay
        def test_x():
            pass
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*the runreplay_config fixture for test_bad.py::test_x: unknown option(s)*record_mod*"]
    )
