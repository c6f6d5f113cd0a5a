"""A virtual clock for replay: sleeps cost no wall time and move time forward instead.

Wall-clock time (``time.time``, ``datetime.now`` and friends) is moved by time-machine,
which patches them at the C level. time-machine leaves ``time.monotonic`` alone, so this
module shifts it by the same offset. ``time.sleep``, ``asyncio.sleep`` and ``anyio.sleep``
(what async openai sleeps with) advance both and return at once; async sleeps still
yield to the event loop once, so other tasks keep running.

Time keeps ticking at the real rate between sleeps, so nothing ever goes backwards. The
asyncio event loop keeps the real monotonic clock for its own timers: a virtual jump
must not fire unrelated timeouts early.
"""

from __future__ import annotations

import asyncio
import asyncio.base_events
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any
from unittest import mock

import time_machine

_real_sleep = time.sleep
_real_monotonic = time.monotonic
_real_monotonic_ns = time.monotonic_ns
_real_asyncio_sleep = asyncio.sleep


class VirtualClock:
    """Patch the process's clocks while active. Use as a context manager."""

    def __init__(self, start_epoch: float | None = None) -> None:
        self.start_epoch = start_epoch if start_epoch is not None else time.time()
        self._offset_ns = 0
        self._lock = threading.Lock()
        self._stack: ExitStack | None = None
        self._traveller: Any = None
        #: Seconds of sleeps skipped, how many, and seconds charged for replayed exchanges.
        self.slept_s = 0.0
        self.sleeps = 0
        self.charged_s = 0.0

    # ------------------------------------------------------------------ readings

    @property
    def offset_s(self) -> float:
        return self._offset_ns / 1e9

    def monotonic(self) -> float:
        return _real_monotonic() + self._offset_ns / 1e9

    def monotonic_ns(self) -> int:
        return _real_monotonic_ns() + self._offset_ns

    def now_ms(self) -> int:
        """Virtual milliseconds on the monotonic clock (for timelines)."""
        return self.monotonic_ns() // 1_000_000

    # ------------------------------------------------------------------ moving

    def advance(self, seconds: float) -> None:
        """Move virtual time forward (both the wall clock and the monotonic clock)."""
        if seconds <= 0:
            return
        with self._lock:
            self._offset_ns += int(seconds * 1e9)
            if self._traveller is not None:
                self._traveller.shift(seconds)  # a number of seconds: cheaper than a timedelta

    def charge(self, seconds: float) -> None:
        """Time a replayed exchange took when it was recorded."""
        self.advance(seconds)
        self.charged_s += max(seconds, 0.0)

    def sleep(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")
        self.advance(seconds)
        self.slept_s += seconds
        self.sleeps += 1

    async def async_sleep(self, seconds: float, result: Any = None) -> Any:
        self.sleep(max(seconds, 0.0))
        return await _real_asyncio_sleep(0, result)

    # ------------------------------------------------------------------ patching

    def __enter__(self) -> VirtualClock:
        stack = ExitStack()
        travel = time_machine.travel(self.start_epoch, tick=True)
        self._traveller = stack.enter_context(travel)
        patches: list[tuple[Any, str, Callable[..., Any]]] = [
            (time, "sleep", self.sleep),
            (time, "monotonic", self.monotonic),
            (time, "monotonic_ns", self.monotonic_ns),
            (asyncio, "sleep", self.async_sleep),
            (asyncio.tasks, "sleep", self.async_sleep),
            # The event loop schedules its own timers on the real clock.
            (asyncio.base_events.BaseEventLoop, "time", lambda _loop: _real_monotonic()),
        ]
        try:
            import anyio

            patches.append((anyio, "sleep", self.async_sleep))
        except ImportError:  # pragma: no cover - anyio comes with httpx
            pass
        for target, name, replacement in patches:
            stack.enter_context(mock.patch.object(target, name, replacement))
        self._stack = stack
        return self

    def __exit__(self, *exc: object) -> None:
        if self._stack is not None:
            self._stack.close()
            self._stack = None
            self._traveller = None


def real_sleep(seconds: float) -> None:
    """Sleep on the wall clock even while a virtual clock is active (for tests of the clock)."""
    _real_sleep(seconds)
