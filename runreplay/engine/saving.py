"""Writing recorded interactions into a cassette: one way, for the plugin and ``runreplay record``.

New interactions continue the cassette's timeline after what it already holds (unless
it is being rewritten), are scrubbed before anything reaches disk, and the file gets its
meta (runreplay version, provider, client SDK, when it was recorded) and its timelines
for readers. ``before_record_request`` / ``before_record_response`` hooks (the options of the
same names) see each interaction after scrubbing, and what they return is scrubbed again, so a
hook cannot put a secret back. Loading the current file, merging and writing happen under one lock on the
cassette's folder, so concurrent writers (xdist workers, the processes of a recorded
command) add to each other's work instead of overwriting it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runreplay._version import __version__
from runreplay.cassette import Cassette, Interaction, Request, Response, load, save
from runreplay.engine.scrub import Scrubber
from runreplay.engine.timeline import timelines_json
from runreplay.errors import ConfigError
from runreplay.providers import detect_client, detect_provider


@dataclass(frozen=True)
class RecordHooks:
    """The user's last word on each interaction before it is written (VCR.py's ``before_record_*``)."""

    request: Callable[[Request], Request | None] | None = None
    response: Callable[[Response], Response | None] | None = None

    def __bool__(self) -> bool:
        return self.request is not None or self.response is not None

    def apply(self, recorded: list[Interaction], where: str) -> list[Interaction]:
        """The interactions the hooks keep, as they return them (None from either drops one)."""
        kept = []
        for item in recorded:
            request = _called(self.request, item.request, Request, "before_record_request", where)
            response = _called(self.response, item.response, Response, "before_record_response", where)
            if request is not None and response is not None:
                item.request, item.response = request, response
                kept.append(item)
        return kept


def _called(hook: Callable[[Any], Any] | None, value: Any, kind: type, name: str, where: str) -> Any:
    if hook is None:
        return value
    result = hook(value)
    if result is not None and not isinstance(result, kind):
        raise ConfigError(
            f"{where}: {name} must return a runreplay.{kind.__name__} or None, not {type(result).__name__}"
        )
    return result


def save_recording(
    target: Path,
    recorded: list[Interaction],
    *,
    started_at: float,
    fresh: bool,
    scrubber: Scrubber | None,
    meta: Mapping[str, Any] | None = None,
    replace_once: str | None = None,
    hooks: RecordHooks | None = None,
) -> Cassette:
    """Add ``recorded`` to the cassette at ``target`` (or replace its content when ``fresh``).

    With nothing recorded, a missing or ``fresh`` cassette is written empty: a test that
    made no request replays from it.

    ``recorded`` interactions carry times relative to ``started_at`` (seconds since the
    epoch); they are sorted, shifted to continue the cassette's timeline and scrubbed in
    place. ``meta`` adds to the cassette's meta. ``replace_once`` names a recording run (a
    pytest session and its xdist workers): within it, only the first writer of a cassette
    replaces it, later ones add to it, so tests sharing a cassette under ``rewrite`` keep
    each other's recordings. Returns the cassette as written.
    """
    with directory_lock(target.parent):
        if fresh and replace_once is not None and not _first_rewrite(target, replace_once):
            fresh = False
        base = load(target) if not fresh and target.exists() else Cassette()
        if not recorded and target.exists() and not fresh:
            return base  # nothing to add
        # Streams are recorded when they end; the cassette keeps the order requests were sent in.
        recorded.sort(key=lambda item: item.at_ms)
        start_ms = recorded[0].at_ms if recorded else 0
        first_at = started_at + start_ms / 1000
        delta = (base.interactions[-1].at_ms if base.interactions else 0) - start_ms
        for item in recorded:
            item.shift(delta)
        if scrubber is not None:
            scrubber.interactions(recorded)  # secrets never reach disk
        if hooks:
            # After scrubbing, so a hook never sees a secret; scrubbed again, so none comes back.
            recorded[:] = hooks.apply(recorded, str(target))
            if scrubber is not None:
                scrubber.interactions(recorded)
            if not recorded:
                return base
        interactions = [*base.interactions, *recorded]
        merged_meta = dict(base.meta)
        merged_meta["runreplay"] = __version__
        merged_meta["provider"] = merged_meta.get("provider") or detect_provider(recorded)
        client = detect_client(recorded)
        if client:
            merged_meta["client"] = client
        if not merged_meta.get("recorded_at"):
            merged_meta["recorded_at"] = dt.datetime.fromtimestamp(first_at, dt.UTC).isoformat(timespec="milliseconds")
        merged_meta.update(meta or {})
        cassette = Cassette(interactions, merged_meta, target, timelines_json(interactions))
        save(cassette, target)
    return cassette


_REWRITES = Path(tempfile.gettempdir()) / "runreplay-rewrites"


def _first_rewrite(target: Path, run: str) -> bool:
    """Whether ``target`` is rewritten for the first time in recording run ``run`` (and mark it so).

    Called under the folder lock. The marks live in the temporary folder, one folder per run;
    runs older than a day are swept away.
    """
    folder = _REWRITES / hashlib.sha256(run.encode()).hexdigest()[:16]
    if not folder.is_dir():
        _sweep(_REWRITES)
        folder.mkdir(parents=True, exist_ok=True)
    mark = folder / hashlib.sha256(str(target.resolve()).encode()).hexdigest()[:32]
    try:
        mark.touch(exist_ok=False)
    except FileExistsError:
        return False
    return True


def _sweep(root: Path, older_than_s: float = 86_400) -> None:
    with contextlib.suppress(OSError):
        for folder in root.iterdir():
            if time.time() - folder.stat().st_mtime > older_than_s:
                shutil.rmtree(folder, ignore_errors=True)


def recorded_epoch(cassette: Cassette) -> float | None:
    """Wall time (seconds since the epoch) of the cassette's first recorded request."""
    stamp = cassette.meta.get("recorded_at")
    if not isinstance(stamp, str):
        return None
    try:
        return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


@contextlib.contextmanager
def directory_lock(folder: Path) -> Iterator[None]:
    """Serialise writers in one folder across processes (pytest-xdist workers)."""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: the atomic rename still prevents torn files
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
