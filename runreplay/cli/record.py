"""``runreplay record -- COMMAND``: record any Python program, and its Python children.

The command runs with a ``sitecustomize`` module first on ``PYTHONPATH``, so every Python
interpreter it starts (the program itself, ``subprocess`` children, a pytest run) opens a
runreplay session before user code runs and saves it at exit. Each process writes its own
part file; once the command has finished, the parts are merged into one cassette in the
order the requests were sent, scrubbed and validated like any other recording (through
:func:`runreplay.engine.saving.save_recording`, as the pytest plugin saves).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import click

from runreplay.cassette import Interaction, load
from runreplay.checks.validation import format_violations, validate_interaction
from runreplay.cli.common import EXIT_FINDINGS, exit_2_on_errors, rules_option
from runreplay.engine.saving import recorded_epoch, save_recording
from runreplay.engine.scrub import Scrubber
from runreplay.errors import CassetteError
from runreplay.options import RecordMode
from runreplay.scrub_rules import ScrubRules, load_rules


@dataclass
class Merged:
    """What a recorded command added to its cassette."""

    cassette: Path
    added: list[Interaction]
    first_index: int
    processes: int
    exit_code: int = 0


ENV_CASSETTE = "RUNREPLAY_RECORD_CASSETTE"
ENV_MODE = "RUNREPLAY_RECORD_MODE"
ENV_PARTS = "RUNREPLAY_RECORD_PARTS"
ENV_RULES = "RUNREPLAY_RECORD_RULES"

# Runs in every Python process of the command. It must never break the program: any
# failure to start recording is reported on stderr and the program runs on.
_SITECUSTOMIZE = """\
import atexit, importlib.machinery, importlib.util, os, sys

def _runreplay_start():
    from pathlib import Path
    from runreplay import Session
    from runreplay.scrub_rules import load_rules

    rules_file = os.environ.get("RUNREPLAY_RECORD_RULES")
    session = Session(
        os.environ["RUNREPLAY_RECORD_CASSETTE"],
        record_mode=os.environ["RUNREPLAY_RECORD_MODE"],
        record_to=Path(os.environ["RUNREPLAY_RECORD_PARTS"]) / f"{os.getpid()}.json",
        scrub=load_rules(Path(rules_file) if rules_file else None),
        validate="off",  # the merged cassette is validated once, by `runreplay record`
        unused="ignore",
    )
    session.__enter__()
    atexit.register(session.__exit__, None, None, None)

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


def run(command: list[str], cassette: Path, mode: RecordMode, rules: ScrubRules, rules_file: Path | None) -> Merged:
    """Run ``command`` with recording active and merge what its processes recorded.

    ``rules_file`` (or, without it, the nearest pyproject.toml of each process) gives
    every process the same scrub rules as ``rules``.
    """
    parts = Path(tempfile.mkdtemp(prefix="runreplay-parts-"))
    hook = parts / "_hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(_SITECUSTOMIZE, encoding="utf-8")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(hook), env.get("PYTHONPATH", "")) if p)
    env[ENV_CASSETTE] = str(cassette.resolve())
    env[ENV_MODE] = mode.value
    env[ENV_PARTS] = str(parts)
    if rules_file is not None:
        env[ENV_RULES] = str(rules_file.resolve())
    try:
        try:
            completed = subprocess.run(command, env=env, check=False)
        except FileNotFoundError:
            raise CassetteError(f"command not found: {command[0]}") from None
        merged = merge(sorted(parts.glob("*.json")), cassette, mode, rules)
    finally:
        shutil.rmtree(parts, ignore_errors=True)
    merged.exit_code = completed.returncode
    return merged


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
@rules_option
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def record(cassette: Path, mode: str, validate: str, rules_file: Path | None, command: tuple[str, ...]) -> None:
    """Run a Python program with recording active, in it and its Python children.

    Everything after `--` is the command. Each Python process it starts records its HTTP
    traffic; when it has finished, the recordings are merged into one cassette in request
    order, scrubbed and validated, as the pytest plugin does.

    \b
    Examples:
      runreplay record --cassette cassettes/nightly.json -- python scripts/nightly.py
      runreplay record --cassette cassettes/suite.json --mode rewrite -- pytest tests/e2e
      runreplay record --cassette cassettes/nightly.json --mode none -- python scripts/nightly.py  # replay

    \b
    Exit codes: the command's own when it fails; otherwise 0, or 1 when recorded payloads
    break their schema (--validate error); 2 usage error.
    """
    with exit_2_on_errors():
        record_mode = RecordMode.parse(mode)
        if record_mode is RecordMode.NONE and not cassette.exists():
            raise CassetteError("cassette not found and --mode is none: nothing to replay", path=cassette)
        rules = load_rules(rules_file)
        merged = run(python_command(list(command)), cassette, record_mode, rules, rules_file)
    click.echo(
        f"runreplay: recorded {len(merged.added)} interaction(s) from {merged.processes} process(es) into {cassette}",
        err=True,
    )
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
