"""Per-request replay cost: GETs of a 2 KB run replayed through httpx, httpx2 and the openai SDK
(and through requests and aiohttp, against VCR.py only, at the smallest N).

Two patterns, each at several cassette lengths N:

``poll``
    one run polled N times (``GET /threads/t/runs/r``), N recorded states. runreplay answers
    these from the run's lifecycle timeline. The headline variant uses ``replay_mode="sequence"``
    (the n-th poll gets the n-th recorded state), which is what VCR.py and the floor do, so
    all serve the same bytes; the default ``timeline`` mode is measured beside it. The
    benchmark loop does not sleep, so in timeline mode virtual time moves only by each
    exchange's recorded duration and the same state may be served several times; the
    cost of choosing it is what is measured.
``distinct``
    N different runs, one GET each: every request has its own URL (each run is a one-state
    timeline in runreplay).

Every variant times the same requests (``harness.spread`` positions): all of them for small N,
an even sample for large N (and a coarser one for VCR.py, whose cost per request is
proportional to the position; even sampling charges it its true average). For ``poll``, the
engine is brought to the state it would be in after the skipped polls before each timed one:
runreplay answers the skipped polls itself (``Session.respond``, untimed), VCR.py gets those
interactions marked as played (its own ``play_counts``), the floor is simply handed the
sampled replies.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, ClassVar

from benchmarks import data
from benchmarks.clients import CLIENTS, UNFLOORED, Driver
from benchmarks.files import CassetteSet, Files
from benchmarks.harness import FLOOR, GROWTH, PEER, SUBJECT, US_PER_REQ, Case, Row, Target, Variant, clock, spread
from runreplay import Session
from runreplay.cassette import Cassette, Request

PATTERNS = ("poll", "distinct")
#: Per-request replay must stay within this factor of the MockTransport floor.
TARGET_X_FLOOR = 1.5


class PreloadedSession(Session):
    """A runreplay session whose cassette file is parsed once per benchmark run.

    Per-request replay cost is what these cases measure (loading has its own measurement),
    and re-reading a 45 MB cassette before every repetition would only make the run longer.
    Everything else a session does on construction (matcher keys, timelines) still happens
    per repetition. Replay never mutates the loaded interactions, so sharing them is safe.
    If ``Session`` stops loading through ``_load_existing``, this silently becomes a plain
    session: slower to set up, measuring the same thing.
    """

    _loaded: ClassVar[dict[Path, Cassette]] = {}

    def _load_existing(self) -> Cassette:
        cassette = self._loaded.get(self.path)
        if cassette is None:
            cassette = self._loaded[self.path] = super()._load_existing()
        self._existed = True
        return cassette


class VcrPlayer:
    """A VCR.py cassette configured by ``vcr.VCR(record_mode="none").use_cassette(...)``, loaded once.

    ``play()`` does what ``use_cassette`` does on entry and exit (VCR.py's own patcher builder
    over the cassette) after ``rewind()``, which resets what was played: the same state as a
    freshly loaded cassette, without re-parsing the file and deep-copying every response
    before each repetition (VCR.py's load cost is measured in the load cases).
    """

    _shared: ClassVar[dict[tuple[Path, str, str], VcrPlayer]] = {}

    @classmethod
    def shared(cls, path: Path, serializer: str, **options: Any) -> VcrPlayer:
        """One player per file and options, used by every client's case (each replay rewinds it)."""
        key = (path, serializer, repr(sorted(options.items())))
        if key not in cls._shared:
            cls._shared[key] = cls(path, serializer, **options)
        return cls._shared[key]

    def __init__(self, path: Path, serializer: str, **options: Any) -> None:
        import vcr

        config = vcr.VCR(record_mode="none").get_merged_config(path=str(path), serializer=serializer, **options)
        for key in ("path_transformer", "func_path_generator", "record_on_exception"):
            config.pop(key, None)  # use_cassette's own arguments, not the cassette's
        self._config = config
        self._cassette: Any = None

    @contextmanager
    def play(self) -> Iterator[Any]:
        from vcr.cassette import Cassette as VcrCassette
        from vcr.patch import CassettePatcherBuilder

        if self._cassette is None:
            self._cassette = VcrCassette.load(**self._config)
        cassette = self._cassette
        cassette.rewind()
        with ExitStack() as stack:
            for patcher in CassettePatcherBuilder(cassette).build():
                stack.enter_context(patcher)
            yield cassette


def timed_gets(
    get: Callable[[str], Any],
    exchanges: list[data.Exchange],
    positions: list[int],
    skip: Callable[[int], None] | None = None,
    after: Callable[[int], None] | None = None,
) -> float:
    """Seconds per request over ``positions``; ``skip`` advances the engine past unsampled polls."""
    total = 0
    previous = -1
    for index in positions:
        if skip is not None:
            for skipped in range(previous + 1, index):
                skip(skipped)
        path = exchanges[index].path
        start = clock()
        get(path)
        if after is not None:
            after(index)
        total += clock() - start
        previous = index
    return total / len(positions) / 1e9


def floor_variant(driver: Driver, cset: CassetteSet, positions: list[int], name: str = FLOOR) -> Variant:
    exchanges = cset.exchanges

    def run() -> float:
        driver.floor.queue([(exchanges[i].status_code, exchanges[i].headers, exchanges[i].body) for i in positions])
        return timed_gets(driver.get, exchanges, positions)

    return Variant(name, FLOOR, run, note="MockTransport")


def runreplay_variant(
    driver: Driver,
    cset: CassetteSet,
    positions: list[int],
    pattern: str,
    mode: str,
    name: str = SUBJECT,
    after: Callable[[int], None] | None = None,
) -> Variant:
    exchanges = cset.exchanges

    def run() -> float:
        session = PreloadedSession(cset.runreplay, replay_mode=mode, unused="ignore")
        with session:
            skip = None
            if pattern == "poll":

                def skip(index: int) -> None:
                    session.respond(Request("GET", data.BASE_URL + exchanges[index].path))

            return timed_gets(driver.get, exchanges, positions, skip, after)

    return Variant(name, SUBJECT, run, note=f"{mode} mode")


def vcr_variant(
    driver: Driver, cset: CassetteSet, positions: list[int], pattern: str, serializer: str, sampled: bool
) -> Variant:
    player = VcrPlayer.shared(cset.vcr(serializer), serializer, allow_playback_repeats=False)
    exchanges = cset.exchanges

    def run() -> float:
        with player.play() as cassette:
            skip = None
            if pattern == "poll":

                def skip(index: int) -> None:
                    cassette.play_counts[index] = 1

            return timed_gets(driver.get, exchanges, positions, skip)

    note = f"{len(positions)} sampled requests" if sampled else ""
    return Variant(f"VCR.py {serializer.upper()}", PEER, run, note=note)


def cases(
    files: Files,
    sizes: tuple[int, ...],
    requests: int,
    vcr_requests: dict[int, int],
    vcr_formats: tuple[str, ...] = ("yaml", "json"),
) -> list[Case]:
    """One case per client, pattern and size; ``requests`` caps the timed requests per repetition."""
    out = []
    drivers = {name: Driver(name) for name in CLIENTS + UNFLOORED}
    for pattern in PATTERNS:
        for size in sizes:
            cset = files.polling(pattern, size)
            positions = spread(size, requests)
            vcr_positions = spread(size, vcr_requests.get(size, requests))
            # requests and aiohttp have no floor to be flat against: their smallest cassette only.
            for client in CLIENTS + (UNFLOORED if size == sizes[0] else ()):
                driver = drivers[client]
                floored = client not in UNFLOORED
                variants = [floor_variant(driver, cset, positions)] if floored else []
                # Distinct URLs are one-state timelines: the mode changes nothing, so the default is used.
                mode = "sequence" if pattern == "poll" else "timeline"
                variants.append(runreplay_variant(driver, cset, positions, pattern, mode))
                targets = [Target(SUBJECT, TARGET_X_FLOOR)] if floored else []
                if pattern == "poll":
                    name = "runreplay timeline"
                    timeline = runreplay_variant(driver, cset, positions, pattern, "timeline", name=name)
                    variants.append(timeline)
                    if floored:
                        targets.append(Target(timeline.name, TARGET_X_FLOOR))
                sampled = len(vcr_positions) < size
                # VCR.py replays YAML and JSON cassettes from the same parsed interactions (same cost);
                # at the largest size only JSON is replayed, to keep the run short.
                formats = ("json",) if size >= 10_000 else vcr_formats
                variants += [vcr_variant(driver, cset, vcr_positions, pattern, f, sampled) for f in formats]
                label = f"{client} {pattern} N={size:,}"
                params = {"client": client, "pattern": pattern, "size": size, "timed_requests": len(positions)}
                out.append(Case("replay", label, US_PER_REQ, variants, targets, vcr="VCR.py JSON", params=params))
    return out


#: Per-request cost, relative to the floor, may grow at most this much from the shortest cassette to the longest.
FLAT_LIMIT = 1.25


def flatness(rows: list[Row]) -> list[Row]:
    """Per client and pattern: each variant's x-floor ratio at the largest N over the one at the smallest.

    Ratios to the floor are taken within one interleaved case, so they are steady; raw times
    of two cases run minutes apart are not (a busy neighbour moves both floor and engine).
    A flat engine scores about 1.0; VCR.py's linear scan scores about N_max / N_min.
    """
    replay = [r for r in rows if r.measurement == "replay" and r.samples]
    out = []
    groups = sorted({(r.params["client"], r.params["pattern"]) for r in replay})
    for client, pattern in groups:
        mine = [r for r in replay if r.params["client"] == client and r.params["pattern"] == pattern]
        sizes = sorted({r.params["size"] for r in mine})
        if len(sizes) < 2:
            continue
        smallest, largest = sizes[0], sizes[-1]
        for name in dict.fromkeys(r.variant for r in mine if r.role != FLOOR):
            low = next((r for r in mine if r.variant == name and r.params["size"] == smallest), None)
            high = next((r for r in mine if r.variant == name and r.params["size"] == largest), None)
            if low is None or high is None or not low.x_floor or not high.x_floor:
                continue
            growth = high.x_floor / low.x_floor
            row = Row(
                "replay flatness",
                f"{client} {pattern}: x floor at N={largest:,} / at N={smallest:,}",
                name,
                low.role,
                GROWTH,
                [growth],
                note=low.note,
                params={"client": client, "pattern": pattern, "from": smallest, "to": largest},
            )
            if low.role == SUBJECT:
                row.target = f"<= {FLAT_LIMIT:g}x (flat)"
                row.verdict = "pass" if growth <= FLAT_LIMIT else "miss"
            out.append(row)
    return out
