"""Cassette load time and peak memory, runreplay against a bare JSON parse and VCR.py.

Load time is measured in process; every variant starts from the file on disk:

- the floor: ``orjson.loads`` of the file's bytes, the least any JSON cassette can cost;
- ``orjson.loads, GC paused``: the same without Python's cyclic collector walking the growing
  result (runreplay's loader pauses it too; for 10,000 interactions the collector is most of
  a plain parse's time);
- ``json.load``: the standard library's parse;
- runreplay: ``runreplay.cassette.load`` (parse, check, build the interaction objects);
  ``runreplay Session set-up`` adds the matcher's keys and the timelines a replay needs;
- VCR.py: ``vcr.cassette.Cassette.load``, what ``use_cassette`` does on entry (parse, build
  its requests, deep-copy each response), for its YAML and its JSON file.

Peak memory is measured in a fresh subprocess per variant and repetition (``python -m
benchmarks.rss_worker``): the peak resident set a load reaches minus the resident set just
before it, so C allocations count too (libyaml's and orjson's, which tracemalloc would not
see), and so does the file's text.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.files import CassetteSet, Files
from benchmarks.harness import FLOOR, INFO, MIB, MS, PEER, SUBJECT, Case, NotAvailable, Target, Unit, Variant, clock

REPO = Path(__file__).resolve().parent.parent
#: Load within 2x of an orjson parse; peak memory within 1.5x of json.load's.
TARGET_LOAD_X_FLOOR = 2.0
TARGET_RSS_X_JSON = 1.5

#: Loader name -> (role, which file it reads: "runreplay", or the VCR.py "yaml" or "json" one).
LOADERS: dict[str, tuple[str, str]] = {
    "orjson.loads": (FLOOR, "runreplay"),
    "orjson.loads, GC paused": (INFO, "runreplay"),
    "json.load": (INFO, "runreplay"),
    "runreplay": (SUBJECT, "runreplay"),
    "runreplay Session set-up": (INFO, "runreplay"),
    "VCR.py YAML": (PEER, "yaml"),
    "VCR.py JSON": (PEER, "json"),
}


def loader(name: str) -> Callable[[Path], Any]:
    """The function that loads a file the way variant ``name`` does."""
    if name == "orjson.loads":
        import orjson

        return lambda path: orjson.loads(path.read_bytes())
    if name == "orjson.loads, GC paused":
        import orjson

        from runreplay.cassette import paused_gc

        def parse_without_gc(path: Path) -> Any:
            # What parsing costs without the cyclic collector walking the growing result.
            with paused_gc():
                return orjson.loads(path.read_bytes())

        return parse_without_gc
    if name == "json.load":

        def json_load(path: Path) -> Any:
            with path.open(encoding="utf-8") as fh:
                return json.load(fh)

        return json_load
    if name == "runreplay":
        from runreplay.cassette import load

        return load
    if name == "runreplay Session set-up":
        from runreplay import Session

        return lambda path: Session(path, unused="ignore")
    if name.startswith("VCR.py"):
        from vcr.cassette import Cassette
        from vcr.serializers import jsonserializer, yamlserializer

        serializer = yamlserializer if name.endswith("YAML") else jsonserializer
        return lambda path: Cassette.load(path=str(path), serializer=serializer, record_mode="none")
    raise ValueError(f"unknown loader {name!r}")


def _file(cset: CassetteSet, source: str) -> Path:
    return cset.runreplay if source == "runreplay" else cset.vcr(source)


def _cases(
    files: Files,
    sizes: tuple[int, ...],
    measurement: str,
    unit: Unit,
    target: Target,
    make: Callable[[str, Path], Variant],
    skip: tuple[str, ...] = (),
) -> list[Case]:
    """One case per size, a variant per loader, over the distinct-runs cassettes."""
    out = []
    for size in sizes:
        cset = files.polling("distinct", size)
        variants = [make(name, _file(cset, source)) for name, (_, source) in LOADERS.items() if name not in skip]
        size_bytes = cset.runreplay.stat().st_size
        label = f"N={size:,} ({size_bytes / 2**20:.1f} MiB runreplay file)"
        params = {"size": size, "bytes": size_bytes}
        out.append(Case(measurement, label, unit, variants, [target], vcr="VCR.py YAML", params=params))
    return out


def load_cases(files: Files, sizes: tuple[int, ...]) -> list[Case]:
    def make(name: str, path: Path) -> Variant:
        return Variant(name, LOADERS[name][0], _time_load(loader(name), path))

    return _cases(files, sizes, "load", MS, Target(SUBJECT, TARGET_LOAD_X_FLOOR), make)


def _time_load(load: Callable[[Path], Any], path: Path) -> Callable[[], float]:
    def run() -> float:
        start = clock()
        result = load(path)
        elapsed = clock() - start
        del result  # freed outside the timed region
        return elapsed / 1e9

    return run


def rss_cases(files: Files, sizes: tuple[int, ...]) -> list[Case]:
    def make(name: str, path: Path) -> Variant:
        # Each repetition is a fresh process: there is nothing to warm up.
        return Variant(name, LOADERS[name][0], _rss_in_subprocess(name, path), warmup=False)

    target = Target(SUBJECT, TARGET_RSS_X_JSON, versus="json.load")
    # The session's peak is its load's: the matcher and timelines are small next to it.
    skip = ("runreplay Session set-up", "orjson.loads, GC paused")
    return _cases(files, sizes, "peak RSS", MIB, target, make, skip=skip)


def _rss_in_subprocess(name: str, path: Path) -> Callable[[], float]:
    def run() -> float:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.rss_worker", name, str(path)],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise NotAvailable(f"worker failed: {done.stderr.strip()[-300:]}")
        result = json.loads(done.stdout)
        return float(result["peak_delta_bytes"])

    return run
