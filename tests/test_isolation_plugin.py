"""The plugin's isolation flags, run through pytester: --block-network, --allowed-hosts, --disable-recording.

Each runs twice: with runreplay owning the flags (``-p no:recording``), and with pytest-recording
loaded, owning them (its ``--allowed-hosts`` are regular expressions; its guard is active too).
"""

from __future__ import annotations

import textwrap

import pytest

from runreplay.emulator import Emulator

pytest_plugins = ["pytester"]

TESTS = textwrap.dedent(
    """
    import http.server
    import os
    import socket
    import threading

    import httpx
    import httpx2
    import pytest
    import requests


    class Hello(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = b'{"hello": "world"}'
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass


    @pytest.fixture(scope="module")
    def url():
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hello)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        yield f"http://127.0.0.1:{server.server_port}"
        server.shutdown()
        server.server_close()


    def test_httpx(url):
        assert httpx.get(url + "/x").json() == {"hello": "world"}


    def test_httpx2(url):
        assert httpx2.get(url + "/x").json() == {"hello": "world"}


    def test_requests(url):
        assert requests.get(url + "/x", timeout=5).json() == {"hello": "world"}


    def test_raw_socket(url):
        port = int(url.rsplit(":", 1)[1])
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    """
)


OWNERS = ["runreplay", "pytest-recording"]


@pytest.fixture(params=OWNERS)
def owner(request: pytest.FixtureRequest) -> str:
    if request.param == "pytest-recording":
        import pytest_recording  # noqa: F401  (a dev dependency: missing, these runs must fail)
    return str(request.param)


def _run(pytester: pytest.Pytester, owner: str, *args: str) -> pytest.RunResult:
    plugins = ("-p", "no:recording") if owner == "runreplay" else ()
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *plugins, *args)
    assert ("next to pytest-recording" in result.stdout.str()) == (owner == "pytest-recording")
    return result


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(test_clients=TESTS)
    return pytester


#: How each owner's --block-network error says to let loopback through.
LOOPBACK_HINT = {
    "runreplay": "--runreplay-allow-loopback (or runreplay_allow_loopback = true",
    "pytest-recording": "--allowed-hosts=REGEX (pytest-recording's",
}


def test_block_network_stops_unmarked_clients_and_sockets(project: pytest.Pytester, owner: str) -> None:
    _run(project, owner).assert_outcomes(passed=4)
    blocked = _run(project, owner, "--block-network")
    blocked.assert_outcomes(failed=4)
    for test in ("test_httpx", "test_httpx2", "test_requests", "test_raw_socket"):
        blocked.stdout.fnmatch_lines(
            [f"*_ {test} _*", "*NetworkBlockedError: runreplay: blocked a connection to 127.0.0.1:*--block-network*"]
        )
    assert blocked.stdout.str().count(LOOPBACK_HINT[owner]) >= 4
    assert "network blocked" in blocked.stdout.str()  # the report header says so


@pytest.mark.parametrize(
    ("owner", "allow"),
    [
        ("runreplay", ["--runreplay-allow-loopback"]),
        ("runreplay", ["--allowed-hosts=127.0.0.1"]),
        ("runreplay", ["--allowed-hosts=example.com,localhost"]),
        ("runreplay", ["--runreplay-allow-hosts=127.*"]),
        ("pytest-recording", [r"--allowed-hosts=127\.0\.0\.1"]),
        ("pytest-recording", [r"--allowed-hosts=example\.com,127\."]),
    ],
    indirect=["owner"],
)
def test_allowed_hosts_pass(project: pytest.Pytester, owner: str, allow: list[str]) -> None:
    _run(project, owner, "--block-network", *allow).assert_outcomes(passed=4)


def test_another_allowed_host_does_not_open_loopback(project: pytest.Pytester, owner: str) -> None:
    _run(project, owner, "--block-network", "--allowed-hosts=example.com").assert_outcomes(failed=4)


def test_the_ini_file_can_block_and_allow(project: pytest.Pytester, owner: str) -> None:
    project.makeini("[pytest]\nrunreplay_block_network = true\n")
    _run(project, owner).assert_outcomes(failed=4)
    project.makeini("[pytest]\nrunreplay_block_network = true\nrunreplay_allow_hosts =\n    127.0.0.1\n")
    _run(project, owner).assert_outcomes(passed=4)


def test_a_malformed_allowed_host_is_a_usage_error(project: pytest.Pytester) -> None:
    result = project.runpytest_subprocess(
        "-p", "no:cacheprovider", "-p", "no:recording", "--block-network", "--allowed-hosts=a b"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--allowed-hosts*'a b' is not a host*"])


def test_a_swallowed_blocked_connection_still_fails(pytester: pytest.Pytester, owner: str) -> None:
    pytester.makepyfile(
        test_swallow="""
        import socket

        def test_swallows():
            try:
                socket.create_connection(("127.0.0.1", 9), timeout=1)
            except BaseException:
                pass
        """
    )
    result = _run(pytester, owner, "--block-network")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*blocked a connection to 127.0.0.1:9*"])


MARKED = textwrap.dedent(
    """
    import os
    import socket

    import httpx
    import pytest

    URL = os.environ.get("RR_URL", "http://127.0.0.1:9")
    PORT = int(os.environ.get("RR_RAW_PORT", "9"))


    def raw():
        socket.create_connection(("127.0.0.1", PORT), timeout=5).close()


    @pytest.mark.runreplay
    def test_recorded():
        response = httpx.post(URL + "/v1/assistants", json={"model": "gpt-4o-mini"})
        assert response.json()["model"] == "gpt-4o-mini"
        raw()


    @pytest.mark.runreplay(allow_loopback=True)
    def test_recorded_with_its_own_server():
        response = httpx.post(URL + "/v1/assistants", json={"model": "gpt-4o-mini"})
        assert response.json()["model"] == "gpt-4o-mini"
        raw()


    @pytest.mark.runreplay
    def test_fixture(runreplay_cassette):
        if os.environ.get("RR_DISABLED"):
            assert runreplay_cassette is None
        httpx.post(URL + "/v1/assistants", json={"model": "gpt-4o-mini"})
    """
)


def test_marked_tests_record_through_block_network_and_replay_blocked(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, owner: str
) -> None:
    pytester.makepyfile(test_marked=MARKED)
    with Emulator(port=0) as emulator:
        monkeypatch.setenv("RR_URL", emulator.base_url)
        monkeypatch.setenv("RR_RAW_PORT", emulator.base_url.rsplit(":", 1)[1])
        # Recording needs the network: --block-network leaves recording sessions alone.
        _run(pytester, owner, "--block-network", "--record-mode=once").assert_outcomes(passed=3)
        # Replaying only, a session blocks by itself: the raw connection to the live emulator fails,
        # unless the marker (or the command line, which beats it) allows loopback.
        replayed = _run(pytester, owner)
        replayed.assert_outcomes(passed=2, failed=1)
        replayed.stdout.fnmatch_lines(
            ["E   *NetworkBlockedError: runreplay: blocked a connection to 127.0.0.1:*record mode 'none'*"]
        )
        _run(pytester, owner, "--runreplay-allow-loopback").assert_outcomes(passed=3)
        # --disable-recording: markers do nothing, requests reach the live server, no session blocks.
        monkeypatch.setenv("RR_DISABLED", "1")
        before = sorted(p.name for p in (pytester.path / "cassettes" / "test_marked").iterdir())
        _run(pytester, owner, "--disable-recording").assert_outcomes(passed=3)
        assert sorted(p.name for p in (pytester.path / "cassettes" / "test_marked").iterdir()) == before
        # ... and with --block-network as well, every test is blocked.
        _run(pytester, owner, "--disable-recording", "--block-network").assert_outcomes(failed=3)
