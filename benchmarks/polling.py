"""A recorded 60 s polling lifecycle replayed through the openai SDK's ``create_and_poll``.

The recording is what the SDK does against the live API: create a run (queued), poll it at
once, then every second (its default interval) until it completes, each exchange taking
its time (``duration_ms``). runreplay replays it on the virtual clock (timeline mode, the
default): the SDK's ``time.sleep(1)`` returns at once, and every poll gets the state recorded
at that virtual time. The measured time is the whole ``with use_cassette(...)`` block:
loading the cassette, patching, the replay, and the checks on exit.

VCR.py replays the same exchanges with the SDK really sleeping. In full mode it replays the
60 s lifecycle; in quick mode a shorter one (a few seconds of polls) and the result is
scaled to 60 s by the number of polls, which is what its wall time is made of. The floor is
the SDK polling a MockTransport with its sleeps patched out: the least the same client loop
can cost.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from unittest import mock

from benchmarks import data
from benchmarks.clients import Driver
from benchmarks.files import CassetteSet, Files
from benchmarks.harness import FLOOR, MS, PEER, SUBJECT, Case, Target, Variant, clock
from runreplay import use_cassette
from runreplay.cassette import Body, Headers, Interaction, Request, Response, encode_body

THREAD, RUN, ASSISTANT = "thread_bench_poll00000000000", "run_bench_poll000000000000", "asst_bench000000000000000000"
CREATE_MS, POLL_MS, INTERVAL_MS = 150, 120, 1000
#: 60 s of recorded polling must replay in under 50 ms of wall time.
TARGET_SECONDS = 0.050


def lifecycle(seconds: float) -> tuple[Interaction, list[data.Exchange]]:
    """The create and the polls of a run that completes after ``seconds`` of polling."""
    payload = data.run_object(RUN, THREAD, "queued")
    create = Interaction(
        Request(
            "POST",
            f"{data.BASE_URL}/threads/{THREAD}/runs",
            Headers([*data.REQUEST_HEADERS, ("content-type", "application/json")]),
            Body.json({"assistant_id": ASSISTANT}),
        ),
        Response(200, Headers(data.response_headers(0)), Body.json(payload), reason="OK"),
        at_ms=0,
        duration_ms=CREATE_MS,
    )
    polls = []
    now = CREATE_MS
    index = 0
    while True:
        done = now >= seconds * 1000
        status = "completed" if done else "in_progress"
        payload = data.run_object(RUN, THREAD, status, index)
        body = data.compact(payload)
        path = data.run_path(THREAD, RUN)
        polls.append(data.Exchange(path, 200, data.response_headers(index + 1), body, payload, now, POLL_MS))
        if done:
            return create, polls
        now += POLL_MS + INTERVAL_MS
        index += 1


def recorded_ms(polls: list[data.Exchange]) -> int:
    return polls[-1].at_ms + polls[-1].duration_ms


def cases(files: Files, seconds: float, vcr_seconds: float) -> list[Case]:
    create, polls = lifecycle(seconds)
    cset = files.exchanges(f"lifecycle_{seconds:g}s", polls, [create])
    if vcr_seconds < seconds:
        short_create, short_polls = lifecycle(vcr_seconds)
        vcr_set = files.exchanges(f"lifecycle_{vcr_seconds:g}s", short_polls, [short_create])
        scale = len(polls) / len(short_polls)
        note = f"real sleeps; {len(short_polls) - 1} s lifecycle, scaled x{scale:.1f} to {len(polls) - 1} s"
    else:
        vcr_set, scale, note = cset, 1.0, "real sleeps"
    driver = Driver("openai")
    variants = [
        Variant(FLOOR, FLOOR, _floor(driver, create, polls), note="MockTransport, sleeps patched out"),
        Variant(SUBJECT, SUBJECT, _runreplay(driver, cset, seconds), note="virtual clock, timeline mode"),
        # Its cost is the sleeps; a warm-up would only add another minute.
        Variant("VCR.py JSON", PEER, _vcr(driver, vcr_set, scale), note=note, warmup=False),
    ]
    label = f"openai create_and_poll, {recorded_ms(polls) / 1000:.1f} s recorded, {len(polls)} polls"
    params = {"recorded_seconds": recorded_ms(polls) / 1000, "polls": len(polls), "vcr_scale": scale}
    target = Target(SUBJECT, TARGET_SECONDS, versus=None)
    return [Case("polling lifecycle", label, MS, variants, [target], params=params)]


def _create_and_poll(driver: Driver) -> Any:
    run = driver.client.beta.threads.runs.create_and_poll(thread_id=THREAD, assistant_id=ASSISTANT)
    if run.status != "completed":
        raise AssertionError(f"the replayed run ended {run.status!r}, not 'completed'")
    return run


def _floor(driver: Driver, create: Interaction, polls: list[data.Exchange]) -> Callable[[], float]:
    replies = [(200, create.response.headers.items(), encode_body(create.response.body))]
    replies += [(p.status_code, p.headers, p.body) for p in polls]

    def run() -> float:
        driver.floor.queue(replies)
        with mock.patch("time.sleep"):
            start = clock()
            _create_and_poll(driver)
            return (clock() - start) / 1e9

    return run


def _runreplay(driver: Driver, cset: CassetteSet, seconds: float) -> Callable[[], float]:
    def run() -> float:
        start = clock()
        with use_cassette(cset.runreplay) as session:
            _create_and_poll(driver)
        elapsed = (clock() - start) / 1e9
        if session.virtual_seconds < seconds * 0.9:
            raise AssertionError(f"only {session.virtual_seconds:.1f} virtual seconds passed")
        return elapsed

    return run


def _vcr(driver: Driver, cset: CassetteSet, scale: float) -> Callable[[], float]:
    import vcr

    # Plain use_cassette, loading included: the whole block is what a test pays.
    instance = vcr.VCR(record_mode="none")

    def run() -> float:
        start = clock()
        with instance.use_cassette(str(cset.vcr_json), serializer="json"):
            _create_and_poll(driver)
        return (clock() - start) / 1e9 * scale

    return run
