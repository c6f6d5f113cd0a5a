"""SSE replay throughput: a 10,000-event streamed run read line by line, or event by event by the SDK.

runreplay delivers a recorded stream one event per chunk, as the server did. The floor is
the same client over a MockTransport yielding exactly those per-event chunks (the bytes
runreplay's encoder produces for the stored events). VCR.py stores the stream as one body
and replays it as one chunk, so it is not a stream at all; it is shown for scale.

httpx, httpx2 and requests read with ``iter_lines()``, aiohttp iterates ``content`` by line
(requests and aiohttp have no MockTransport: they are measured against VCR.py only); the
openai SDK iterates
``runs.create(..., stream=True)``, parsing each event into its model (that parsing is most
of the SDK's cost, for every variant).
"""

from __future__ import annotations

from collections.abc import Callable

from benchmarks import data
from benchmarks.clients import CLIENTS, UNFLOORED, Driver
from benchmarks.files import CassetteSet, Files
from benchmarks.harness import EVENTS_PER_S, FLOOR, PEER, SUBJECT, Case, Target, Variant, clock
from benchmarks.replay import PreloadedSession, VcrPlayer

#: Replaying a stream must stay within this factor of the per-event MockTransport floor.
TARGET_X_FLOOR = 1.2


def cases(files: Files, events: int) -> list[Case]:
    interaction = data.sse_interaction(events)
    cset = files.interactions(f"sse_{events}", [interaction])
    chunks = data.sse_chunks(interaction)
    headers = interaction.response.headers.items()
    out = []
    for client in CLIENTS + UNFLOORED:
        driver = Driver(client)
        floored = client not in UNFLOORED
        variants = [
            Variant(FLOOR, FLOOR, _floor(driver, headers, chunks, events), note="MockTransport, a chunk per event"),
            Variant(SUBJECT, SUBJECT, _runreplay(driver, cset, events), note="a chunk per event"),
            Variant("VCR.py YAML", PEER, _vcr(driver, cset, "yaml", events), note="one chunk"),
            Variant("VCR.py JSON", PEER, _vcr(driver, cset, "json", events), note="one chunk"),
        ][0 if floored else 1 :]
        reader = {"openai": "events", "aiohttp": "content lines"}.get(client, "iter_lines")
        out.append(
            Case(
                "SSE",
                f"{client} {events:,} events ({reader})",
                EVENTS_PER_S,
                variants,
                [Target(SUBJECT, TARGET_X_FLOOR)] if floored else [],
                vcr="VCR.py JSON",
                params={"client": client, "events": events, "bytes": sum(len(c) for c in chunks)},
            )
        )
    return out


def _per_event(driver: Driver, events: int) -> float:
    start = clock()
    read = driver.stream()
    elapsed = clock() - start
    # iter_lines yields two or more lines per event; the SDK yields every event but the terminator.
    if read < events - 1:
        raise AssertionError(f"read {read} items from a stream of {events} events")
    return elapsed / events / 1e9


def _floor(driver: Driver, headers: list[tuple[str, str]], chunks: list[bytes], events: int) -> Callable[[], float]:
    def run() -> float:
        driver.floor.queue([(200, headers, chunks)])
        return _per_event(driver, events)

    return run


def _runreplay(driver: Driver, cset: CassetteSet, events: int) -> Callable[[], float]:
    def run() -> float:
        with PreloadedSession(cset.runreplay, unused="ignore"):
            return _per_event(driver, events)

    return run


def _vcr(driver: Driver, cset: CassetteSet, serializer: str, events: int) -> Callable[[], float]:
    player = VcrPlayer.shared(cset.vcr(serializer), serializer)

    def run() -> float:
        with player.play():
            return _per_event(driver, events)

    return run
