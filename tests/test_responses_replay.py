"""A background response replays as a lifecycle: every replay mode, any poll rate, faults in its
stream with this family's error event. Recorded once from the emulator with openai-python."""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Any

import openai
import pytest

from runreplay import Body, Headers, Response, StreamOptions, load, save, use_cassette
from runreplay.emulator import Emulator

OFFLINE = "http://127.0.0.1:9/v1"


def _client(base_url: str) -> openai.OpenAI:
    return openai.OpenAI(api_key="sk-test", base_url=base_url, max_retries=0)


def _poll(base_url: str, interval: float) -> tuple[list[str], int]:
    client = _client(base_url)
    response = client.responses.create(model="gpt-4.1-mini", input="Hello", background=True)
    seen, polls = [response.status], 0
    while response.status in ("queued", "in_progress"):
        time.sleep(interval)
        response = client.responses.retrieve(response.id)
        polls += 1
        if response.status != seen[-1]:
            seen.append(response.status)
    return seen, polls


def _stream(base_url: str) -> list[Any]:
    stream = _client(base_url).responses.create(model="gpt-4.1-mini", input="Tell me a story", stream=True)
    return [(event.type, getattr(event, "message", None)) for event in stream]


@pytest.fixture(scope="module")
def cassettes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("responses")
    paths = {"poll": folder / "poll.json", "stream": folder / "stream.json"}
    with Emulator(port=0, phase_seconds=0.3) as emulator:
        with use_cassette(paths["poll"], record_mode="once"):
            seen, _ = _poll(emulator.url("openai-responses"), 0.1)
        assert seen == ["queued", "in_progress", "completed"]
        with use_cassette(paths["stream"], record_mode="once"):
            _stream(emulator.url("openai-responses"))
    return paths


@pytest.mark.parametrize("mode", ["timeline", "sequence", "fast"])
@pytest.mark.parametrize("interval", [0.01, 0.1, 5.0])
def test_any_poll_rate_reaches_the_recorded_end_in_every_mode(
    cassettes: dict[str, Path], mode: str, interval: float
) -> None:
    started = time.perf_counter()
    with use_cassette(cassettes["poll"], replay_mode=mode, unused="ignore") as session:
        seen, polls = _poll(OFFLINE, interval)
    assert time.perf_counter() - started < 1.0  # sleeps cost no wall time
    assert seen[0] == "queued" and seen[-1] == "completed"
    if mode != "timeline" or interval <= 0.1:
        assert seen == ["queued", "in_progress", "completed"]  # a slow poller may sleep past a phase
    (resource,) = session.resources
    assert resource.timeline.kind == "response" and resource.finished and resource.polls == polls
    if mode == "timeline":
        assert session.virtual_seconds >= interval * polls


def test_a_fault_injects_the_responses_error_event(cassettes: dict[str, Path]) -> None:
    with use_cassette(cassettes["stream"], streams=StreamOptions(error_at=3)):
        events = _stream(OFFLINE)
    assert events[3] == ("error", "runreplay: injected stream error")
    assert events[-1][0] == "response.completed"


def test_a_recorded_rate_limit_is_waited_out_in_virtual_time(cassettes: dict[str, Path], tmp_path: Path) -> None:
    """A poll that was answered 429 with retry-after: the SDK waits 30 s of virtual time, then retries."""
    cassette = load(cassettes["poll"])
    first_poll = next(n for n, i in enumerate(cassette.interactions) if i.request.method == "GET")
    limited = copy.deepcopy(cassette.interactions[first_poll])
    limited.response = Response(
        429,
        Headers([("content-type", "application/json"), ("retry-after", "30")]),
        Body.json({"error": {"message": "Rate limit reached", "type": "requests", "param": None, "code": None}}),
    )
    for later in cassette.interactions[first_poll:]:
        later.shift(30_000)
    cassette.interactions.insert(first_poll, limited)
    path = save(cassette, tmp_path / "limited.json")
    client = openai.OpenAI(api_key="sk-test", base_url=OFFLINE, max_retries=2)
    started = time.perf_counter()
    with use_cassette(path, replay_mode="sequence", unused="ignore") as session:  # the first poll meets the 429
        response = client.responses.create(model="gpt-4.1-mini", input="Hello", background=True)
        response = client.responses.retrieve(response.id)
    assert time.perf_counter() - started < 1.0
    assert 29 <= session.virtual_seconds <= 32
    (resource,) = session.resources
    assert resource.states[:2] == ["queued", "http_429"] and resource.polls == 2  # the 429, then the retry
    assert response.status in ("queued", "in_progress", "completed")
