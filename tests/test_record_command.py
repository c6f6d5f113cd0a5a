"""`runreplay record`: signals stop the command's process group, no Python is an error, replay says so."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from _servers import Handler, serve
from click.testing import CliRunner

from runreplay import use_cassette
from runreplay.cli import main
from runreplay.cli import record as record_module

pytestmark = pytest.mark.skipif(os.name != "posix", reason="process groups and signals are POSIX")


class Hello(Handler):
    def do_GET(self) -> None:
        self.reply("application/json", b'{"hello": "world"}')


@pytest.fixture
def cassette(tmp_path: Path) -> Path:
    """A cassette with one recorded GET /hello (host and port are not matched)."""
    path = tmp_path / "hello.json"
    with serve(Hello) as url, use_cassette(path, record_mode="once"):
        assert httpx.get(url + "/hello").json() == {"hello": "world"}
    return path


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runreplay.cli", "record", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


# ---------------------------------------------------------------------------- no Python process


@pytest.mark.parametrize(
    "command", [["sh", "-c", "echo not python"], ["true"], [sys.executable, "-I", "-c", "print('isolated')"]]
)
def test_a_command_that_starts_no_python_process_fails_and_says_why(tmp_path: Path, command: list[str]) -> None:
    result = CliRunner().invoke(main, ["record", "--cassette", str(tmp_path / "c.json"), "--", *command])
    assert result.exit_code == 2, result.output
    message = " ".join(result.output.split())
    assert "no Python process was seen" in message
    assert "works for Python processes only" in message
    assert "runreplay serve DIR" in message and "docs/serve.md" in message
    assert "Traceback" not in result.output
    assert not (tmp_path / "c.json").exists()


def test_no_python_in_mode_none_says_nothing_was_replayed(cassette: Path) -> None:
    result = CliRunner().invoke(main, ["record", "--cassette", str(cassette), "--mode", "none", "--", "true"])
    assert result.exit_code == 2
    message = " ".join(result.output.split())
    assert "no Python process was seen" in message and "nothing replayed" in message
    assert "recorded 0" not in message


def test_a_python_process_that_records_nothing_is_fine(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["record", "--cassette", str(tmp_path / "c.json"), "--", "python", "-c", "pass"])
    assert result.exit_code == 0, result.output
    assert "recorded 0 interaction(s) from 0 process(es)" in result.output


def test_a_missing_command_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["record", "--cassette", str(tmp_path / "c.json"), "--", "no-such-command-xyz"])
    assert result.exit_code == 2
    assert "command not found: no-such-command-xyz" in result.output


# ---------------------------------------------------------------------------- replay


GET_HELLO = "import httpx; print(httpx.get('http://127.0.0.1:9/hello').json())"


def test_mode_none_reports_what_it_replayed(cassette: Path) -> None:
    before = cassette.read_bytes()
    result = _cli("--cassette", str(cassette), "--mode", "none", "--", "python", "-c", GET_HELLO)
    assert result.returncode == 0, result.stderr
    assert "{'hello': 'world'}" in result.stdout
    assert f"runreplay: replayed 1 interaction(s) from {cassette} in 1 Python process(es)" in result.stderr
    assert "recorded" not in result.stderr
    assert cassette.read_bytes() == before


def test_mode_none_blocks_a_raw_socket_in_the_command_unless_loopback_is_allowed(cassette: Path) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    raw = f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=5).close(); print('connected')"
    try:
        blocked = _cli("--cassette", str(cassette), "--mode", "none", "--", "python", "-c", raw)
        assert blocked.returncode == 1
        assert "NetworkBlockedError" in blocked.stderr and f"blocked a connection to 127.0.0.1:{port}" in blocked.stderr
        assert "--allow-loopback" in blocked.stderr and "connected" not in blocked.stdout
        for allow in (["--allow-loopback"], ["--allowed-hosts", f"example.com,127.0.0.1:{port}"]):
            allowed = _cli("--cassette", str(cassette), "--mode", "none", *allow, "--", "python", "-c", raw)
            assert allowed.returncode == 0, allowed.stderr
            assert "connected" in allowed.stdout
    finally:
        server.close()


def test_a_malformed_allowed_host_is_a_usage_error(cassette: Path) -> None:
    result = CliRunner().invoke(
        main, ["record", "--cassette", str(cassette), "--allowed-hosts", "a b", "--", "python", "-c", "pass"]
    )
    assert result.exit_code == 2
    assert "--allowed-hosts: 'a b' is not a host" in " ".join(result.output.split())


# ---------------------------------------------------------------------------- signals

# A Python command with a grandchild in its process group; it notes both pids, then waits.
FAMILY = textwrap.dedent(
    """
    import os, subprocess, sys, time
    child = subprocess.Popen(["sleep", "300"])
    with open(sys.argv[1] + ".tmp", "w") as note:
        note.write(f"{os.getpid()} {child.pid}")
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    time.sleep(300)
    """
)


def _alive(pid: int) -> bool:
    """Running (a zombie nobody reaped has ended)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:  # pragma: no cover - no /proc: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _until(condition: object, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return True
        time.sleep(0.05)
    return bool(callable(condition) and condition())


class Recording:
    """`runreplay record` running FAMILY, with its own temporary folder to find the parts folder in."""

    def __init__(self, tmp_path: Path) -> None:
        self.temp = tmp_path / "tmp"
        self.temp.mkdir()
        self.cassette = tmp_path / "c.json"
        script = tmp_path / "family.py"
        script.write_text(FAMILY)
        notes = tmp_path / "pids"
        command = ["python", str(script), str(notes)]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "runreplay.cli", "record", "--cassette", str(self.cassette), "--", *command],
            env={**os.environ, "TMPDIR": str(self.temp)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert _until(notes.exists, 60), "the command did not start"
        self.command, self.grandchild = (int(pid) for pid in notes.read_text().split())

    def parts(self) -> list[Path]:
        return list(self.temp.glob("runreplay-parts-*"))

    def all_gone(self) -> bool:
        return not _alive(self.command) and not _alive(self.grandchild) and not self.parts()

    def kill_everything(self) -> None:
        for pid in (self.process.pid, self.command, self.grandchild):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.communicate(timeout=30)


@pytest.fixture
def recording(tmp_path: Path) -> Iterator[Recording]:
    running = Recording(tmp_path)
    try:
        yield running
    finally:
        running.kill_everything()


def test_the_command_runs_in_its_own_process_group(recording: Recording) -> None:
    assert os.getpgid(recording.command) == recording.command
    assert os.getpgid(recording.grandchild) == recording.command
    assert os.getpgid(recording.process.pid) != recording.command
    assert len(recording.parts()) == 1


@pytest.mark.parametrize(("signum", "name"), [(signal.SIGTERM, "SIGTERM"), (signal.SIGINT, "SIGINT")])
def test_a_signal_stops_the_whole_group_and_removes_the_parts(
    recording: Recording, signum: signal.Signals, name: str
) -> None:
    os.kill(recording.process.pid, signum)
    _, stderr = recording.process.communicate(timeout=30)
    assert recording.process.returncode == 128 + signum
    assert f"runreplay: {name}: stopped the command and its process group" in stderr
    assert _until(recording.all_gone, 10), (recording.parts(), _alive(recording.command), _alive(recording.grandchild))
    assert not recording.cassette.exists()


def test_kill_9_leaves_a_watchdog_that_stops_the_group_and_removes_the_parts(recording: Recording) -> None:
    os.kill(recording.process.pid, signal.SIGKILL)
    recording.process.communicate(timeout=30)
    assert recording.process.returncode == -signal.SIGKILL
    assert _until(recording.all_gone, 30), (recording.parts(), _alive(recording.command), _alive(recording.grandchild))


def test_a_group_that_ignores_the_signal_is_killed_after_the_grace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(record_module, "STOP_GRACE_S", 0.3)
    stubborn = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); "
    stubborn += "time.sleep(60)"
    process = subprocess.Popen([sys.executable, "-c", stubborn], stdout=subprocess.PIPE, start_new_session=True)
    assert process.stdout is not None and process.stdout.readline() == b"ready\n"
    started = time.monotonic()
    record_module._stop(process, signal.SIGTERM, True)
    assert process.returncode == -signal.SIGKILL
    assert time.monotonic() - started < 5
    process.stdout.close()
