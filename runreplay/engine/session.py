"""A session: one active cassette, replaying what was recorded and recording what was not.

:class:`Session` composes the parts: the :class:`~runreplay.engine.replayer.Replayer`
(matching, timelines, tool-call checks), the :class:`~runreplay.engine.clock.VirtualClock`,
the :class:`~runreplay.engine.interception.Interception` that patches the HTTP clients
(it asks the session through the :class:`~runreplay.engine.port.Handler` port),
:func:`~runreplay.engine.saving.save_recording` and the end-of-session checks
(:mod:`runreplay.engine.report`).
"""

from __future__ import annotations

import contextlib
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Unpack

from runreplay.cassette import BodyKind, Cassette, Interaction, Request, Response, encode_body, load
from runreplay.checks.validation import Violation
from runreplay.engine import report
from runreplay.engine.clock import REAL_WAIT_WARN_S, VirtualClock
from runreplay.engine.ids import named_id, reply_ids
from runreplay.engine.interception import Interception
from runreplay.engine.isolation import replay_guard
from runreplay.engine.matching import Matcher
from runreplay.engine.port import Reply
from runreplay.engine.replayer import Preparer, Replayer
from runreplay.engine.saving import RecordHooks, recorded_epoch, save_recording
from runreplay.engine.scrub import Scrubber
from runreplay.engine.timeline import ResourceReplay, build_timelines
from runreplay.errors import (
    ConfigError,
    RepeatedRequestError,
    ReplayedIdWarning,
    RunReplayError,
    UnmatchedRequestError,
    hide_frame,
)
from runreplay.options import OptionKeywords, Options, RecordMode, StreamOptions
from runreplay.providers import call_rules, check_match_headers, check_route_names, find, version_parameters
from runreplay.scrub_rules import ScrubRules
from runreplay.sse import SSEEvent

_DEFAULT_STREAM = StreamOptions()


class Session:
    """An active cassette: decides per request whether to replay or record.

    Use it as a context manager (``with Session(path, record_mode="once"): ...``) or
    through :func:`use_cassette`; the keywords are :class:`~runreplay.options.Options`.
    It is safe to use from several threads and from async code: the patches are
    process-wide while the session is active.

    While replaying (and recording nothing), a virtual clock is active unless
    ``virtual_clock=False``: sleeps cost no wall time, and runs and chats are polled on
    their recorded timeline (``replay_mode``). ``record_to`` writes this session's
    recordings to another file (``runreplay record`` gives each process its own);
    ``rewrite_run`` names a recording run in which ``rewrite`` replaces the cassette only
    once (the plugin passes its pytest session's, shared by its xdist workers).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        record_to: str | Path | None = None,
        rewrite_run: str | None = None,
        **keywords: Unpack[OptionKeywords],
    ):
        self.path = Path(path)
        #: A recording run (a pytest session) in which ``rewrite`` replaces this cassette once.
        self.rewrite_run = rewrite_run
        self.options = Options.parse(keywords, f"runreplay options for {self.path}")
        self.record_to = Path(record_to) if record_to is not None else None
        self.record_mode: RecordMode = self.options.record_mode
        self.match = self.options.match_config(version_parameters(), call_rules)
        check_match_headers(self.match.match_headers)
        if isinstance(self.options.allow_repeats, tuple):
            check_route_names(self.options.allow_repeats, f"runreplay options for {self.path}: allow_repeats")
        self.cassette = self._load_existing()
        self._replays = self.record_mode.replays(self._existed)
        self._records = self.record_mode.records(self._existed)
        self.replayer = Replayer(
            self.cassette.interactions if self._replays else [],
            self.match,
            mode=self.options.replay_mode,
            tool_outputs=self.options.tool_outputs,
            name=str(self.path),
            allow_repeats=self.options.allow_repeats,
        )
        self.scrub_rules = self.options.scrub or ScrubRules()
        self.scrubber = Scrubber(self.scrub_rules)
        self.stream_options = self.options.streams or _DEFAULT_STREAM
        self.clock: VirtualClock | None = None
        self.recorded: list[Interaction] = []
        #: Messages of requests that had no recorded match (the plugin fails a test that swallowed one).
        self.unmatched: list[str] = []
        #: Failures found when the session ended (unused interactions, schema violations).
        self.problems: list[RunReplayError] = []
        self.violations: list[Violation] = []
        #: Why the code under test ended early, if it did (the plugin sets it: "the test raised
        #: KeyError"); the unused report then blames that, not the code's polling.
        self.ended_early: str | None = None
        # new_episodes: ids replayed replies gave out, and ids the live server gave out this session.
        self._replayed_ids: set[str] = set()
        self._live_ids: set[str] = set()
        self.saved = False
        self._written: Cassette | None = None
        self._lock = threading.Lock()
        self._start = time.perf_counter()
        self._wall_start = time.time()
        self._stack: ExitStack | None = None
        self._streams_served = 0
        # Scrubbing a request only helps it match where a recorded URL or body holds a
        # pseudonym (or one may be recorded now); otherwise it would only cost time.
        scrub_requests = self.scrub_rules.enabled and (
            self._records or any(_holds_pseudonym(i.request) for i in self.replayer.interactions)
        )
        self._preparer = Preparer(self.replayer, self.scrubber if scrub_requests else None)

    def _load_existing(self) -> Cassette:
        self._existed = self.path.exists()
        if not self._existed:
            if self.record_mode is RecordMode.NONE:
                raise ConfigError(
                    f"{self.path}: cassette not found and record mode is 'none'. "
                    "Record it first, e.g. with --record-mode=once."
                )
            return Cassette(path=self.path)
        return load(self.path)

    # ------------------------------------------------------------------ the Handler port

    @property
    def replaying(self) -> bool:
        return self._replays

    @property
    def recording(self) -> bool:
        return self._records

    @property
    def wants_request_headers(self) -> bool:
        return self._records or bool(self.match.match_headers)

    @property
    def sse_exact(self) -> bool:
        return self.options.sse_exact

    def now_ms(self) -> int:
        return int((time.perf_counter() - self._start) * 1000)

    def respond(self, request: Request, raw_body: bytes | None = None) -> Reply | None:
        """The reply to replay for ``request``, or None when it must be recorded.

        ``raw_body``, the request's bytes as sent, lets a repeated request (a poll) reuse
        the scrubbed form and key computed the first time it was seen.
        """
        __tracebackhide__ = hide_frame
        if not self._replays:
            return None
        prepared = self._preparer.prepare(request, raw_body)
        try:
            interaction = self.replayer.answer(prepared, self.replay_now_ms())
        except UnmatchedRequestError as exc:
            if isinstance(exc, RepeatedRequestError) and self._records:
                return None  # new_episodes: the live server answers the extra request, and it is recorded
            self.unmatched.append(exc.message)  # the plugin fails a test that swallowed it
            raise
        if interaction is not None:
            if self._records:
                with self._lock:
                    self._replayed_ids |= reply_ids(interaction.response)
            if self.clock is not None and interaction.duration_ms:
                # The exchange took this long when recorded: charge it to the virtual clock, so
                # client-side deadlines see the same elapsed time as during the recording.
                self.clock.charge(interaction.duration_ms / 1000)
            return self._reply(interaction)
        if self._records:
            return None
        message = self.replayer.explain_miss(prepared.request)
        self.unmatched.append(message)
        raise UnmatchedRequestError(message)

    def record(self, request: Request, response: Response, at_ms: int, duration_ms: int | None = None) -> None:
        interaction = Interaction(request=request, response=response, at_ms=at_ms, duration_ms=duration_ms)
        with self._lock:
            self.recorded.append(interaction)
        if self._replays:
            self._check_live_ids(request, response)
            # new_episodes: a request recorded now can be replayed later in the same session.
            self.replayer.add(interaction)

    def _check_live_ids(self, request: Request, response: Response) -> None:
        """new_episodes: warn when a live request named an id that only replayed replies gave out."""
        with self._lock:
            stale = named_id(request, self._replayed_ids - self._live_ids)
            self._live_ids |= reply_ids(response)
        if stale is not None:
            warnings.warn(
                ReplayedIdWarning(
                    f"runreplay: {request.method} {request.path} went to the live server under new_episodes, but it "
                    f"names {stale}, an id only replayed replies from {self.path} gave out: the live server never "
                    f"gave it to this session (it answered {response.status}), and the cassette now keeps that "
                    "answer. Re-record the test with --record-mode=rewrite."
                ),
                stacklevel=2,
            )

    def _reply(self, interaction: Interaction) -> Reply:
        if interaction.response.body.kind is not BodyKind.SSE:
            return Reply(interaction, _DEFAULT_STREAM, _plain_error)
        with self._lock:  # number the replayed streams, so stream options can target one of them
            number = self._streams_served
            self._streams_served += 1
        options = self.stream_options if self.stream_options.applies_to(number) else _DEFAULT_STREAM
        routed = find(interaction.request) if options.error_at is not None else None
        return Reply(interaction, options, routed.provider.stream_error if routed is not None else _plain_error)

    def replay_now_ms(self) -> int:
        """Milliseconds on the clock timelines are replayed against (virtual when active)."""
        if self.clock is not None:
            return self.clock.now_ms()
        return int(time.monotonic() * 1000)

    # ------------------------------------------------------------------ entering and leaving

    def __enter__(self) -> Session:
        stack = ExitStack()
        if self.options.virtual_clock and self._replays and not self._records:
            self.clock = stack.enter_context(VirtualClock(recorded_epoch(self.cassette)))
        stack.enter_context(Interception(self))
        if self._replays and not self._records:
            # Replay only: no connection leaves the process (sockets too), unless allowed.
            stack.enter_context(replay_guard(self.path, self.record_mode, self.options, self.unmatched.append))
        self._stack = stack
        self._start = time.perf_counter()
        self._wall_start = time.time()
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if self._stack is not None:
            self._stack.close()  # also records the streams nobody finished reading
            self._stack = None
        self.finish(failed=exc_type is not None)

    def finish(self, *, failed: bool = False) -> None:
        """Save what was recorded, then run the end-of-session checks (into :attr:`problems`)
        unless the code under test ``failed``. ``__exit__`` calls it; a session used without
        entering it (``runreplay serve``: nothing to patch) calls it when it ends."""
        self.save()
        if not failed and self.clock is not None:
            report.real_wait_warning(self.clock.idle_s, self.clock.longest_idle_s, REAL_WAIT_WARN_S, str(self.path))
        if not failed:
            self._check_schemas()
        if not failed and self._replays and not self._records and not self.unmatched:
            left = self.replayer.unused()
            cause = report.UnusedCause.EARLY_STOP
            if self.ended_early is not None:
                cause = report.UnusedCause.TEST_FAILED
            elif self.replayer.left_repeats_replayed(left):
                cause = report.UnusedCause.DUPLICATES
            problem = report.unused_problem(
                left, self.interactions, str(self.path), self.options.unused, cause=cause, why=self.ended_early
            )
            if problem is not None:
                self.problems.append(problem)

    def save(self) -> Path | None:
        """Write the cassette if anything was recorded. Atomic; safe to call twice.

        A recording session that saw no request still writes its cassette (empty) when
        there was none or when rewriting, so the test replays afterwards instead of
        failing for want of a file.
        """
        if self.saved or not self._records:
            return None
        fresh = self.record_mode is RecordMode.REWRITE or self.record_to is not None
        if not self.recorded and (self.record_to is not None or (self._existed and not fresh)):
            return None
        target = self.record_to or self.path
        scrubber = self.scrubber if self.scrub_rules.enabled else None
        self._written = save_recording(
            target,
            self.recorded,
            started_at=self._wall_start,
            fresh=fresh,
            scrubber=scrubber,
            replace_once=self.rewrite_run if self.record_to is None else None,
            hooks=RecordHooks(self.options.before_record_request, self.options.before_record_response),
        )
        self.saved = True
        return target

    def _check_schemas(self) -> None:
        """Check what was recorded (and, when asked, what was replayed) against the schemas."""
        checked: list[tuple[int, Interaction]] = []
        if self.recorded and self._written is not None:
            first = len(self._written.interactions) - len(self.recorded)
            checked += list(enumerate(self.recorded, start=first))
        if self.options.validate_replay and self._replays:
            checked += [(n, self.interactions[n]) for n in sorted(self.matcher.used)]
        problem = report.schema_problems(checked, str(self.path), self.options.validate, self.violations)
        if problem is not None:
            self.problems.append(problem)

    # ------------------------------------------------------------------ inspection

    @property
    def matcher(self) -> Matcher:
        return self.replayer.matcher

    @property
    def interactions(self) -> list[Interaction]:
        """The interactions replay draws from (the cassette's, plus new episodes)."""
        return self.replayer.interactions

    @property
    def replayed_count(self) -> int:
        return len(self.matcher.used)

    @property
    def resources(self) -> list[ResourceReplay]:
        """Each run/chat this session replayed or recorded, polled or streamed: its states, polls
        and time (virtual when replayed, real when recorded; a stream counts once it has ended)."""
        found = dict(self.replayer.resources)
        with self._lock:
            recorded = sorted(self.recorded, key=lambda item: item.at_ms)
        for key, timeline in build_timelines(recorded).items():
            found.setdefault(key, ResourceReplay.recorded(timeline, recorded))
        return list(found.values())

    @property
    def virtual_seconds(self) -> float:
        """Time the virtual clock skipped (the sleeps that cost no wall time)."""
        return self.clock.offset_s if self.clock is not None else 0.0

    def unused(self) -> list[Interaction]:
        """Recorded interactions this session neither replayed nor skipped past."""
        if not self._replays:
            return []
        return [self.interactions[n] for n in self.replayer.unused()]

    def report(self) -> dict[str, Any]:
        """A summary of the replay, for assertions and for people."""
        return {
            "cassette": str(self.path),
            "replayed": self.replayed_count,
            "unused": len(self.unused()),
            "virtual_seconds": round(self.virtual_seconds, 3),
            "resources": [r.to_json() for r in self.resources],
        }


def _plain_error(message: str) -> SSEEvent:
    """The error event injected into a stream no provider describes."""
    return SSEEvent(event="error", data={"error": {"message": message}}, data_is_json=True)


@contextlib.contextmanager
def use_cassette(path: str | Path, **options: Unpack[OptionKeywords]) -> Iterator[Session]:
    """Record or replay every HTTP request made inside the block (keywords: :class:`~runreplay.options.Options`)."""
    with Session(path, **options) as session:
        yield session
    if session.problems:
        raise session.problems[0]


def _holds_pseudonym(request: Request) -> bool:
    if "scrubbed-" in request.url:
        return True
    return b"scrubbed-" in encode_body(request.body)
