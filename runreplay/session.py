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

from runreplay import __version__
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
from runreplay.errors import ConfigError, UnmatchedRequestError
from runreplay.matching import MatchConfig, Matcher, RequestKey, make_key
from runreplay.providers import detect_client, detect_provider
from runreplay.record_mode import RecordMode

#: Header values that must never reach disk, replaced at record time. Full scrubbing
#: (bodies, query parameters, stable pseudonyms) builds on this.
SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "api-key",
        "x-api-key",
        "cookie",
        "set-cookie",
        "openai-organization",
        "openai-project",
    }
)
SCRUBBED = "<scrubbed>"

_KEY_ATTR = "_runreplay_key"
_START_ATTR = "_runreplay_started"


class Session:
    """An active cassette: decides per request whether to replay or record.

    Use it as a context manager (``with Session(path, record_mode="once"): ...``) or
    through :func:`use_cassette`. It is safe to use from several threads and from async
    code: the patches are process-wide while the session is active.
    """

    def __init__(
        self,
        path: str | Path,
        record_mode: str | RecordMode = RecordMode.NONE,
        match: MatchConfig | None = None,
    ) -> None:
        self.path = Path(path)
        self.record_mode = RecordMode.parse(record_mode)
        self.match = match or MatchConfig()
        self.cassette = self._load_existing()
        self.recorded: list[Interaction] = []
        self.unmatched: list[str] = []
        self._replays = self.record_mode.replays(self._existed)
        self._records = self.record_mode.records(self._existed)
        self.matcher = Matcher(self.cassette.interactions if self._replays else [], self.match)
        self._lock = threading.Lock()
        self._start = time.perf_counter()
        self._stack: ExitStack | None = None
        self.saved = False

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

    def __enter__(self) -> Session:
        from vcr.patch import CassettePatcherBuilder

        stack = ExitStack()
        for patcher in CassettePatcherBuilder(_VcrCassette(self)).build():
            stack.enter_context(patcher)
        self._stack = stack
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._stack is not None:
            self._stack.close()
            self._stack = None
        self.save()

    # ------------------------------------------------------------------ replay

    def key_for(self, method: str, url: str, body: Body, headers: Headers) -> RequestKey:
        return make_key(method, url, body, self.match, headers.items())

    def find(self, key: RequestKey) -> Interaction | None:
        """The interaction to replay for ``key``, or None when it must be recorded."""
        if not self._replays:
            return None
        with self._lock:
            index = self.matcher.take(key)
        if index is not None:
            return self.matcher.interactions[index]
        if self._records:
            return None
        message = self.matcher.explain_miss(key, str(self.path))
        self.unmatched.append(message)
        raise UnmatchedRequestError(message)

    @property
    def replayed_count(self) -> int:
        return len(self.matcher.used)

    def unused(self) -> list[Interaction]:
        """Recorded interactions that this session never replayed."""
        if not self._replays:
            return []
        used = self.matcher.used
        return [i for n, i in enumerate(self.matcher.interactions) if n not in used]

    # ------------------------------------------------------------------ record

    def now_ms(self) -> int:
        return int((time.perf_counter() - self._start) * 1000)

    def record(self, request: Request, response: Response, at_ms: int | None = None) -> Interaction:
        interaction = Interaction(request=request, response=response, at_ms=self.now_ms() if at_ms is None else at_ms)
        _scrub_headers(interaction.request.headers)
        _scrub_headers(interaction.response.headers)
        with self._lock:
            self.recorded.append(interaction)
            if self._replays:
                # new_episodes: a request recorded now can be replayed later in the same session.
                self.matcher.add(interaction)
        return interaction

    def save(self) -> Path | None:
        """Write the cassette if anything was recorded. Atomic; safe to call twice."""
        if not self.recorded or self.saved:
            return None
        base = [] if self.record_mode is RecordMode.REWRITE else list(self.cassette.interactions)
        # The timeline starts at the first request; new episodes continue after the old one.
        delta = (base[-1].at_ms if base else 0) - self.recorded[0].at_ms
        for item in self.recorded:
            _shift(item, delta)
        cassette = Cassette(interactions=base + self.recorded, meta=self._meta(), path=self.path)
        with _directory_lock(self.path.parent):
            cassette.save(self.path)
        self.saved = True
        return self.path

    def _meta(self) -> dict[str, Any]:
        meta = dict(self.cassette.meta) if self.record_mode is not RecordMode.REWRITE else {}
        meta["runreplay"] = __version__
        meta.setdefault("provider", detect_provider(self.recorded))
        client = detect_client(self.recorded)
        if client:
            meta["client"] = client
        meta.setdefault("recorded_at", _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
        return meta


def _shift(interaction: Interaction, delta: int) -> None:
    interaction.at_ms += delta
    if interaction.response.body.kind == "sse":
        for event in interaction.response.body.events:
            event.at_ms += delta


def _scrub_headers(headers: Headers) -> None:
    for name, _ in headers.items():
        if name in SECRET_HEADERS:
            headers.set(name, SCRUBBED)


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
    path: str | Path,
    record_mode: str | RecordMode = RecordMode.NONE,
    match: MatchConfig | None = None,
) -> Iterator[Session]:
    """Record or replay every HTTP request made inside the block."""
    with Session(path, record_mode=record_mode, match=match) as session:
        yield session


# ---------------------------------------------------------------------- VCR.py bridge


class _VcrCassette:
    """The face :class:`Session` shows to VCR.py's stubs (duck-typed vcr.cassette.Cassette)."""

    custom_patches: tuple[Any, ...] = ()
    skip_patchers: tuple[str, ...] = ()

    def __init__(self, session: Session) -> None:
        self.session = session
        self._path = str(session.path)

    @property
    def write_protected(self) -> bool:
        return not self.session.recording

    def filter_request(self, request: Any) -> Any:
        return request

    def _key(self, vcr_request: Any) -> RequestKey:
        key = getattr(vcr_request, _KEY_ATTR, None)
        if key is None:
            headers = Headers(_vcr_header_items(vcr_request.headers))
            body = Body.from_bytes(_body_bytes(vcr_request), headers.get("content-type"))
            key = self.session.key_for(vcr_request.method, vcr_request.uri, body, headers)
            setattr(vcr_request, _KEY_ATTR, key)
            setattr(vcr_request, _START_ATTR, self.session.now_ms())
        return key

    def can_play_response_for(self, vcr_request: Any) -> bool:
        key = self._key(vcr_request)
        if getattr(vcr_request, "_runreplay_pending", None) is None:
            vcr_request._runreplay_pending = self.session.find(key)
        return vcr_request._runreplay_pending is not None

    def play_response(self, vcr_request: Any) -> dict[str, Any]:
        interaction = vcr_request._runreplay_pending
        if interaction is None:  # pragma: no cover - VCR always asks can_play_response_for first
            raise UnmatchedRequestError(f"runreplay: no recorded response for {vcr_request.uri}")
        return response_to_vcr(interaction.response)

    def append(self, vcr_request: Any, vcr_response: dict[str, Any]) -> None:
        headers = Headers(_vcr_header_items(vcr_request.headers))
        request = Request(
            method=vcr_request.method.upper(),
            url=vcr_request.uri,
            headers=headers,
            body=Body.from_bytes(_body_bytes(vcr_request), headers.get("content-type")),
        )
        resp_headers = Headers.from_mapping(vcr_response["headers"])
        raw = vcr_response["body"]["string"]
        raw = raw.encode("utf-8") if isinstance(raw, str) else (raw or b"")
        try:
            body = body_from_wire(raw, resp_headers)
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
        self.session.record(request, response, at_ms=at_ms)


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
