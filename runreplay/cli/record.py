"""``runreplay record -- COMMAND``: record any Python program, and its Python children.

The command runs with a ``sitecustomize`` module first on ``PYTHONPATH``, so every Python
interpreter it starts (the program itself, ``subprocess`` children, a pytest run) opens a
runreplay session before user code runs and saves it at exit. Each process writes its own
part file; once the command has finished, the parts are merged into one cassette in the
order the requests were sent, scrubbed and validated like any other recording.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from runreplay import __version__
from runreplay.cassette import Cassette, Interaction, load
from runreplay.errors import CassetteError
from runreplay.lifecycle import build_timelines
from runreplay.providers import detect_client, detect_provider
from runreplay.providers.resources import RESOURCE_SPECS
from runreplay.record_mode import RecordMode
from runreplay.scrub import Scrubber, ScrubRules


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
    from runreplay.scrub import load_rules
    from runreplay.session import Session

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

    ``rules_file`` (or, without it, the nearest
    pyproject.toml of each process) gives every process the same scrub rules as ``rules``.
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
    recorded: list[tuple[float, Interaction]] = []
    metas = []
    for part in parts:
        loaded = load(part)
        metas.append(loaded.meta)
        start = _epoch(loaded.meta.get("recorded_at"))
        recorded.extend((start + item.at_ms / 1000, item) for item in loaded.interactions)
    if not recorded:
        return Merged(cassette, [], 0, len(parts))
    recorded.sort(key=lambda pair: pair[0])
    first = recorded[0][0]
    existing = load(cassette) if cassette.exists() and mode is not RecordMode.REWRITE else Cassette()
    offset = existing.interactions[-1].at_ms if existing.interactions else 0
    new = []
    for moment, item in recorded:
        shift = offset + int((moment - first) * 1000) - item.at_ms
        item.at_ms += shift
        if item.response.body.kind == "sse":
            for event in item.response.body.events:
                event.at_ms += shift
        new.append(item)
    if rules.enabled:
        Scrubber(rules).interactions(new)  # each part was scrubbed; values may link across them
    interactions = [*existing.interactions, *new]
    meta = dict(existing.meta)
    meta.update(
        runreplay=__version__,
        provider=meta.get("provider") or detect_provider(new),
        recorded_at=meta.get("recorded_at")
        or dt.datetime.fromtimestamp(first, dt.timezone.utc).isoformat(timespec="milliseconds"),
        processes=len(parts),
    )
    client = detect_client(new)
    if client:
        meta["client"] = client
    timelines = [t.to_json() for t in build_timelines(interactions, RESOURCE_SPECS).values()]
    merged = Cassette(interactions=interactions, meta=meta, path=cassette, timelines=timelines)
    merged.save(cassette)
    return Merged(cassette, new, len(existing.interactions), len(parts))


def _epoch(stamp: object) -> float:
    if isinstance(stamp, str):
        try:
            return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
        except ValueError:
            pass
    return 0.0


def python_command(args: list[str]) -> list[str]:
    """``python`` in the command means this interpreter, so the child finds runreplay."""
    if args and args[0] in ("python", "python3"):
        return [sys.executable, *args[1:]]
    return args
