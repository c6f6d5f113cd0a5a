"""Assemble a cassette from converted exchanges: timing, provider, client and source meta."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from runreplay._version import __version__
from runreplay.cassette import Cassette, Interaction
from runreplay.importers._http import parse_time
from runreplay.providers import detect_client, detect_provider

#: Timing sources, best first. "started" is a request start (HAR), "recorded_at" is the
#: recorder's own stamp (Ruby/R vcr), "date" is the response Date header.
TIME_SOURCES = ("started", "recorded_at", "date")


@dataclass(slots=True)
class Exchange:
    """One converted interaction plus whatever times its source recorded for it."""

    interaction: Interaction
    times: dict[str, datetime | None] = field(default_factory=dict)


def build_cassette(exchanges: list[Exchange], fmt: str, source: Path) -> Cassette:
    interactions = [e.interaction for e in exchanges]
    timeline = _best_timeline(exchanges)
    meta: dict[str, Any] = {
        "runreplay": __version__,
        "provider": detect_provider(interactions),
    }
    client = detect_client(interactions)
    if client:
        meta["client"] = client
    start = next((t for t in timeline if t is not None), None)
    if start is not None:
        meta["recorded_at"] = _iso(start)
        previous = 0
        for interaction, moment in zip(interactions, timeline, strict=True):
            # Clamp so at_ms never goes backwards: recorders stamp with coarse or skewed clocks.
            if moment is not None:
                previous = max(previous, round((moment - start).total_seconds() * 1000))
            interaction.at_ms = previous
    meta["source"] = {"format": fmt, "file": source.name}
    return Cassette(interactions=interactions, meta=meta)


def _best_timeline(exchanges: list[Exchange]) -> list[datetime | None]:
    """The timing source that tells interactions apart best; earlier sources win ties.

    R vcr stamps every interaction with the time the cassette was written, so its
    ``recorded_at`` values are all equal while the Date headers still advance.
    """
    candidates: list[list[datetime | None]] = []
    for source in TIME_SOURCES:
        if source == "date":
            line = [parse_time(e.interaction.response.headers.get("date")) for e in exchanges]
        else:
            line = [e.times.get(source) for e in exchanges]
        candidates.append(line)
    return max(candidates, key=lambda line: len({t for t in line if t is not None}))


def _iso(moment: datetime) -> str:
    spec = "milliseconds" if moment.microsecond else "seconds"
    return moment.astimezone(UTC).isoformat(timespec=spec).replace("+00:00", "Z")
