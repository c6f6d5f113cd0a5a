"""Measuring: variants of one case run interleaved in one process, medians, ratios and targets.

A *case* is one thing measured (replaying 1,000 distinct GETs through httpx, say) and its
*variants* are the ways of doing it: the floor (the cheapest possible way, e.g. httpx's
MockTransport serving the same bytes), runreplay, and its peers (VCR.py). Each variant is a
callable doing one repetition, its own set-up untimed, and returning the measured cost.
Repetitions go round-robin over the variants, starting one further each time, so machine
noise (a CPU-frequency change, another process) hits every variant alike.
"""

from __future__ import annotations

import gc
import math
import statistics
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

FLOOR = "floor"
SUBJECT = "runreplay"
PEER = "peer"
INFO = "info"


class NotAvailable(Exception):
    """A variant cannot run here (a module not written yet); reported, never fatal."""


@dataclass(frozen=True)
class Unit:
    """How a stored cost is shown. Costs are always stored as lower-is-better numbers."""

    label: str
    scale: float = 1.0
    #: Show ``scale / value`` (a rate such as events/s) instead of ``value * scale``.
    rate: bool = False
    digits: int = 1

    def show(self, value: float) -> str:
        if not math.isfinite(value) or value <= 0:
            return "-"
        shown = self.scale / value if self.rate else value * self.scale
        if shown >= 10_000:
            return f"{shown:,.0f}"
        return f"{shown:,.{self.digits}f}"

    def shown(self, value: float) -> float:
        return self.scale / value if self.rate else value * self.scale


US_PER_REQ = Unit("us/req", 1e6)
MS = Unit("ms", 1e3, digits=2)
MIB = Unit("MiB", 1 / 2**20)
EVENTS_PER_S = Unit("events/s", 1.0, rate=True, digits=0)
MB_PER_S = Unit("MB/s", 1.0, rate=True)
MS_PER_TEST = Unit("ms/test", 1e3, digits=2)
US_PER_PAYLOAD = Unit("us/payload", 1e6)
GROWTH = Unit("x", 1.0, digits=2)
UNITS = {u.label: u for u in (US_PER_REQ, MS, MIB, EVENTS_PER_S, MB_PER_S, MS_PER_TEST, US_PER_PAYLOAD, GROWTH)}


@dataclass(frozen=True)
class Target:
    """A goal for one variant: its cost over a reference variant's (or an absolute cost) at most ``limit``."""

    variant: str
    limit: float
    #: Reference variant name; None means the limit is an absolute cost in stored units.
    versus: str | None = FLOOR
    text: str = ""

    def describe(self, unit: Unit) -> str:
        if self.text:
            return self.text
        if self.versus is None:
            return f"< {unit.show(self.limit)} {unit.label}"
        return f"<= {self.limit:g}x {self.versus}"


@dataclass
class Variant:
    name: str
    role: str
    run: Callable[[], float]
    note: str = ""
    #: Skip the warm-up when it would only cost time (a variant whose cost is real sleeping).
    warmup: bool = True


@dataclass
class Case:
    measurement: str
    label: str
    unit: Unit
    variants: list[Variant]
    targets: list[Target] = field(default_factory=list)
    #: The peer ratios are taken against (the first VCR.py variant by default).
    vcr: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    #: Extra rows derived from the measured ones (e.g. a difference of two variants).
    post: Callable[[list[Row]], list[Row]] | None = None


@dataclass
class Row:
    measurement: str
    case: str
    variant: str
    role: str
    unit: Unit
    samples: list[float]
    note: str = ""
    error: str = ""
    x_floor: float | None = None
    x_vcr: float | None = None
    target: str = ""
    verdict: str = ""
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def median(self) -> float:
        return statistics.median(self.samples) if self.samples else math.nan

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Row:
        """A row saved by ``--json``, to render its tables again without measuring."""
        return cls(
            doc["measurement"],
            doc["case"],
            doc["variant"],
            doc["role"],
            UNITS[doc["unit"]],
            list(doc["samples_raw"] or []),
            note=doc["note"] or "",
            error=doc["error"] or "",
            x_floor=doc["x_floor"],
            x_vcr=doc["x_vcr"],
            target=doc["target"] or "",
            verdict=doc["verdict"] or "",
            params=doc["params"] or {},
        )

    def to_json(self) -> dict[str, Any]:
        median = self.median
        return {
            "measurement": self.measurement,
            "case": self.case,
            "variant": self.variant,
            "role": self.role,
            "unit": self.unit.label,
            "median": self.unit.shown(median) if self.samples else None,
            "median_raw": median if self.samples else None,
            "samples_raw": self.samples,
            "x_floor": self.x_floor,
            "x_vcr": self.x_vcr,
            "target": self.target or None,
            "verdict": self.verdict or None,
            "note": self.note or None,
            "error": self.error or None,
            "params": self.params,
        }


@dataclass(frozen=True)
class Settings:
    """How hard to measure: repetitions after one warm-up, and whether to print progress."""

    reps: int = 5
    warmup: int = 1
    verbose: bool = True


def run_case(case: Case, settings: Settings) -> list[Row]:
    """Warm every variant up, then repeat round-robin; a variant that is not available is reported."""
    live: list[Variant] = []
    errors: dict[str, str] = {}
    for variant in case.variants:
        try:
            for _ in range(settings.warmup if variant.warmup else 0):
                variant.run()
            live.append(variant)
        except NotAvailable as exc:
            errors[variant.name] = f"not available: {exc}"
    samples: dict[str, list[float]] = {v.name: [] for v in case.variants}
    # Everything alive now (clients, SDK modules, cached cassettes) is moved out of the
    # collector's sight: a full collection then costs the same for every variant and stays
    # cheap, instead of re-walking the SDK's and pydantic's objects on some variant's clock.
    gc.collect()
    gc.freeze()
    try:
        for rep in range(settings.reps):
            shift = rep % len(live) if live else 0
            for variant in live[shift:] + live[:shift]:
                if variant.name in errors:
                    continue
                gc.collect()  # garbage left by the previous variant must not be collected on this one's clock
                try:
                    samples[variant.name].append(variant.run())
                except NotAvailable as exc:
                    errors[variant.name] = f"not available: {exc}"
                    samples[variant.name] = []
    finally:
        gc.unfreeze()
    rows = [
        Row(
            case.measurement,
            case.label,
            v.name,
            v.role,
            case.unit,
            samples[v.name],
            note=v.note,
            error=errors.get(v.name, ""),
            params=dict(case.params),
        )
        for v in case.variants
    ]
    _ratios(case, rows)
    if case.post is not None:
        rows += case.post(rows)
    if settings.verbose:
        print(f"  {case.measurement}: {case.label} done", flush=True)
    return rows


def _ratios(case: Case, rows: list[Row]) -> None:
    by_name = {r.variant: r for r in rows if r.samples}
    floor = next((r for r in rows if r.role == FLOOR and r.samples), None)
    vcr_name = case.vcr or next((r.variant for r in rows if r.role == PEER and r.samples), None)
    vcr = by_name.get(vcr_name) if vcr_name else None
    for row in rows:
        if not row.samples:
            continue
        if floor is not None and row is not floor:
            row.x_floor = paired_ratio(row, floor)
        if vcr is not None and row is not vcr:
            row.x_vcr = paired_ratio(row, vcr)
    for target in case.targets:
        row = next((r for r in rows if r.variant == target.variant), None)
        if row is None:
            continue
        row.target = target.describe(case.unit)
        if not row.samples:
            row.verdict = "n/a"
            continue
        if target.versus is None:
            measured = row.median
        else:
            ref = floor if target.versus == FLOOR else by_name.get(target.versus)
            if ref is None:
                row.verdict = "n/a"
                continue
            measured = paired_ratio(row, ref)
        row.verdict = "pass" if measured <= target.limit else "miss"
        if target.versus not in (None, FLOOR):
            row.target += f" (is {measured:.2f}x)"


def paired_ratio(row: Row, ref: Row) -> float:
    """The median over repetitions of ``row / ref``, each pair measured back to back.

    This machine (a shared VM) has slow spells lasting seconds that raise every variant's
    time alike; the ratio within a repetition is much steadier than a ratio of medians.
    """
    if len(row.samples) == len(ref.samples) and all(r > 0 for r in ref.samples):
        return statistics.median(a / b for a, b in zip(row.samples, ref.samples, strict=True))
    return row.median / ref.median


# --------------------------------------------------------------------------- timing helpers


def clock() -> int:
    """Nanoseconds on a clock runreplay's virtual clock never moves (it patches time.monotonic)."""
    return time.perf_counter_ns()


@contextmanager
def stopwatch() -> Iterator[list[int]]:
    """``with stopwatch() as t: ...`` leaves the elapsed nanoseconds in ``t[0]``."""
    out = [0]
    start = clock()
    try:
        yield out
    finally:
        out[0] = clock() - start


def spread(total: int, count: int) -> list[int]:
    """``count`` positions spread evenly over ``range(total)``, in increasing order.

    Sampling this way keeps the average position at the middle of the cassette, so an engine
    whose cost grows with the position (VCR.py scans from the start) is charged its true
    average, while a flat engine is charged the same as with every position.
    """
    count = max(1, min(count, total))
    return sorted({int((k + 0.5) * total / count) for k in range(count)})


# --------------------------------------------------------------------------- the table


def render(rows: Sequence[Row]) -> str:
    """A plain-text table, one line per variant, grouped by measurement and case."""
    header = ("measurement", "case", "variant", "median", "unit", "x floor", "x VCR.py", "target", "result")
    lines: list[list[str]] = [list(header)]
    previous = None
    for row in rows:
        key = (row.measurement, row.case)
        first = key != previous
        previous = key
        if row.error:
            median = row.error
        elif row.samples:
            median = row.unit.show(row.median)
        else:
            median = "-"
        lines.append(
            [
                row.measurement if first else "",
                row.case if first else "",
                row.variant + (f" ({row.note})" if row.note else ""),
                median,
                row.unit.label if row.samples else "",
                _ratio(row.x_floor),
                _ratio(row.x_vcr),
                row.target,
                row.verdict,
            ]
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for n, line in enumerate(lines):
        out.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def render_markdown(rows: Sequence[Row]) -> str:
    """The same table in Markdown, for the README."""
    out = [
        "| measurement | case | variant | median | x floor | x VCR.py | target | result |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        if row.error:
            median = row.error
        elif row.samples:
            median = f"{row.unit.show(row.median)} {row.unit.label}"
        else:
            median = "-"
        name = row.variant + (f" ({row.note})" if row.note else "")
        cells = [row.measurement, row.case, name, median, _ratio(row.x_floor), _ratio(row.x_vcr)]
        cells += [row.target, f"**{row.verdict}**" if row.verdict == "miss" else row.verdict]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def render_summary_markdown(rows: Sequence[Row]) -> str:
    """One line per runreplay variant: its value beside the floor's and VCR.py's, and its target."""
    out = [
        "| measurement | case | floor | VCR.py | runreplay | x floor | x VCR.py | target | result |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    cases: dict[tuple[str, str], list[Row]] = {}
    for row in rows:
        cases.setdefault((row.measurement, row.case), []).append(row)
    for (measurement, case), members in cases.items():
        floor = next((r for r in members if r.role == FLOOR), None)
        peer = next((r for r in members if r.role == PEER and r.samples), None)
        for row in members:
            if row.role != SUBJECT:
                continue
            label = case if row.variant == SUBJECT else f"{case}, {row.variant}"
            if row.note:
                label += f" ({row.note})"
            cells = [
                measurement,
                label,
                _value(floor),
                _value(peer),
                row.error or _value(row),
                _ratio(row.x_floor),
                _ratio(row.x_vcr),
                row.target,
                f"**{row.verdict}**" if row.verdict == "miss" else row.verdict,
            ]
            out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def _value(row: Row | None) -> str:
    if row is None or not row.samples:
        return ""
    return f"{row.unit.show(row.median)} {row.unit.label}"


def _ratio(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return ""
    return f"{value:.2f}x" if value < 100 else f"{value:,.0f}x"


def summary(rows: Iterable[Row]) -> str:
    verdicts = [r for r in rows if r.verdict in ("pass", "miss")]
    missed = [r for r in verdicts if r.verdict == "miss"]
    text = f"targets: {len(verdicts) - len(missed)} pass, {len(missed)} miss"
    if missed:
        text += "\n" + "\n".join(f"  miss: {r.measurement} / {r.case} / {r.variant}: {r.target}" for r in missed)
    return text
