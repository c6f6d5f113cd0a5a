"""The virtual clock reaches clock functions bound at import (``from time import sleep``).

A background response is recorded against the emulator over real sockets with the
official openai SDK, then stretched to 30 s, as a slow server would have recorded it.
Pollers in ``_pollers`` bound ``sleep``, ``monotonic``, asyncio's and anyio's ``sleep`` at
import; replayed, they must cost no wall time.
"""

from __future__ import annotations

import asyncio
import importlib
import sys
import time
import warnings
from pathlib import Path

import _pollers
import anyio
import openai
import pytest

from runreplay import RealSleepWarning, use_cassette
from runreplay.cassette import load, save
from runreplay.emulator import Emulator

OFFLINE = "http://127.0.0.1:9/v1"
RECORDED_S = 30.0
ORIGINALS = {
    "sleep": time.sleep,
    "monotonic": time.monotonic,
    "asyncio_sleep": asyncio.sleep,
    "anyio_sleep": anyio.sleep,
}


@pytest.fixture(scope="module")
def slow_response(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("bindings") / "background.json"
    with Emulator(port=0, phase_seconds=0.1) as emulator, use_cassette(path, record_mode="once"):
        client = openai.OpenAI(api_key="sk-test", base_url=emulator.url("openai"))
        created = client.responses.create(model="gpt-4o", input="Hello", background=True)
        done = _pollers.wait(client, created.id, interval=0.02, timeout=10)
    assert done.status == "completed"
    cassette = load(path)
    stretch = RECORDED_S * 1000 / cassette.interactions[-1].at_ms
    for interaction in cassette.interactions:
        interaction.at_ms = int(interaction.at_ms * stretch)
    save(cassette)
    return path, created.id


def _replay_sync(path: Path, response_id: str, timeout: float) -> tuple[str, float, float]:
    client = openai.OpenAI(api_key="sk-test", base_url=OFFLINE)
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("error", RealSleepWarning)
        with use_cassette(path) as session:
            client.responses.create(model="gpt-4o", input="Hello", background=True)
            status = _pollers.wait(client, response_id, interval=1.0, timeout=timeout).status
    return status, time.perf_counter() - started, session.virtual_seconds


def test_a_poller_bound_at_import_replays_30_seconds_at_once(slow_response: tuple[Path, str]) -> None:
    path, response_id = slow_response
    status, wall, virtual = _replay_sync(path, response_id, timeout=120)
    assert status == "completed"
    assert virtual >= RECORDED_S - 1
    assert wall < 0.5, f"{virtual:.0f} s of polling took {wall:.2f} s of wall time"


def test_a_deadline_bound_at_import_runs_on_virtual_time(slow_response: tuple[Path, str]) -> None:
    path, response_id = slow_response
    started = time.perf_counter()
    with pytest.raises(TimeoutError, match=r"still (queued|in_progress) after 10 s"):
        _replay_sync(path, response_id, timeout=10)
    assert time.perf_counter() - started < 0.5


@pytest.mark.parametrize("sleeper", ["asyncio", "anyio"])
async def test_an_async_poller_bound_at_import_replays_at_once(slow_response: tuple[Path, str], sleeper: str) -> None:
    path, response_id = slow_response
    client = openai.AsyncOpenAI(api_key="sk-test", base_url=OFFLINE)
    started = time.perf_counter()
    with use_cassette(path) as session:
        await client.responses.create(model="gpt-4o", input="Hello", background=True)
        done = await _pollers.await_response(client, response_id, interval=1.0, timeout=120, sleeper=sleeper)
    wall = time.perf_counter() - started
    assert done.status == "completed"
    assert session.virtual_seconds >= RECORDED_S - 1
    assert wall < 0.5, f"{session.virtual_seconds:.0f} s of polling took {wall:.2f} s of wall time"


def _bindings() -> dict[str, object]:
    return {
        "sleep": _pollers.sleep,
        "monotonic": _pollers.monotonic,
        "asyncio_sleep": _pollers.asyncio_sleep,
        "anyio_sleep": _pollers.anyio_sleep,
    }


def test_bindings_are_replaced_inside_and_restored_exactly(slow_response: tuple[Path, str], tmp_path: Path) -> None:
    path, _ = slow_response
    late = tmp_path / "late_poller.py"
    late.write_text("from time import monotonic, sleep\n")
    sys.path.insert(0, str(tmp_path))
    try:
        with use_cassette(path, unused="ignore"):
            inside = _bindings()
            module = importlib.import_module("late_poller")  # imported during the replay
            before = (module.monotonic(), time.perf_counter())
            module.sleep(5)
            assert module.monotonic() - before[0] >= 5
            assert time.perf_counter() - before[1] < 1, "perf_counter stays real: it measures real durations"
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("late_poller", None)
    assert all(inside[name] is not ORIGINALS[name] for name in ORIGINALS)
    assert _bindings() == ORIGINALS
    assert (time.sleep, asyncio.sleep, anyio.sleep) == (
        ORIGINALS["sleep"],
        ORIGINALS["asyncio_sleep"],
        ORIGINALS["anyio_sleep"],
    )
    assert (module.sleep, module.monotonic) == (ORIGINALS["sleep"], ORIGINALS["monotonic"])


def test_a_real_sleep_out_of_reach_is_warned_about(slow_response: tuple[Path, str]) -> None:
    path, response_id = slow_response
    client = openai.OpenAI(api_key="sk-test", base_url=OFFLINE)
    warned = pytest.warns(RealSleepWarning, match=r"sat idle for \d\.\d s of real time")
    with warned as record, use_cassette(path, replay_mode="fast", unused="ignore"):
        client.responses.create(model="gpt-4o", input="Hello", background=True)
        assert _pollers.wait_pausing_with(client, response_id, interval=0.6).status == "completed"
    assert str(path) in str(record[0].message)


@pytest.mark.parametrize(
    ("cpu_share", "counted"),
    [(0.0, True), (0.05, True), (0.33, False), (1.0, False)],
    ids=["asleep", "nearly-asleep", "crowded-machine", "busy"],
)
def test_only_a_stretch_without_cpu_counts_as_a_real_wait(
    monkeypatch: pytest.MonkeyPatch, cpu_share: float, counted: bool
) -> None:
    """A process kept waiting for a CPU on a crowded machine (a third of the wall time on the
    CPU, as with three runnable processes per core) has not slept; one with next to no CPU has."""
    from runreplay.engine import clock as clock_module

    readings = iter([(100.0, 10.0), (100.6, 10.0 + 0.6 * cpu_share)])
    wall, cpu = zip(*readings, strict=True)
    monkeypatch.setattr(clock_module, "_real_monotonic", iter(wall).__next__)
    monkeypatch.setattr(clock_module, "_real_process_time", iter(cpu).__next__)
    virtual = clock_module.VirtualClock(start_epoch=0.0)
    virtual.touch()
    virtual.touch()
    assert (virtual.idle_s > 0) is counted
