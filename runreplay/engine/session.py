"""The engine: one active cassette, recording and replaying through VCR.py's patchers.

VCR.py already knows how to intercept httpx, httpx2, requests, urllib3, aiohttp and
friends. It asks its cassette four questions (can you play this request? play it; is
the cassette write-protected? append this recorded exchange). :class:`Session` answers
them with runreplay's own cassette format and matching, so everything VCR.py can
intercept is recorded and replayed the runreplay way.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from runreplay import __version__, transport
from runreplay._recent import Recent
from runreplay.cassette import (
    WIRE_HEADERS,
    Body,
    Cassette,
    Headers,
    Interaction,
    Request,
    Response,
    body_from_wire,
    load,
)
from runreplay.clock import VirtualClock
from runreplay.errors import (
    ConfigError,
    RunReplayError,
    SchemaViolationError,
    UnmatchedRequestError,
    UnusedInteractionsError,
)
from runreplay.lifecycle import ReplayMode, ResourceReplay, build_timelines
from runreplay.matching import MatchConfig, Matcher
from runreplay.providers import detect_client, detect_provider
from runreplay.providers.resources import RESOURCE_SPECS
from runreplay.record_mode import RecordMode
from runreplay.replayer import Prepared, Replayer, ReplayOptions
from runreplay.scrub import Scrubber, ScrubRules
from runreplay.transport import StreamOptions

_REQUEST_ATTR = "_runreplay_request"
_PENDING_ATTR = "_runreplay_pending"
_START_ATTR = "_runreplay_started"


class Session:
    """An active cassette: decides per request whether to replay or record.

    Use it as a context manager (``with Session(path, record_mode="once"): ...``) or
    through :func:`use_cassette`. It is safe to use from several threads and from async
    code: the patches are process-wide while the session is active.

    While replaying (and recording nothing), a virtual clock is active unless
    ``virtual_clock=False``: sleeps cost no wall time, and runs and chats are polled on
    their recorded timeline (``replay_mode``).
    """

    def __init__(
        self,
        path: str | Path,
        record_mode: str | RecordMode = RecordMode.NONE,
        match: MatchConfig | None = None,
        *,
        replay_mode: str | ReplayMode = ReplayMode.TIMELINE,
        virtual_clock: bool = True,
        unused: str = "warn",
        tool_outputs: str = "match",
        streams: StreamOptions | None = None,
        exact_sse: bool = False,
        scrub: ScrubRules | None = None,
        validate: str = "error",
        validate_replay: bool = True,
        record_to: str | Path | None = None,
    ) -> None:
        self.path = Path(path)
        #: Write only this session's recordings to another file (``runreplay record`` gives
        #: each process of a command its own part, merged afterwards).
        self.record_to = Path(record_to) if record_to is not None else None
        self.record_mode = RecordMode.parse(record_mode)
        self.match = match or MatchConfig()
        if unused not in UNUSED_POLICIES:
            raise ConfigError(f"unused must be one of {', '.join(UNUSED_POLICIES)}, not {unused!r}")
        self.unused_policy = unused
        try:
            options = ReplayOptions(mode=ReplayMode.parse(replay_mode), tool_outputs=tool_outputs)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        self.cassette = self._load_existing()
        self.recorded: list[Interaction] = []
        self.unmatched: list[str] = []
        #: Failures found when the session ended (unused interactions, schema violations).
        self.problems: list[RunReplayError] = []
        self._replays = self.record_mode.replays(self._existed)
        self._records = self.record_mode.records(self._existed)
        self.replayer = Replayer(
            self.cassette.interactions if self._replays else [],
            self.match,
            RESOURCE_SPECS,
            options,
            str(self.path),
        )
        self.clock: VirtualClock | None = None
        self._use_clock = virtual_clock and self._replays and not self._records
        self._lock = threading.Lock()
        self._start = time.perf_counter()
        self._wall_start = time.time()
        self._stack: ExitStack | None = None
        self.saved = False
        self._saved_interactions: list[Interaction] = []
        self.stream_options = streams or StreamOptions()
        #: Keep each recorded SSE event's exact bytes (multi-line data, comments, CRLF...).
        self.exact_sse = exact_sse
        if validate not in VALIDATE_POLICIES:
            raise ConfigError(f"validate must be one of {', '.join(VALIDATE_POLICIES)}, not {validate!r}")
        #: What to do when a recorded (or, with validate_replay, replayed) payload breaks its schema.
        self.validate_policy = validate
        self.validate_replay = validate_replay
        self.violations: list[Any] = []
        self.scrub_rules = scrub or ScrubRules()
        self.scrubber = Scrubber(self.scrub_rules)
        self._streams_served = 0
        self._captures: list[Any] = []
        #: Requests already prepared for matching, by method, URL and body bytes (see respond).
        self._prepared: Recent[tuple[str, str, bytes], Prepared] = Recent()
        self._prepared_version = self.scrubber.version
        #: Scrubbing a request only helps it match where a recorded URL or body holds a
        #: pseudonym (or one may be recorded now); otherwise it would only cost time.
        self._scrub_requests = self.scrub_rules.enabled and (
            self._records or any(_holds_pseudonym(i.request) for i in self.replayer.interactions)
        )
        #: What the transports built to replay recent interactions, by id (see transport).
        self.replay_cache: Recent[int, Any] = Recent()

    # ------------------------------------------------------------------ set-up

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

    @property
    def replaying(self) -> bool:
        return self._replays

    @property
    def recording(self) -> bool:
        return self._records

    @property
    def matcher(self) -> Matcher:
        return self.replayer.matcher

    def __enter__(self) -> Session:
        from vcr.patch import CassettePatcherBuilder

        stack = ExitStack()
        if self._use_clock:
            self.clock = stack.enter_context(VirtualClock(_recorded_epoch(self.cassette)))
        for patcher in CassettePatcherBuilder(_VcrCassette(self)).build():
            stack.enter_context(patcher)
        self._stack = stack
        self._start = time.perf_counter()
        self._wall_start = time.time()
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if self._stack is not None:
            self._stack.close()
            self._stack = None
        for capture in list(self._captures):
            capture.finish()  # a stream nobody finished reading is recorded as far as it was seen
        self.save()
        if exc_type is None:
            self._validate()
        if exc_type is None and self._replays and not self._records and not self.unmatched:
            self._check_unused()

    # ------------------------------------------------------------------ replay

    def respond(self, request: Request, raw_body: bytes | None = None) -> Interaction | None:
        """The interaction to replay for ``request``, or None when it must be recorded.

        ``raw_body``, the request's bytes as sent, lets a repeated request (a poll) reuse
        the scrubbed form and key computed the first time it was seen.
        """
        if not self._replays:
            return None
        prepared = self._prepare(request, raw_body)
        request = prepared.request
        interaction = self.replayer.answer(prepared, self.replay_now_ms())
        if interaction is not None and self.clock is not None and interaction.duration_ms:
            # The exchange took this long when recorded: charge it to the virtual clock, so
            # client-side deadlines see the same elapsed time as during the recording.
            self.clock.charge(interaction.duration_ms / 1000)
        if interaction is not None or self._records:
            return interaction
        message = self.replayer.explain_miss(request)
        self.unmatched.append(message)
        raise UnmatchedRequestError(message)

    def _prepare(self, request: Request, raw_body: bytes | None) -> Prepared:
        scrubber = self.scrubber
        version = scrubber.version
        if version != self._prepared_version:
            # A value learnt since (scrubbed wherever it appears) may change a scrubbed form.
            self._prepared.clear()
            self._prepared_version = version
        cache_key = None
        if raw_body is not None and not self.match.match_headers:
            cache_key = (request.method, request.url, raw_body)
            prepared = self._prepared.get(cache_key)
            if prepared is not None:
                return prepared
        if self._scrub_requests:
            # The cassette holds pseudonyms; the request must be compared in the same terms.
            request = scrubber.for_matching(request)
        prepared = self.replayer.prepare(request)
        if cache_key is not None and scrubber.version == version:
            self._prepared.put(cache_key, prepared)
        return prepared

    @property
    def wants_request_headers(self) -> bool:
        """Whether a request's headers are ever looked at: to record it, or to match on them."""
        return self._records or bool(self.match.match_headers)

    def next_stream_number(self) -> int:
        """Number the replayed SSE streams, so stream options can target one of them."""
        with self._lock:
            number = self._streams_served
            self._streams_served += 1
        return number

    def track_capture(self, capture: Any) -> None:
        with self._lock:
            self._captures.append(capture)

    def untrack_capture(self, capture: Any) -> None:
        with self._lock:
            if capture in self._captures:
                self._captures.remove(capture)

    def replay_now_ms(self) -> int:
        """Milliseconds on the clock timelines are replayed against (virtual when active)."""
        if self.clock is not None:
            return self.clock.now_ms()
        return int(time.monotonic() * 1000)

    @property
    def replayed_count(self) -> int:
        return len(self.matcher.used)

    @property
    def resources(self) -> list[ResourceReplay]:
        """Each run/chat this replay touched: its states, polls and virtual time."""
        return list(self.replayer.resources.values())

    @property
    def virtual_seconds(self) -> float:
        """Time the virtual clock skipped (the sleeps that cost no wall time)."""
        return self.clock.offset_s if self.clock is not None else 0.0

    def report(self) -> dict[str, Any]:
        """A summary of the replay, for assertions and for people."""
        return {
            "cassette": str(self.path),
            "replayed": self.replayed_count,
            "unused": len(self.unused()),
            "virtual_seconds": round(self.virtual_seconds, 3),
            "resources": [
                {
                    "resource": r.timeline.key,
                    "states": list(r.states),
                    "polls": r.polls,
                    "virtual_ms": r.virtual_ms,
                }
                for r in self.resources
            ],
        }

    def unused(self) -> list[Interaction]:
        """Recorded interactions this session neither replayed nor skipped past."""
        if not self._replays:
            return []
        return [self.replayer.interactions[n] for n in self.replayer.unused()]

    def _validate(self) -> None:
        """Check what was recorded (and, when asked, what was replayed) against the schemas."""
        if self.validate_policy == "off":
            return
        checked: list[tuple[int, Interaction]] = []
        if self.recorded:
            first = len(self._saved_interactions) - len(self.recorded)
            checked += list(enumerate(self.recorded, start=first))
        if self.validate_replay and self._replays:
            checked += [(n, self.replayer.interactions[n]) for n in sorted(self.matcher.used)]
        if not checked:
            return
        from runreplay.validation import format_violations, validate_interaction

        for index, interaction in checked:
            self.violations += validate_interaction(interaction, index=index, cassette=str(self.path))
        if not self.violations:
            return
        message = "runreplay: payloads break their documented schema:\n" + format_violations(self.violations)
        if self.validate_policy == "error":
            self.problems.append(SchemaViolationError(message))
        else:
            warnings.warn(SchemaViolationWarning(message), stacklevel=3)

    def _check_unused(self) -> None:
        left = self.unused()
        if not left or self.unused_policy == "ignore":
            return
        listing = "\n".join(
            f"  #{self.replayer.interactions.index(i)} {i.request.method} {i.request.url}" for i in left[:10]
        )
        more = f"\n  ... and {len(left) - 10} more" if len(left) > 10 else ""
        message = (
            f"runreplay: {len(left)} recorded interaction(s) in {self.path} were never replayed:\n{listing}{more}\n"
            "The code under test stopped earlier than the recording did (e.g. it polled less)."
        )
        if self.unused_policy == "error":
            self.problems.append(UnusedInteractionsError(message))
        else:
            warnings.warn(UnusedInteractionsWarning(message), stacklevel=3)

    # ------------------------------------------------------------------ record

    def now_ms(self) -> int:
        return int((time.perf_counter() - self._start) * 1000)

    def record(self, request: Request, response: Response, at_ms: int | None = None) -> Interaction:
        interaction = Interaction(request=request, response=response, at_ms=self.now_ms() if at_ms is None else at_ms)
        with self._lock:
            self.recorded.append(interaction)
        if self._replays:
            # new_episodes: a request recorded now can be replayed later in the same session.
            self.replayer.add(interaction)
        return interaction

    def save(self) -> Path | None:
        """Write the cassette if anything was recorded. Atomic; safe to call twice."""
        if not self.recorded or self.saved:
            return None
        fresh = self.record_mode is RecordMode.REWRITE or self.record_to is not None
        base = [] if fresh else list(self.cassette.interactions)
        target = self.record_to or self.path
        # Streams are recorded when they end; the cassette keeps the order requests were sent in.
        self.recorded.sort(key=lambda item: item.at_ms)
        meta = self._meta(fresh)
        # The timeline starts at the first request; new episodes continue after the old one.
        delta = (base[-1].at_ms if base else 0) - self.recorded[0].at_ms
        for item in self.recorded:
            _shift(item, delta)
        if self.scrub_rules.enabled:
            self.scrubber.interactions(self.recorded)  # secrets never reach disk
        interactions = base + self.recorded
        timelines = [t.to_json() for t in build_timelines(interactions, RESOURCE_SPECS).values()]
        cassette = Cassette(interactions=interactions, meta=meta, path=target, timelines=timelines)
        self._saved_interactions = interactions
        with _directory_lock(target.parent):
            cassette.save(target)
        self.saved = True
        return target

    def _meta(self, fresh: bool) -> dict[str, Any]:
        meta = {} if fresh else dict(self.cassette.meta)
        meta["runreplay"] = __version__
        meta.setdefault("provider", detect_provider(self.recorded))
        client = detect_client(self.recorded)
        if client:
            meta["client"] = client
        if "recorded_at" not in meta:
            first = self._wall_start + self.recorded[0].at_ms / 1000
            meta["recorded_at"] = _dt.datetime.fromtimestamp(first, _dt.timezone.utc).isoformat(timespec="milliseconds")
        return meta


class UnusedInteractionsWarning(UserWarning):
    """Recorded interactions were never replayed."""


class SchemaViolationWarning(UserWarning):
    """A recorded or replayed payload breaks its documented schema (validate="warn")."""


UNUSED_POLICIES = ("warn", "error", "ignore")
VALIDATE_POLICIES = ("error", "warn", "off")


def _recorded_epoch(cassette: Cassette) -> float | None:
    """Wall time of the first recorded request, so replayed clocks read as they did then."""
    stamp = cassette.meta.get("recorded_at")
    if not isinstance(stamp, str):
        return None
    try:
        return _dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _shift(interaction: Interaction, delta: int) -> None:
    interaction.at_ms += delta
    if interaction.response.body.kind == "sse":
        for event in interaction.response.body.events:
            event.at_ms += delta


@contextlib.contextmanager
def _directory_lock(folder: Path) -> Iterator[None]:
    """Serialise writers in one folder across processes (pytest-xdist workers)."""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: the atomic rename still prevents torn files
        yield
        return
    import os

    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


@contextlib.contextmanager
def use_cassette(
    path: str | Path, record_mode: str | RecordMode = RecordMode.NONE, **options: Any
) -> Iterator[Session]:
    """Record or replay every HTTP request made inside the block (options as :class:`Session`)."""
    with Session(path, record_mode=record_mode, **options) as session:
        yield session
    if session.problems:
        raise session.problems[0]


# ---------------------------------------------------------------------- VCR.py bridge


class _VcrCassette:
    """The face :class:`Session` shows to VCR.py's stubs (duck-typed vcr.cassette.Cassette).

    httpx and httpx2 get runreplay's own streaming handlers (see :mod:`runreplay.transport`)
    through VCR.py's ``custom_patches`` hook; every other client keeps VCR.py's stubs.
    """

    skip_patchers: tuple[str, ...] = ("httpx", "httpx2")

    def __init__(self, session: Session) -> None:
        self.session = session
        self._path = str(session.path)
        self.custom_patches = tuple(transport.patches(session))

    @property
    def write_protected(self) -> bool:
        return not self.session.recording

    def filter_request(self, request: Any) -> Any:
        return request

    def _request(self, vcr_request: Any) -> Request:
        """The runreplay view of a VCR.py request, built once per request."""
        request = getattr(vcr_request, _REQUEST_ATTR, None)
        if request is None:
            headers = Headers(_vcr_header_items(vcr_request.headers))
            request = Request(
                method=vcr_request.method.upper(),
                url=vcr_request.uri,
                headers=headers,
                body=Body.from_bytes(_body_bytes(vcr_request), headers.get("content-type")),
            )
            setattr(vcr_request, _REQUEST_ATTR, request)
            setattr(vcr_request, _START_ATTR, self.session.now_ms())
        return request

    def can_play_response_for(self, vcr_request: Any) -> bool:
        # VCR.py asks more than once per request (requests asks on connect, too).
        if not hasattr(vcr_request, _PENDING_ATTR):
            setattr(vcr_request, _PENDING_ATTR, self.session.respond(self._request(vcr_request)))
        return getattr(vcr_request, _PENDING_ATTR) is not None

    def play_response(self, vcr_request: Any) -> dict[str, Any]:
        interaction = getattr(vcr_request, _PENDING_ATTR, None)
        if interaction is None:  # pragma: no cover - VCR always asks can_play_response_for first
            raise UnmatchedRequestError(f"runreplay: no recorded response for {vcr_request.uri}")
        return response_to_vcr(interaction.response)

    def append(self, vcr_request: Any, vcr_response: dict[str, Any]) -> None:
        request = self._request(vcr_request)
        resp_headers = Headers.from_mapping(vcr_response["headers"])
        raw = vcr_response["body"]["string"]
        raw = raw.encode("utf-8") if isinstance(raw, str) else (raw or b"")
        try:
            body = body_from_wire(raw, resp_headers, exact=self.session.exact_sse)
        except (ValueError, OSError) as exc:
            warnings.warn(f"runreplay: stored an undecodable body as binary ({exc})", stacklevel=2)
            body = Body.binary(raw)
            resp_headers.remove("content-encoding")
        resp_headers.remove(*WIRE_HEADERS)
        response = Response(
            status=int(vcr_response["status"]["code"]),
            reason=str(vcr_response["status"].get("message") or ""),
            headers=resp_headers,
            body=body,
        )
        at_ms = getattr(vcr_request, _START_ATTR, None)
        if body.kind == "sse":
            # VCR.py hands over the stream only once it has ended: the events' own times are
            # unknown, so they get the time of the request.
            for event in body.events:
                event.at_ms = at_ms or 0
        interaction = self.session.record(request, response, at_ms=at_ms)
        if at_ms is not None:
            interaction.duration_ms = max(0, self.session.now_ms() - at_ms)


def response_to_vcr(response: Response) -> dict[str, Any]:
    """A stored response in the dict shape VCR.py's stubs build client responses from."""
    data = response.body.to_bytes()
    headers: dict[str, list[str]] = {}
    for name, value in response.headers.items():
        if name in WIRE_HEADERS:
            continue
        headers.setdefault(name, []).append(value)
    headers["content-length"] = [str(len(data))]
    return {
        "status": {"code": response.status, "message": response.reason},
        "headers": headers,
        "body": {"string": data},
    }


def _vcr_header_items(headers: Any) -> list[tuple[str, str]]:
    items: list[tuple[str, str]] = []
    for name, value in headers.items():
        values = value if isinstance(value, (list, tuple)) else [value]
        items.extend((str(name), v.decode("latin-1") if isinstance(v, bytes) else str(v)) for v in values)
    return items


def _body_bytes(vcr_request: Any) -> bytes:
    body = vcr_request.body_bytes if hasattr(vcr_request, "body_bytes") else vcr_request.body
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode("utf-8")
    return bytes(body)


def _holds_pseudonym(request: Request) -> bool:
    if "scrubbed-" in request.url:
        return True
    body = request.body
    return body.kind != "empty" and b"scrubbed-" in body.to_bytes()
