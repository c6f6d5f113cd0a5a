"""``runreplay record -- COMMAND``: record any Python program, and its Python children.

The command runs with a ``sitecustomize`` module first on ``PYTHONPATH``, so every Python
interpreter it starts (the program itself, ``subprocess`` children, a pytest run) opens a
runreplay session before user code runs and saves it at exit. Each process writes its own
part file; once the command has finished, the parts are merged into one cassette in the
order the requests were sent, scrubbed and validated like any other recording (through
:func:`runreplay.engine.saving.save_recording`, as the pytest plugin saves).

The command runs in its own process group (a new session, on POSIX). SIGINT, SIGTERM or
SIGHUP sent to ``runreplay record`` is passed on to that group; whatever has not ended
after :data:`STOP_GRACE_S` is killed, the parts folder is removed, nothing is written and
``runreplay record`` exits 128 + the signal number. A ``kill -9`` cannot be caught: a small
watchdog process, holding the reading end of a pipe only ``runreplay record`` writes to,
sees the pipe close and does the same (stop the group, remove the folder).

Each Python process also leaves a note in the parts folder when it starts and when it
ends (what it replayed): a command that started no Python process at all is an error,
since nothing could have been recorded or replayed.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import click

from runreplay.cassette import Interaction, load
from runreplay.checks.validation import format_violations, validate_interaction
from runreplay.cli.common import EXIT_FINDINGS, exit_2_on_errors, rules_option
from runreplay.engine.saving import recorded_epoch, save_recording
from runreplay.engine.scrub import Scrubber
from runreplay.errors import CassetteError, ConfigError
from runreplay.options import RecordMode, split_host
from runreplay.scrub_rules import ScrubRules, load_rules


@dataclass
class Merged:
    """What a recorded command added to its cassette."""

    cassette: Path
    added: list[Interaction]
    first_index: int
    processes: int
    exit_code: int = 0
    #: Python processes of the command that started runreplay's hook (recording or not).
    python_processes: int = 0
    #: Interactions the command's processes replayed from the cassette.
    replayed: int = 0


ENV_CASSETTE = "RUNREPLAY_RECORD_CASSETTE"
ENV_MODE = "RUNREPLAY_RECORD_MODE"
ENV_PARTS = "RUNREPLAY_RECORD_PARTS"
ENV_RULES = "RUNREPLAY_RECORD_RULES"
ENV_ALLOW_HOSTS = "RUNREPLAY_RECORD_ALLOW_HOSTS"
ENV_ALLOW_LOOPBACK = "RUNREPLAY_RECORD_ALLOW_LOOPBACK"

#: Seconds the command's process group gets to end after a signal before it is killed.
STOP_GRACE_S = 5.0
#: The folder of the parts folder where each Python process notes that it ran, and what it replayed.
SEEN = "_seen"
_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")

# Runs in every Python process of the command. It must never break the program: any
# failure to start recording is reported on stderr and the program runs on.
_SITECUSTOMIZE = """\
import atexit, importlib.machinery, importlib.util, os, sys

def _runreplay_start():
    seen = os.path.join(os.environ["RUNREPLAY_RECORD_PARTS"], "_seen", f"{os.getpid()}.json")
    with open(seen, "w") as note:  # this process ran, whether or not recording can start
        note.write("{}")

    import json
    from pathlib import Path
    from runreplay import Session
    from runreplay.scrub_rules import load_rules

    rules_file = os.environ.get("RUNREPLAY_RECORD_RULES")
    hosts = os.environ.get("RUNREPLAY_RECORD_ALLOW_HOSTS", "")
    session = Session(
        os.environ["RUNREPLAY_RECORD_CASSETTE"],
        record_mode=os.environ["RUNREPLAY_RECORD_MODE"],
        record_to=Path(os.environ["RUNREPLAY_RECORD_PARTS"]) / f"{os.getpid()}.json",
        scrub=load_rules(Path(rules_file) if rules_file else None),
        validate="off",  # the merged cassette is validated once, by `runreplay record`
        unused="ignore",
        allow_hosts=[h for h in hosts.split(",") if h],
        allow_loopback=os.environ.get("RUNREPLAY_RECORD_ALLOW_LOOPBACK") == "1",
    )
    session.__enter__()

    def _runreplay_finish():
        try:
            session.__exit__(None, None, None)
        finally:
            with open(seen, "w") as note:
                json.dump({"replayed": session.replayed_count, "recorded": len(session.recorded)}, note)

    atexit.register(_runreplay_finish)

try:
    _runreplay_start()
except BaseException as exc:  # noqa: BLE001
    print(f"runreplay: recording could not start in process {os.getpid()}: {exc}", file=sys.stderr)

# Chain to a sitecustomize this one shadows, so the environment behaves as without us.
_here = os.path.dirname(os.path.abspath(__file__))
_rest = [p for p in sys.path if os.path.abspath(p or ".") != _here]
_spec = importlib.machinery.PathFinder.find_spec("sitecustomize", _rest)
if _spec is not None and _spec.loader is not None:
    _spec.loader.exec_module(importlib.util.module_from_spec(_spec))
"""


# Started by `runreplay record` in a session of its own, with a pipe as stdin that only
# `runreplay record` writes to. A byte on it: all is well, exit. End of file without one:
# `runreplay record` died (kill -9), so stop the command's process group and remove the parts.
_WATCHDOG = """\
import os, shutil, signal, sys, time
group, parts, grace = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
try:
    done = os.read(0, 1)
except OSError:
    done = b""
if not done:
    try:
        os.killpg(group, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            time.sleep(0.05)
            os.killpg(group, 0)
        os.killpg(group, signal.SIGKILL)
    except OSError:
        pass
    shutil.rmtree(parts, ignore_errors=True)
"""


class Interrupted(Exception):
    """``runreplay record`` received ``signum``; the command was stopped and nothing was written."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class _Signals:
    """Turns SIGINT/SIGTERM/SIGHUP into :class:`Interrupted` once armed (remembered until then)."""

    def __init__(self) -> None:
        self.received: int | None = None
        self.armed = False

    def handle(self, signum: int, frame: FrameType | None) -> None:
        self.received = signum
        if self.armed:
            raise Interrupted(signum)

    def arm(self) -> None:
        self.armed = True
        if self.received is not None:
            raise Interrupted(self.received)


@contextmanager
def _signals_handled() -> Iterator[_Signals]:
    state = _Signals()
    previous: dict[int, object] = {}
    try:
        for name in _SIGNALS:
            number = getattr(signal, name, None)
            if number is not None:
                previous[number] = signal.signal(number, state.handle)
    except ValueError:  # not the main thread: signals keep their handlers
        pass
    try:
        yield state
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)  # type: ignore[arg-type]


def run(
    command: list[str],
    cassette: Path,
    mode: RecordMode,
    rules: ScrubRules,
    rules_file: Path | None,
    *,
    allow_hosts: tuple[str, ...] = (),
    allow_loopback: bool = False,
) -> Merged:
    """Run ``command`` with recording active and merge what its processes recorded.

    ``rules_file`` (or, without it, the nearest pyproject.toml of each process) gives
    every process the same scrub rules as ``rules``. ``allow_hosts`` and ``allow_loopback``
    are the session options of every process (replay-only sessions block the rest).
    Raises :class:`Interrupted` when a signal stopped the command (nothing is written).
    """
    parts = Path(tempfile.mkdtemp(prefix="runreplay-parts-"))
    hook = parts / "_hook"
    hook.mkdir()
    (parts / SEEN).mkdir()
    (hook / "sitecustomize.py").write_text(_SITECUSTOMIZE, encoding="utf-8")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(hook), env.get("PYTHONPATH", "")) if p)
    env[ENV_CASSETTE] = str(cassette.resolve())
    env[ENV_MODE] = mode.value
    env[ENV_PARTS] = str(parts)
    env[ENV_ALLOW_HOSTS] = ",".join(allow_hosts)
    env[ENV_ALLOW_LOOPBACK] = "1" if allow_loopback else ""
    if rules_file is not None:
        env[ENV_RULES] = str(rules_file.resolve())
    try:
        exit_code = _run_in_group(command, env, parts)
        merged = merge(sorted(parts.glob("*.json")), cassette, mode, rules)
        merged.python_processes, merged.replayed = _seen(parts / SEEN)
    finally:
        shutil.rmtree(parts, ignore_errors=True)
    merged.exit_code = exit_code
    return merged


def _run_in_group(command: list[str], env: dict[str, str], parts: Path) -> int:
    """The command's exit code; on a signal, its process group is stopped and Interrupted raised."""
    posix = os.name == "posix"
    with _signals_handled() as signals:
        try:
            process = subprocess.Popen(command, env=env, start_new_session=posix)
        except OSError as exc:
            problem = "not found" if isinstance(exc, FileNotFoundError) else exc.strerror or str(exc)
            raise CassetteError(f"command {problem}: {command[0]}") from None
        watchdog = _start_watchdog(process.pid, parts) if posix else None
        try:
            signals.arm()
            return process.wait()
        except Interrupted as interrupted:
            _stop(process, interrupted.signum, posix)
            raise
        finally:
            signals.armed = False
            _release(watchdog)


def _start_watchdog(group: int, parts: Path) -> subprocess.Popen[bytes] | None:
    try:
        return subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _WATCHDOG, str(group), str(parts), str(STOP_GRACE_S)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # neither the terminal's Ctrl-C nor the command's group reaches it
        )
    except OSError:  # pragma: no cover - no watchdog: a kill -9 leaves the command running, as before
        return None


def _release(watchdog: subprocess.Popen[bytes] | None) -> None:
    """Tell the watchdog all is well and let it go."""
    if watchdog is None or watchdog.stdin is None:
        return
    try:
        watchdog.stdin.write(b"x")
        watchdog.stdin.close()
        watchdog.wait(timeout=STOP_GRACE_S)
    except (OSError, subprocess.TimeoutExpired):  # pragma: no cover - it went already, or hangs
        watchdog.kill()


def _stop(process: subprocess.Popen[bytes], signum: int, posix: bool) -> None:
    """Pass ``signum`` on to the command's group, wait STOP_GRACE_S, then kill what is left."""

    def signal_group(number: int) -> None:
        try:
            if posix:
                os.killpg(process.pid, number)
            else:  # pragma: no cover - Windows: no process groups to signal
                process.terminate()
        except OSError:
            pass

    signal_group(signum)
    with suppress(subprocess.TimeoutExpired, Interrupted):  # slow to stop, or a second signal: kill it
        process.wait(timeout=STOP_GRACE_S)
    signal_group(signal.SIGKILL if posix else signal.SIGTERM)
    process.wait()


def _seen(folder: Path) -> tuple[int, int]:
    """How many Python processes ran runreplay's hook, and how many interactions they replayed."""
    processes = replayed = 0
    for note in folder.glob("*.json"):
        processes += 1
        with suppress(OSError, ValueError, TypeError, AttributeError):
            replayed += int(json.loads(note.read_text(encoding="utf-8")).get("replayed", 0))
    return processes, replayed


def merge(parts: list[Path], cassette: Path, mode: RecordMode, rules: ScrubRules) -> Merged:
    """Merge per-process recordings into ``cassette`` (after what it held, unless rewriting)."""
    timed: list[tuple[float, Interaction]] = []
    for part in parts:
        loaded = load(part)
        start = recorded_epoch(loaded) or 0.0
        timed.extend((start + item.at_ms / 1000, item) for item in loaded.interactions)
    if not timed:
        return Merged(cassette, [], 0, len(parts))
    first = min(moment for moment, _ in timed)
    added = []
    for moment, item in timed:
        item.shift(int((moment - first) * 1000) - item.at_ms)  # one clock for every process
        added.append(item)
    # Each part was scrubbed already; scrubbing together links values across them.
    scrubber = Scrubber(rules) if rules.enabled else None
    written = save_recording(
        cassette,
        added,
        started_at=first,
        fresh=mode is RecordMode.REWRITE,
        scrubber=scrubber,
        meta={"processes": len(parts)},
    )
    return Merged(cassette, added, len(written.interactions) - len(added), len(parts))


def python_command(args: list[str]) -> list[str]:
    """``python`` in the command means this interpreter, so the child finds runreplay."""
    if args and args[0] in ("python", "python3"):
        return [sys.executable, *args[1:]]
    return args


@click.command(context_settings={"ignore_unknown_options": True})
@click.option("--cassette", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Cassette to write.")
@click.option(
    "--mode",
    type=click.Choice([m.value for m in RecordMode]),
    default="once",
    show_default=True,
    help="Record mode, as in the pytest plugin.",
)
@click.option(
    "--validate",
    type=click.Choice(["error", "warn", "off"]),
    default="error",
    show_default=True,
    help="Check the recorded payloads against the documented types; 'error' exits 1 on a violation.",
)
@click.option(
    "--allowed-hosts",
    default="",
    metavar="HOST,HOST",
    help="Hosts (name, IP or *.glob, optionally :port) that a replaying process may still connect to.",
)
@click.option(
    "--allow-loopback",
    is_flag=True,
    help="A replaying process may connect to 127.0.0.1, ::1 and localhost (a local server).",
)
@rules_option
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def record(
    cassette: Path,
    mode: str,
    validate: str,
    allowed_hosts: str,
    allow_loopback: bool,
    rules_file: Path | None,
    command: tuple[str, ...],
) -> None:
    """Run a Python program with recording active, in it and its Python children.

    Everything after `--` is the command. Each Python process it starts records its HTTP
    traffic; when it has finished, the recordings are merged into one cassette in request
    order, scrubbed and validated, as the pytest plugin does.

    \b
    Examples:
      runreplay record --cassette cassettes/nightly.json -- python scripts/nightly.py
      runreplay record --cassette cassettes/suite.json --mode rewrite -- pytest tests/e2e
      runreplay record --cassette cassettes/nightly.json --mode none -- python scripts/nightly.py  # replay

    A replaying process (--mode none, or once with an existing cassette) connects nowhere:
    sockets included, unless --allowed-hosts or --allow-loopback let a host through.
    Python programs only: a command that starts no Python process is an error (exit 2).

    \b
    Exit codes: the command's own when it fails; otherwise 0, or 1 when recorded payloads
    break their schema (--validate error); 2 usage error, or no Python process seen;
    128 + N when stopped by signal N (the command's process group is stopped too).
    """
    with exit_2_on_errors():
        record_mode = RecordMode.parse(mode)
        if record_mode is RecordMode.NONE and not cassette.exists():
            raise CassetteError("cassette not found and --mode is none: nothing to replay", path=cassette)
        hosts = tuple(h.strip() for h in allowed_hosts.split(",") if h.strip())
        for host in hosts:
            split_host(host, "--allowed-hosts")
        rules = load_rules(rules_file)
        args = python_command(list(command))
        try:
            merged = run(
                args, cassette, record_mode, rules, rules_file, allow_hosts=hosts, allow_loopback=allow_loopback
            )
        except Interrupted as interrupted:
            name = signal.Signals(interrupted.signum).name
            click.echo(
                f"runreplay: {name}: stopped the command and its process group; nothing was written to {cassette}",
                err=True,
            )
            sys.exit(128 + interrupted.signum)
        if merged.python_processes == 0 and merged.processes == 0:
            raise ConfigError(_no_python(args, merged.exit_code, record_mode))
    if record_mode is RecordMode.NONE:
        message = (
            f"replayed {merged.replayed} interaction(s) from {cassette} in {merged.python_processes} Python process(es)"
        )
    else:
        message = f"recorded {len(merged.added)} interaction(s) from {merged.processes} process(es) into {cassette}"
        if merged.replayed:
            message += f" (and replayed {merged.replayed})"
    click.echo(f"runreplay: {message}", err=True)
    if merged.exit_code != 0:
        sys.exit(merged.exit_code)
    if validate != "off" and merged.added:
        found = [
            v
            for index, item in enumerate(merged.added, start=merged.first_index)
            for v in validate_interaction(item, index=index, cassette=str(cassette))
        ]
        if found:
            click.echo(format_violations(found), err=True)
            if validate == "error":
                sys.exit(EXIT_FINDINGS)


def _no_python(command: list[str], exit_code: int, mode: RecordMode) -> str:
    shown = shlex.join(command)
    shown = shown if len(shown) <= 80 else shown[:77] + "..."
    consequence = (
        "it ran against whatever it connects to, with nothing replayed"
        if mode is RecordMode.NONE
        else "nothing was recorded"
    )
    return (
        f"no Python process was seen: `{shown}` (exit code {exit_code}) started no Python interpreter that "
        f"loaded runreplay's hook, so {consequence}. `runreplay record` works for Python processes only (it "
        "hooks them through a sitecustomize module on PYTHONPATH; `python -I`, `python -S` and wrappers that "
        "reset PYTHONPATH skip it). For programs in other languages (Node, Go, ...), use `runreplay serve DIR` "
        "(replay) or `runreplay serve DIR --record-mode once --upstream URL` (a recording proxy) and point the "
        "program's base URL at http://127.0.0.1:PORT/<cassette name>/...: see docs/serve.md."
    )
