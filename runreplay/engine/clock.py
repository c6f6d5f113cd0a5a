"""A virtual clock for replay: sleeps cost no wall time and move time forward instead.

Wall-clock time (``time.time``, ``datetime.now`` and friends) is moved by time-machine,
which patches them at the C level, so even ``from time import time`` follows. The other
clocks and the sleeps are Python-level names: ``time.sleep``, ``time.monotonic`` and
``time.monotonic_ns``, ``asyncio.sleep`` and ``anyio.sleep`` (what async openai sleeps
with). They are replaced by dispatchers that ask the active clock, both on their own
modules and wherever a loaded module bound them at import (``from time import sleep``):
see :class:`_Bindings`. Async sleeps still yield to the event loop once, so other tasks
keep running.

``time.perf_counter`` stays real on purpose: it is what code and tests measure real
durations with ("did this replay take under a second?").

Time keeps ticking at the real rate between sleeps, so nothing ever goes backwards. The
asyncio event loop keeps the real monotonic clock for its own timers: a virtual jump
must not fire unrelated timeouts early.

As a safety net the clock notes how long the process sat idle (wall time passing with
little CPU use) between its own events: during a replay nothing waits on the network, so
an idle stretch is almost always a sleep the dispatchers did not reach.
"""

from __future__ import annotations

import asyncio
import asyncio.base_events
import math
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from types import ModuleType
from typing import Any

import time_machine

from runreplay import _real_time

_real_sleep = _real_time.sleep
_real_monotonic = _real_time.monotonic
_real_monotonic_ns = _real_time.monotonic_ns
_real_process_time = _real_time.process_time
_real_asyncio_sleep = _real_time.async_sleep

#: A stretch this long with the process idle counts towards the real-wait total (shorter
#: ones are as likely to be a busy machine not running the process).
IDLE_GAP_S = 0.2
#: ... and only when the process used at most this share of it on the CPU: a process that is
#: ready to run on a crowded machine still gets its share (a third, with three per core), one
#: that sleeps gets next to nothing.
IDLE_CPU_SHARE = 0.1
#: The process's CPU time (a system call, where the monotonic clock is not) is read at most
#: this often between long stretches: replay notes an event per request.
CPU_READ_EVERY_S = 0.05
#: Idle time (seconds) in a replay above which the session warns of a real sleep.
REAL_WAIT_WARN_S = 0.5

# The clocks entered and not yet left, innermost last: the dispatchers serve the innermost.
_active: list[VirtualClock] = []


def _current() -> VirtualClock | None:
    try:
        return _active[-1]
    except IndexError:  # no clock, or the last one left from another thread just now
        return None


# --------------------------------------------------------------------------- dispatchers
# Installed in place of the originals for as long as any clock is active. A module that
# binds one of them while a clock is active keeps a dispatcher that is harmless once
# every clock is gone: it then calls the original.


def _sleep(seconds: float) -> None:
    clock = _current()
    if clock is None:
        _real_sleep(seconds)
    else:
        clock.sleep(seconds)


def _monotonic() -> float:
    clock = _current()
    return _real_monotonic() if clock is None else clock.monotonic()


def _monotonic_ns() -> int:
    clock = _current()
    return _real_monotonic_ns() if clock is None else clock.monotonic_ns()


async def _async_sleep(delay: float, result: Any = None) -> Any:
    clock = _current()
    if clock is None:
        return await _real_asyncio_sleep(delay, result)
    return await clock.async_sleep(delay, result)


def _real_loop_time(self: asyncio.base_events.BaseEventLoop) -> float:
    return _real_monotonic()


def _originals() -> dict[int, tuple[Any, Any]]:
    """``id(original) -> (original, dispatcher)`` for every function the clock replaces."""
    pairs: list[tuple[Any, Any]] = [
        (_real_sleep, _sleep),
        (_real_monotonic, _monotonic),
        (_real_monotonic_ns, _monotonic_ns),
        (_real_asyncio_sleep, _async_sleep),
    ]
    try:
        import anyio

        pairs.append((anyio.sleep, _async_sleep))
    except ImportError:  # pragma: no cover - anyio comes with httpx
        pass
    return {id(original): (original, dispatcher) for original, dispatcher in pairs}


# --------------------------------------------------------------------------- bindings


#: Standard-library modules whose bindings are replaced too (the homes of the originals).
#: The rest of the standard library keeps its own: ``threading`` and ``queue`` bind
#: ``monotonic`` for lock timeouts that really wait.
_STDLIB_HOMES = frozenset({"time", "asyncio", "asyncio.tasks"})
#: Packages whose bindings stay real: runreplay's own, the time travel library, and the
#: test runner (``from time import sleep`` in its own timing helpers).
_KEEP_REAL = ("runreplay", "runreplay_pytest", "time_machine", "_pytest", "pytest", "pluggy", "xdist")


def _scanned(name: str) -> bool:
    top = name.partition(".")[0]
    if name in _STDLIB_HOMES:
        return True
    return top not in sys.stdlib_module_names and top not in _KEEP_REAL


class _Bindings:
    """Every module global bound to an original, replaced by its dispatcher and put back.

    Scanning a module's globals costs a few microseconds, so each module is scanned once
    and remembered (with the size of its namespace, to rescan one that was still being
    imported). Bindings are replaced when the first clock is entered and restored when
    the last one leaves, under a lock, so nested and concurrent sessions share them.
    """

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.depth = 0
        self._targets: dict[int, tuple[Any, Any]] = {}
        #: module name -> (id of the module, size of its namespace or -1 if left alone, names bound to originals)
        self._cache: dict[str, tuple[int, int, tuple[str, ...]]] = {}
        #: (namespace, name, original, dispatcher) replaced while clocks are active
        self._replaced: list[tuple[dict[str, Any], str, Any, Any]] = []
        self._modules_at_enter: set[str] = set()
        self._loop_time: Callable[..., float] = asyncio.base_events.BaseEventLoop.time

    def enter(self) -> None:
        with self.lock:
            self.depth += 1
            if not self._targets:
                self._targets = _originals()
            # Also on nested entries: modules imported since may have bound an original.
            for module, names in self._hits():
                self._replace(module, names)
            if self.depth == 1:
                self._modules_at_enter = set(sys.modules)
                self._loop_time = asyncio.base_events.BaseEventLoop.time
                # The event loop schedules its own timers on the real clock.
                asyncio.base_events.BaseEventLoop.time = _real_loop_time  # type: ignore[method-assign]

    def leave(self) -> None:
        with self.lock:
            self.depth -= 1
            if self.depth:
                return
            for namespace, name, original, dispatcher in reversed(self._replaced):
                if namespace.get(name) is dispatcher:  # the code under test may have rebound it
                    namespace[name] = original
            self._replaced.clear()
            self._unbind_new_modules()
            asyncio.base_events.BaseEventLoop.time = self._loop_time  # type: ignore[method-assign]

    def _hits(self) -> Iterator[tuple[ModuleType, tuple[str, ...]]]:
        for name, module in list(sys.modules.items()):
            cached = self._cache.get(name)
            if cached is not None and cached[0] == id(module) and cached[1] < 0:
                continue  # left alone (the standard library, not a module): nothing to look at
            namespace = getattr(module, "__dict__", None)
            if not isinstance(module, ModuleType) or not isinstance(namespace, dict) or not _scanned(name):
                self._cache[name] = (id(module), -1, ())
                continue
            if cached is None or cached[0] != id(module) or cached[1] != len(namespace):
                cached = (id(module), len(namespace), self._scan(namespace))
                self._cache[name] = cached
            if cached[2]:
                yield module, cached[2]

    def _scan(self, namespace: dict[str, Any]) -> tuple[str, ...]:
        targets = self._targets
        return tuple(key for key, value in namespace.copy().items() if id(value) in targets)

    def _replace(self, module: ModuleType, names: tuple[str, ...]) -> None:
        namespace = module.__dict__
        for name in names:
            value = namespace.get(name)
            pair = self._targets.get(id(value))
            if pair is not None and pair[0] is value:
                namespace[name] = pair[1]
                self._replaced.append((namespace, name, value, pair[1]))

    def _unbind_new_modules(self) -> None:
        """Modules imported while a clock was active bound dispatchers: give them the originals.

        A dispatcher standing for two originals (the async sleeps) is left in place: with
        no clock active it calls the original anyway.
        """
        back: dict[int, Any] = {}
        for original, dispatcher in self._targets.values():
            back[id(dispatcher)] = None if id(dispatcher) in back else original
        for name in set(sys.modules) - self._modules_at_enter:
            namespace = getattr(sys.modules.get(name), "__dict__", None)
            if not isinstance(namespace, dict) or not _scanned(name):
                continue
            for key, value in namespace.copy().items():
                original = back.get(id(value))
                if original is not None and self._targets[id(original)][1] is value:
                    namespace[key] = original
        self._modules_at_enter = set()


_BINDINGS = _Bindings()


# --------------------------------------------------------------------------- the clock


class VirtualClock:
    """Patch the process's clocks while active. Use as a context manager.

    A clock that is never entered patches nothing: it is a private timeline that only
    :meth:`advance` (and the real time passing) moves, read through :meth:`now_ms`.
    ``runreplay serve`` gives each cassette one, so that several replay side by side
    without touching the process's time (its clients run in other processes).
    """

    def __init__(self, start_epoch: float | None = None, *, watch_idle: bool = True) -> None:
        #: Whether to note idle stretches; off for a clock that is not the process's own
        #: (a server's: its clients' waits happen in other processes).
        self.watch_idle = watch_idle
        self.start_epoch = start_epoch if start_epoch is not None else time.time()
        self._offset_ns = 0
        self._lock = threading.Lock()
        self._stack: ExitStack | None = None
        self._traveller: Any = None
        #: Seconds of sleeps skipped, how many, and seconds charged for replayed exchanges.
        self.slept_s = 0.0
        self.sleeps = 0
        self.charged_s = 0.0
        #: Wall seconds the process sat idle between the clock's events, and the longest stretch.
        self.idle_s = 0.0
        self.longest_idle_s = 0.0
        self._last_wall = 0.0
        #: When the process's CPU time was last read, and what it was.
        self._cpu_mark = (0.0, 0.0)

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
        self.touch()
        self.advance(seconds)
        self.charged_s += max(seconds, 0.0)

    def sleep(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")
        if not math.isfinite(seconds):  # sleeping forever stays forever (anyio.sleep_forever)
            _real_sleep(seconds)
            return
        self.touch()
        self.advance(seconds)
        self.slept_s += seconds
        self.sleeps += 1

    async def async_sleep(self, seconds: float, result: Any = None) -> Any:
        if math.isfinite(seconds):
            self.sleep(max(seconds, 0.0))
            return await _real_asyncio_sleep(0, result)
        return await _real_asyncio_sleep(seconds, result)

    # ------------------------------------------------------------------ real waits

    def touch(self) -> None:
        """Note an event; the stretch since the last one counts as idle if the CPU mostly rested."""
        if not self.watch_idle:
            return
        wall = _real_monotonic()
        with self._lock:
            last_wall = self._last_wall
            self._last_wall = wall
            if not last_wall:
                self._cpu_mark = (wall, _real_process_time())
                return
            stretch = wall - last_wall
            if stretch >= IDLE_GAP_S:
                cpu = _real_process_time()
                # Counted from a reading at or a little before the stretch began: never more idle than it was.
                used = cpu - self._cpu_mark[1]
                idle = stretch - used
                if idle >= IDLE_GAP_S and used <= IDLE_CPU_SHARE * stretch:
                    self.idle_s += idle
                    self.longest_idle_s = max(self.longest_idle_s, idle)
                self._cpu_mark = (wall, cpu)
            elif wall - self._cpu_mark[0] >= CPU_READ_EVERY_S:
                self._cpu_mark = (wall, _real_process_time())

    # ------------------------------------------------------------------ patching

    def __enter__(self) -> VirtualClock:
        stack = ExitStack()
        travel = time_machine.travel(self.start_epoch, tick=True)
        self._traveller = stack.enter_context(travel)
        with _BINDINGS.lock:
            _BINDINGS.enter()
            _active.append(self)
        stack.callback(self._leave)
        self._stack = stack
        self.touch()
        return self

    def _leave(self) -> None:
        with _BINDINGS.lock:
            if self in _active:
                _active.remove(self)
            _BINDINGS.leave()

    def __exit__(self, *exc: object) -> None:
        if self._stack is not None:
            self.touch()
            self._stack.close()
            self._stack = None
            self._traveller = None


def real_sleep(seconds: float) -> None:
    """Sleep on the wall clock even while a virtual clock is active (for tests of the clock)."""
    _real_sleep(seconds)
