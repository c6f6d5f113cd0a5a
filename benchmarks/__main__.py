"""``python -m benchmarks``: every measurement, a table with ratios and targets, optional JSON.

    python -m benchmarks                   # full run (several minutes: VCR.py sleeps through 60 s lifecycles)
    python -m benchmarks --quick           # CI smoke: smaller sizes, under a minute
    python -m benchmarks --only replay --only sse --json results.json

Exit status is 0 whenever every measurement ran, whatever the numbers: targets are reported,
never enforced (timings on shared CI machines are too noisy to gate on).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks import checks, loading, node_serve, plugin_cost, polling, replay, streams
from benchmarks.files import Files
from benchmarks.harness import Case, Row, Settings, render, render_markdown, render_summary_markdown, run_case, summary


@dataclass(frozen=True)
class Profile:
    """Sizes and repetitions of one kind of run."""

    name: str
    reps: int
    warmup: int
    replay_sizes: tuple[int, ...]
    #: Timed requests per repetition (an even sample when the cassette is longer).
    replay_requests: int
    #: Timed requests for VCR.py per cassette length: its cost per request grows with N.
    vcr_requests: dict[int, int] = field(default_factory=dict)
    #: VCR.py cassette formats replayed (both replay the same parsed interactions, at the same cost).
    vcr_formats: tuple[str, ...] = ("yaml", "json")
    load_sizes: tuple[int, ...] = ()
    rss_sizes: tuple[int, ...] = ()
    sse_events: int = 10_000
    lifecycle_seconds: float = 60.0
    vcr_lifecycle_seconds: float = 60.0
    validation_size: int = 1_000
    scrub_size: int = 1_000
    plugin_tests: int = 200


FULL = Profile(
    "full",
    reps=5,
    warmup=1,
    replay_sizes=(100, 1_000, 10_000),
    replay_requests=1_000,
    vcr_requests={100: 100, 1_000: 100, 10_000: 20},
    load_sizes=(100, 1_000, 10_000),
    rss_sizes=(100, 1_000, 10_000),
)
#: For CI: every measurement at smaller sizes, three repetitions; under a minute.
QUICK = Profile(
    "quick",
    reps=3,
    warmup=1,
    replay_sizes=(100, 1_000),
    replay_requests=50,
    vcr_requests={100: 10, 1_000: 5},
    vcr_formats=("json",),
    load_sizes=(100, 500),
    rss_sizes=(500,),
    sse_events=2_000,
    vcr_lifecycle_seconds=1.0,
    validation_size=200,
    scrub_size=200,
    plugin_tests=20,
)
#: For the test suite: every measurement, tiny sizes, one repetition after the warm-up.
SMOKE = Profile(
    "smoke",
    reps=1,
    warmup=1,
    replay_sizes=(10, 30),
    replay_requests=10,
    vcr_requests={},
    vcr_formats=("json",),
    load_sizes=(10,),
    rss_sizes=(10,),
    sse_events=100,
    lifecycle_seconds=5.0,
    vcr_lifecycle_seconds=1.0,
    validation_size=10,
    scrub_size=10,
    plugin_tests=3,
)
PROFILES = {p.name: p for p in (FULL, QUICK, SMOKE)}


def _builders(profile: Profile) -> dict[str, Callable[[Files], list[Case]]]:
    p = profile
    return {
        "replay": lambda f: replay.cases(f, p.replay_sizes, p.replay_requests, p.vcr_requests, p.vcr_formats),
        "load": lambda f: loading.load_cases(f, p.load_sizes),
        "rss": lambda f: loading.rss_cases(f, p.rss_sizes),
        "sse": lambda f: streams.cases(f, p.sse_events),
        "polling": lambda f: polling.cases(f, p.lifecycle_seconds, p.vcr_lifecycle_seconds),
        "serve": lambda f: node_serve.cases(f, p.lifecycle_seconds),
        "validation": lambda f: checks.validation_cases(f, p.validation_size, p.replay_requests),
        "scrub": lambda f: checks.scrub_cases(f, p.scrub_size),
        "plugin": lambda f: plugin_cost.cases(f, p.plugin_tests),
    }


MEASUREMENTS = tuple(_builders(FULL))


def run(profile: Profile, only: list[str] | None = None, *, verbose: bool = True) -> list[Row]:
    """Every selected measurement, in order; the replay flatness rows follow the replay rows."""
    settings = Settings(reps=profile.reps, warmup=profile.warmup, verbose=verbose)
    builders = _builders(profile)
    rows: list[Row] = []
    with Files() as files:
        for name in only or MEASUREMENTS:
            started = time.perf_counter()
            if verbose:
                print(f"{name} ...", flush=True)
            for case in builders[name](files):
                rows += run_case(case, settings)
            if name == "replay":
                rows += replay.flatness(rows)
            if verbose:
                print(f"{name}: {time.perf_counter() - started:.1f} s", flush=True)
    return rows


def environment() -> dict[str, Any]:
    versions = {}
    for package in ("runreplay", "httpx", "httpx2", "openai", "vcrpy", "orjson", "PyYAML", "pytest"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "machine": platform.machine(),
        "system": platform.platform(),
        "cpus": os.cpu_count(),
        "versions": versions,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for CI smoke runs (under a minute)")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, one repetition (the test suite uses it)")
    parser.add_argument(
        "--only",
        action="append",
        choices=MEASUREMENTS,
        metavar="NAME",
        help=f"run only NAME: {', '.join(MEASUREMENTS)}",
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the results to FILE as JSON")
    parser.add_argument("--markdown", type=Path, metavar="FILE", help="also write the tables to FILE as Markdown")
    parser.add_argument(
        "--from-json", type=Path, metavar="FILE", help="measure nothing: print the tables of results saved with --json"
    )
    parser.add_argument("--reps", type=int, metavar="N", help="repetitions per variant (default 5; 1 with --smoke)")
    parser.add_argument(
        "--vcr-lifecycle", type=float, metavar="SECONDS", help="length of the lifecycle VCR.py really sleeps through"
    )
    args = parser.parse_args(argv)
    profile = SMOKE if args.smoke else QUICK if args.quick else FULL
    if args.reps is not None:
        profile = replace(profile, reps=max(1, args.reps))
    if args.vcr_lifecycle is not None:
        profile = replace(profile, vcr_lifecycle_seconds=args.vcr_lifecycle)
    only = list(dict.fromkeys(args.only)) if args.only else None
    if args.from_json:
        saved = json.loads(args.from_json.read_text(encoding="utf-8"))
        rows = [Row.from_json(r) for r in saved["rows"] if not only or _measured_by(r["measurement"]) in only]
        _report(rows, args.markdown)
        return 0
    started = time.perf_counter()
    env = environment()
    print(f"runreplay benchmarks, {profile.name} profile: {env['python']} on {env['system']}, {env['cpus']} CPUs")
    rows = run(profile, only)
    elapsed = time.perf_counter() - started
    _report(rows, args.markdown)
    print(f"ran in {elapsed:.1f} s")
    if args.json:
        document = {
            "profile": asdict(profile),
            "environment": env,
            "seconds": round(elapsed, 1),
            "rows": [r.to_json() for r in rows],
        }
        args.json.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
    return 0


#: The table's measurement names, by the --only name that produces them.
_TABLE_NAMES = {
    "replay": ("replay", "replay flatness"),
    "load": ("load",),
    "rss": ("peak RSS",),
    "sse": ("SSE",),
    "polling": ("polling lifecycle",),
    "serve": ("serve to openai-node",),
    "validation": ("validation",),
    "scrub": ("scrub --check",),
    "plugin": ("pytest plugin",),
}


def _measured_by(table_name: str) -> str:
    return next((name for name, shown in _TABLE_NAMES.items() if table_name in shown), table_name)


def _report(rows: list[Row], markdown: Path | None) -> None:
    print()
    print(render(rows))
    print()
    print(summary(rows))
    if markdown:
        tables = [render_summary_markdown(rows), "", "All variants:", "", render_markdown(rows)]
        markdown.write_text("\n".join(tables) + "\n", encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
