"""The cassettes a server answers from: one :class:`~runreplay.engine.session.Session` each.

A served session is never entered: entering would patch this process's HTTP clients and
clocks, and the clients of a server run elsewhere. Each replaying session gets a private
:class:`~runreplay.engine.clock.VirtualClock` instead, which the server moves forward poll
by poll (:meth:`ServedCassette.respond`), so several cassettes replay side by side.
"""

from __future__ import annotations

import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from runreplay.cassette import Request
from runreplay.engine.clock import VirtualClock
from runreplay.engine.interception.live import Captures
from runreplay.engine.port import Reply
from runreplay.engine.saving import recorded_epoch
from runreplay.engine.session import Session
from runreplay.engine.timeline import Step, step_of
from runreplay.errors import SchemaViolationWarning, UnusedInteractionsWarning
from runreplay.providers.base import Role

#: The warnings a session's end checks give, which the server reports as problems.
_END_WARNINGS = (UnusedInteractionsWarning, SchemaViolationWarning)
#: The first path segment of the control API; no cassette may be named so.
CONTROL = "_runreplay"


class ServedCassette:
    """One cassette behind the server: its session, started over by :meth:`reset`."""

    def __init__(self, name: str, path: Path, keywords: dict[str, Any], rewrite_run: str) -> None:
        self.name = name
        self.path = path
        self._keywords = keywords
        self._rewrite_run = rewrite_run
        self._lock = threading.Lock()
        self.captures = Captures()
        self.session = self._open()
        self._problems: list[str] | None = None  # set once the session has ended
        self._used = False  # a session no request reached has nothing to save or check

    def _open(self) -> Session:
        # rewrite_run: under rewrite, a reset's second session adds to what the first wrote.
        session = Session(self.path, rewrite_run=self._rewrite_run, **self._keywords)
        if session.replaying and not session.recording and session.options.virtual_clock:
            session.clock = VirtualClock(recorded_epoch(session.cassette), watch_idle=False)
        return session

    def respond(self, request: Request, raw_body: bytes, announced_ms: int | None) -> tuple[Reply | None, Step | None]:
        """The session's reply (None: forward and record), after moving the clock for a poll.

        Raises :class:`~runreplay.errors.UnmatchedRequestError` like the session does.
        """
        step = step_of(request)
        with self._lock:
            self._used = True
            if step is not None and step.role is Role.POLL:
                self._advance_for_poll(step, announced_ms)
            return self.session.respond(request, raw_body), step

    def _advance_for_poll(self, step: Step, announced_ms: int | None) -> None:
        """Move the virtual clock as far as the client would have waited before this poll.

        The client sleeps only the few milliseconds the server tells it to, so the wait it
        made when recorded is added here: the interval it announces, or else up to the next
        recorded poll of the phase. One recorded poll then costs one replayed poll.
        """
        session = self.session
        clock = session.clock
        replayer = session.replayer
        timeline = replayer.timelines.get(step.key)
        if clock is None or timeline is None:
            return
        replay = replayer.resources.get(timeline.key)
        if replay is None or replay.created_ms is None:
            return  # the first sight of the resource begins its phase: nothing to wait for
        polled = replay.phase in replay.served_in_phase
        if announced_ms is not None:
            if polled:  # SDK poll helpers ask once at once, then sleep between polls
                clock.advance(announced_ms / 1000)
            return
        states = timeline.phases[replay.phase].states
        following = replay.served_in_phase.get(replay.phase, 0) + 1
        if following < len(states):
            due_ms = replay.phase_started_ms + states[following].at_ms
            clock.advance(max(0, due_ms - clock.now_ms()) / 1000)

    def finish(self) -> list[str]:
        """End the session: finish open recorded streams, save, run the end checks; their messages."""
        with self._lock:
            if self._problems is None:
                self._problems = self._end() if self._used else []
            return self._problems

    def _end(self) -> list[str]:
        self.captures.finish()
        # The checks warn (unused interactions, schemas under "warn"): a server reports
        # those as it reports errors, in its log and to the caller, not as Python warnings.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            self.session.finish()
        ours = [str(w.message) for w in caught if issubclass(w.category, _END_WARNINGS)]
        return [str(problem) for problem in self.session.problems] + ours

    def reset(self) -> list[str]:
        """Start the cassette over (saving what was recorded first); the ended session's problems."""
        problems = self.finish()
        with self._lock:
            self.captures = Captures()
            self.session = self._open()
            self._problems = None
            self._used = False
        return problems

    def report(self) -> dict[str, Any]:
        session = self.session
        with self._lock:
            summary = session.report()
            summary.update(
                name=self.name,
                unmatched=list(session.unmatched),
                recorded=len(session.recorded),
                mode="record" if session.recording else "replay",
            )
        return summary


@dataclass(frozen=True)
class Located:
    cassette: ServedCassette
    #: The request's path after the cassette's name: the API's own path, still percent-encoded.
    api_path: str


class Cassettes:
    """The cassettes under a folder, opened on first use."""

    def __init__(self, directory: Path, keywords: dict[str, Any], recording: bool, rewrite_run: str) -> None:
        self.directory = directory
        self.keywords = keywords
        self.recording = recording
        self.rewrite_run = rewrite_run
        self._open: dict[str, ServedCassette] = {}
        self._lock = threading.Lock()

    def file_of(self, name: str) -> Path:
        return self.directory / f"{name}.json"

    def locate(self, raw_path: str) -> Located | None:
        """The cassette a request path names, and the API path after it.

        The name is the longest run of leading segments naming a cassette (so cassettes in
        subfolders work: ``/tests_x/test_y/v1/...``); when recording, a name no file has yet
        is the first segment.
        """
        segments = raw_path.lstrip("/").split("/")
        names = [unquote(s) for s in segments]
        for count in range(len(names), 0, -1):
            name = "/".join(names[:count])
            if _valid(names[:count]) and (name in self._open or self.file_of(name).is_file()):
                return Located(self.get(name), "/" + "/".join(segments[count:]))
        if self.recording and _valid(names[:1]):
            return Located(self.get(names[0]), "/" + "/".join(segments[1:]))
        return None

    def get(self, name: str) -> ServedCassette:
        with self._lock:
            served = self._open.get(name)
            if served is None:
                served = ServedCassette(name, self.file_of(name), self.keywords, self.rewrite_run)
                self._open[name] = served
            return served

    def known(self, name: str) -> ServedCassette | None:
        """The cassette ``name`` if it is open or on disk (for the control API)."""
        if name in self._open or (_valid(name.split("/")) and self.file_of(name).is_file()):
            return self.get(name)
        return None

    def finish_all(self) -> dict[str, list[str]]:
        """End every session (saving recordings); each cassette's problems."""
        with self._lock:
            served = list(self._open.values())
        return {cassette.name: cassette.finish() for cassette in served}


def _valid(names: list[str]) -> bool:
    """Names that stay inside the folder and off the control API's path."""
    return (
        bool(names)
        and names[0] != CONTROL
        and all(n and n not in (".", "..") and "\\" not in n and not n.startswith(".") for n in names)
    )
