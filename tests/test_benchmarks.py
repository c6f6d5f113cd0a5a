"""Smoke test of the benchmark harness: every measurement runs and reports sane numbers.

Timings are never asserted on (this machine is shared and noisy); only that each measurement
produced its rows, with positive finite values.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: The measurements ``python -m benchmarks`` reports, as they are named in its table.
MEASUREMENTS = (
    "replay",
    "replay flatness",
    "load",
    "peak RSS",
    "SSE",
    "polling lifecycle",
    "serve to openai-node",
    "validation",
    "scrub --check",
    "pytest plugin",
)


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict]:
    out = tmp_path_factory.mktemp("bench") / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--smoke", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout, json.loads(out.read_text(encoding="utf-8"))


def test_every_measurement_has_rows(smoke: tuple[str, dict]) -> None:
    table, results = smoke
    found = {row["measurement"] for row in results["rows"]}
    assert found == set(MEASUREMENTS)
    for name in MEASUREMENTS:
        assert f"\n{name} " in table, f"{name} missing from the printed table"


def test_numbers_are_positive_and_finite(smoke: tuple[str, dict]) -> None:
    _, results = smoke
    for row in results["rows"]:
        where = f"{row['measurement']} / {row['case']} / {row['variant']}"
        assert not row["error"], f"{where}: {row['error']}"
        values = [row["median"], *row["samples_raw"]]
        if row["case"].startswith("fixed cost"):
            # A difference of two noisy wall times: finite, but may be negative on a busy machine.
            assert all(math.isfinite(v) for v in values), where
            continue
        assert all(math.isfinite(v) and v > 0 for v in values), where
        for ratio in (row["x_floor"], row["x_vcr"]):
            assert ratio is None or (math.isfinite(ratio) and ratio > 0), where


def test_targets_are_reported_not_enforced(smoke: tuple[str, dict]) -> None:
    table, results = smoke
    verdicts = {row["verdict"] for row in results["rows"] if row["target"]}
    assert verdicts <= {"pass", "miss", "n/a"}
    assert "targets:" in table  # the summary line, whatever the verdicts
    targeted = {row["measurement"] for row in results["rows"] if row["target"]}
    assert {"replay", "replay flatness", "load", "peak RSS", "SSE", "polling lifecycle"} <= targeted


def test_only_runs_one_measurement() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--smoke", "--only", "load"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "\nload " in done.stdout
    assert "\nreplay " not in done.stdout
