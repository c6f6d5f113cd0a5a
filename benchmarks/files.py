"""The scratch folder every measurement reads its cassettes from, each file written once per run."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks import data
from runreplay.cassette import Interaction, save


@dataclass
class CassetteSet:
    """One set of recorded exchanges as a runreplay cassette and, written on first use, as VCR.py cassettes."""

    exchanges: list[data.Exchange]
    interactions: list[Interaction]
    runreplay: Path
    _vcr: dict[str, Path] = field(default_factory=dict)

    def vcr(self, serializer: str) -> Path:
        """The VCR.py cassette in ``yaml`` or ``json`` (VCR.py's YAML writer is slow: only when needed)."""
        if serializer not in self._vcr:
            path = self.runreplay.with_name(f"vcr.{serializer}")
            self._vcr[serializer] = data.write_vcr(path, self.interactions, serializer)
        return self._vcr[serializer]

    @property
    def vcr_yaml(self) -> Path:
        return self.vcr("yaml")

    @property
    def vcr_json(self) -> Path:
        return self.vcr("json")


class Files:
    """Builds cassettes lazily into a temporary folder and removes it on close."""

    def __init__(self, root: Path | None = None) -> None:
        self._owned = root is None
        self.root = Path(tempfile.mkdtemp(prefix="runreplay-bench-")) if root is None else root
        self._sets: dict[tuple[str, int], CassetteSet] = {}

    def close(self) -> None:
        if self._owned:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Files:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def polling(self, pattern: str, count: int) -> CassetteSet:
        """``pattern`` is ``poll`` (one run polled ``count`` times) or ``distinct`` (``count`` runs)."""
        key = (pattern, count)
        if key not in self._sets:
            build = data.poll_exchanges if pattern == "poll" else data.distinct_exchanges
            self._sets[key] = self._write(f"{pattern}_{count}", build(count))
        return self._sets[key]

    def exchanges(self, name: str, exchanges: list[data.Exchange], extra: Sequence[Interaction] = ()) -> CassetteSet:
        """Any other list of GETs (with ``extra`` interactions first, e.g. the create of a run)."""
        key = (name, len(exchanges))
        if key not in self._sets:
            self._sets[key] = self._write(name, exchanges, extra)
        return self._sets[key]

    def interactions(self, name: str, interactions: list[Interaction]) -> CassetteSet:
        """Arbitrary interactions (SSE streams)."""
        key = (name, len(interactions))
        if key not in self._sets:
            self._sets[key] = self._save(name, [], interactions)
        return self._sets[key]

    def _write(self, name: str, exchanges: list[data.Exchange], extra: Sequence[Interaction] = ()) -> CassetteSet:
        return self._save(name, exchanges, [*extra, *(data.to_interaction(e) for e in exchanges)])

    def _save(self, name: str, exchanges: list[data.Exchange], interactions: list[Interaction]) -> CassetteSet:
        folder = self.root / name
        folder.mkdir(parents=True, exist_ok=True)
        path = save(data.runreplay_cassette(interactions), folder / "runreplay.json")
        return CassetteSet(exchanges, interactions, path)
