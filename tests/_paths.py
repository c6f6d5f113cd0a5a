"""Where the tests find the repository's files. Everything they read is inside the repository."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: Vendor material copied into the repository (see tests/data/PROVENANCE.md).
DATA = REPO / "tests" / "data"
TRAFFIC = DATA / "real-traffic"
SEEDS = DATA / "seeds"
SPECS = DATA / "specs"
#: The example cassettes shipped with the repository.
CASSETTES = REPO / "cassettes"
