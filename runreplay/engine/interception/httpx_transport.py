"""httpx and httpx2 interception that streams: live pass-through on record, per-event replay.

VCR.py's own httpx stubs read a whole response before handing it on, and replay a body as
one chunk. That is fine for JSON but not for server-sent events, so for httpx and httpx2
runreplay registers these handlers instead, through the ``custom_patches`` hook of
VCR.py's patcher builder (requests and the other clients keep VCR.py's stubs).

Recording: the code under test receives each chunk as the server sends it, while an
incremental SSE decoder timestamps every event; a stream the client abandons, or one the
server ends without a terminator, is recorded as far as it was seen.

Replay: an SSE body is delivered event by event in separate chunks, optionally paced in
(virtual) time, re-chunked, or with a fault injected (:class:`StreamOptions`).
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

from runreplay.cassette import WIRE_HEADERS, Body, Headers, Interaction, Request, Response, body_from_wire
from runreplay.sse import Framing, SSEDecoder, SSEEvent, encode_events, iter_encoded, rechunk

if TYPE_CHECKING:
    from runreplay.session import Session


@dataclass(frozen=True)
class StreamOptions:
    """How replayed SSE streams are delivered.

    ``pacing``: ``None`` (as fast as the client reads; the default), ``"recorded"`` (the
    recorded gaps between events, in virtual time when the virtual clock is active) or a
    number scaling the recorded gaps. ``chunking``: ``"event"`` (one chunk per event),
    ``"bytes:N"`` or ``"split"``. Faults, counted in events from 0: ``cut_after`` ends the
    connection abruptly after that many events; ``error_at`` injects the provider's error
    event before event N; ``stall_before`` is ``(N, seconds)``, a pause before event N that
    becomes a read timeout when longer than the client's read timeout. ``streams`` limits
    the options to the n-th replayed streams (0-based); ``None`` means all.
    """

    pacing: str | float | None = None
    chunking: str = "event"
    cut_after: int | None = None
    error_at: int | None = None
    stall_before: tuple[int, float] | None = None
    streams: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.pacing is not None and self.pacing != "recorded" and not isinstance(self.pacing, (int, float)):
            raise ValueError(f"pacing must be None, 'recorded' or a number, not {self.pacing!r}")
        rechunk([b"x"], self.chunking)  # validates the mode string

    def applies_to(self, stream_number: int) -> bool:
        return self.streams is None or stream_number in self.streams


# ---------------------------------------------------------------------------- patches


def patches(session: Session) -> list[tuple[Any, str, Callable[..., Any]]]:
    """``(class, method, replacement)`` triples for every httpx-like module installed."""
    triples: list[tuple[Any, str, Callable[..., Any]]] = []
    for name in ("httpx", "httpx2"):
        try:
            module = __import__(name)
        except ImportError:
            continue
        for cls_name in ("HTTPTransport", "WSGITransport", "MockTransport"):
            cls = getattr(module, cls_name, None)
            if cls is not None and hasattr(cls, "handle_request"):
                triples.append((cls, "handle_request", _sync_handler(session, cls.handle_request, module)))
        for cls_name in ("AsyncHTTPTransport", "ASGITransport", "MockTransport"):
            cls = getattr(module, cls_name, None)
            if cls is not None and hasattr(cls, "handle_async_request"):
                triples.append((cls, "handle_async_request", _async_handler(session, cls.handle_async_request, module)))
    return triples


def _sync_handler(session: Session, real: Callable[..., Any], hx: ModuleType) -> Callable[..., Any]:
    @functools.wraps(real)
    def handle_request(transport: Any, request: Any) -> Any:
        started = session.now_ms()
        content = request.read()
        ours = _to_request(request, content, session.wants_request_headers)
        interaction = session.respond(ours, content)
        if interaction is not None:
            return _replay_response(session, interaction, request, hx)
        return _record_response(session, ours, started, real(transport, request), hx)

    return handle_request


def _async_handler(session: Session, real: Callable[..., Any], hx: ModuleType) -> Callable[..., Any]:
    @functools.wraps(real)
    async def handle_async_request(transport: Any, request: Any) -> Any:
        started = session.now_ms()
        content = await request.aread()
        ours = _to_request(request, content, session.wants_request_headers)
        interaction = session.respond(ours, content)
        if interaction is not None:
            return _replay_response(session, interaction, request, hx)
        response = await real(transport, request)
        return await _arecord_response(session, ours, started, response, hx)

    return handle_async_request


def _to_request(request: Any, content: bytes, with_headers: bool = True) -> Request:
    # A replay that neither records nor matches on headers never reads them: skip the copy.
    headers = Headers(request.headers.multi_items()) if with_headers else Headers()
    return Request(
        method=request.method.upper(),
        url=str(request.url),
        headers=headers,
        body=Body.from_bytes(content, request.headers.get("content-type")) if content else Body.empty(),
    )


# ---------------------------------------------------------------------------- replay


def _replay_response(session: Session, interaction: Interaction, request: Any, hx: ModuleType) -> Any:
    stored = interaction.response
    if stored.body.kind == "sse":
        number = session.next_stream_number()
        options = session.stream_options if session.stream_options.applies_to(number) else StreamOptions()
        stream = _replay_stream_class(hx)(stored.body, options, request, hx, interaction.at_ms)
        headers, _ = _response_parts(stored, with_body=False)
        return hx.Response(stored.status, headers=headers, stream=stream, extensions=_extensions(stored))
    # A polled state is served many times: encode its body and headers once per session.
    parts = session.replay_cache.get(id(interaction))
    if parts is None:
        parts = session.replay_cache.put(id(interaction), _response_parts(stored, with_body=True))
    headers, data = parts
    return hx.Response(stored.status, headers=headers, stream=hx.ByteStream(data), extensions=_extensions(stored))


def _response_parts(stored: Response, with_body: bool) -> tuple[list[tuple[str, str]], bytes]:
    headers = stored.headers.items()
    if any(k in WIRE_HEADERS for k, _ in headers):  # recordings drop them; imports may not
        headers = [(k, v) for k, v in headers if k not in WIRE_HEADERS]
    if not with_body:
        return headers, b""
    data = stored.body.to_bytes()
    headers.append(("content-length", str(len(data))))
    return headers, data


def _extensions(stored: Response) -> dict[str, Any]:
    return {"reason_phrase": stored.reason.encode("ascii", "replace")} if stored.reason else {}


class _ReplayStreamBase:
    """An SSE body delivered in chunks, sync or async, with optional pacing and faults."""

    def __init__(self, body: Body, options: StreamOptions, request: Any, hx: ModuleType, start_ms: int) -> None:
        self._events: list[SSEEvent] = list(body.events)
        self._framing = body.framing or Framing()
        self._options = options
        self._hx = hx
        self._request = request
        self._start_ms = start_ms

    def _plan(self) -> Iterator[tuple[float, bytes | BaseException]]:
        """(pause in seconds, chunk or exception) in delivery order."""
        options = self._options
        events = self._events
        error_at = options.error_at
        if error_at is not None:
            events = [*events[:error_at], _error_event(events), *events[error_at:]]
        if options.cut_after is not None:
            events = events[: options.cut_after]
        chunks = encode_events(events, self._framing)
        previous_ms = self._start_ms
        for number, (event, chunk) in enumerate(zip(events, chunks, strict=True)):
            pause = self._pause(event.at_ms - previous_ms)
            previous_ms = max(previous_ms, event.at_ms)
            if options.stall_before is not None and options.stall_before[0] == number:
                stall = options.stall_before[1]
                limit = _read_timeout(self._request)
                if limit is not None and stall > limit:
                    yield (
                        pause + limit,
                        self._hx.ReadTimeout(
                            f"runreplay: stream stalled {stall:g}s before event {number} (read timeout {limit:g}s)",
                            request=self._request,
                        ),
                    )
                    return
                pause += stall
            for part_number, part in enumerate(rechunk([chunk], options.chunking)):
                yield (pause if part_number == 0 else 0.0), part
        if options.cut_after is not None and options.cut_after < len(self._events):
            yield (
                0.0,
                self._hx.RemoteProtocolError(
                    f"runreplay: stream cut after event {options.cut_after} (fault injected)", request=self._request
                ),
            )

    def _pause(self, gap_ms: int) -> float:
        pacing = self._options.pacing
        if pacing is None or gap_ms <= 0:
            return 0.0
        scale = 1.0 if pacing == "recorded" else float(pacing)
        return gap_ms / 1000 * scale

    def _plain(self) -> bool:
        """The default delivery: one chunk per event, as fast as the client reads, no fault."""
        options = self._options
        return (
            options.pacing is None
            and options.chunking == "event"
            and options.cut_after is None
            and options.error_at is None
            and options.stall_before is None
        )

    def _plain_chunks(self) -> Iterator[bytes]:
        # What _plan yields for default options, without its per-event planning: each event's
        # bytes are made as the client reads them.
        return iter_encoded(self._events, self._framing)

    def __iter__(self) -> Iterator[bytes]:
        return self._plain_chunks() if self._plain() else self._planned()

    def _planned(self) -> Iterator[bytes]:
        for pause, item in self._plan():
            if pause:
                time.sleep(pause)
            if isinstance(item, BaseException):
                raise item
            yield item

    async def __aiter__(self) -> AsyncIterator[bytes]:
        import asyncio

        if self._plain():
            for chunk in self._plain_chunks():
                yield chunk
            return
        for pause, item in self._plan():
            if pause:
                await asyncio.sleep(pause)
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self) -> None:
        pass

    async def aclose(self) -> None:
        pass


def _error_event(events: list[SSEEvent]) -> SSEEvent:
    """The provider's own error event: Coze streams say ``conversation.*``, OpenAI ``thread.*``."""
    coze = any((e.event or "").startswith("conversation.") for e in events)
    if coze:
        data: Any = {"code": 5000, "msg": "runreplay: injected stream error"}
    else:
        data = {"error": {"message": "runreplay: injected stream error", "type": "server_error", "code": None}}
    return SSEEvent(event="error", data=data, data_is_json=True, at_ms=events[0].at_ms if events else 0)


def _read_timeout(request: Any) -> float | None:
    timeout = (request.extensions or {}).get("timeout") or {}
    value = timeout.get("read")
    return float(value) if value is not None else None


@functools.cache
def _replay_stream_class(hx: ModuleType) -> type[_ReplayStreamBase]:
    # httpx checks the stream's base classes, and httpx2 has its own: one subclass per module.
    return type("ReplayStream", (_ReplayStreamBase, hx.SyncByteStream, hx.AsyncByteStream), {})


# ---------------------------------------------------------------------------- record


class _Capture:
    """Collects a live response as it is read, and records it exactly once."""

    def __init__(self, session: Session, request: Request, started: int, response: Any) -> None:
        self.session = session
        self.request = request
        self.started = started
        self.status = response.status_code
        self.reason = _reason(response)
        self.headers = Headers(response.headers.multi_items())
        encoded = (self.headers.get("content-encoding") or "identity").lower() != "identity"
        is_sse = "text/event-stream" in (self.headers.get("content-type") or "").lower()
        # A compressed stream cannot be parsed as it arrives; it is decoded once complete.
        self.decoder = SSEDecoder(clock=session.now_ms, exact=session.exact_sse) if is_sse and not encoded else None
        self.events: list[SSEEvent] = []
        self.raw = bytearray()
        self._done = False
        self._lock = threading.Lock()
        session.track_capture(self)

    def feed(self, chunk: bytes) -> None:
        if self.decoder is not None:
            self.events.extend(self.decoder.feed(chunk))
        else:
            self.raw.extend(chunk)

    def finish(self) -> None:
        with self._lock:
            if self._done:
                return
            self._done = True
        if self.decoder is not None:
            self.events.extend(self.decoder.close())
            body = Body.sse(self.events, self.decoder.framing)
        else:
            try:
                body = body_from_wire(bytes(self.raw), self.headers, exact=self.session.exact_sse)
            except (ValueError, OSError):
                body = Body.binary(bytes(self.raw))
                self.headers.remove("content-encoding")
        headers = Headers(self.headers.items())
        headers.remove(*WIRE_HEADERS)
        response = Response(self.status, headers, body, reason=self.reason)
        interaction = self.session.record(self.request, response, at_ms=self.started)
        interaction.duration_ms = max(0, self.session.now_ms() - self.started)
        self.session.untrack_capture(self)


def _reason(response: Any) -> str:
    phrase = (response.extensions or {}).get("reason_phrase")
    if isinstance(phrase, bytes):
        return phrase.decode("ascii", "replace")
    return str(getattr(response, "reason_phrase", "") or "")


def _record_response(session: Session, request: Request, started: int, response: Any, hx: ModuleType) -> Any:
    capture = _Capture(session, request, started, response)
    if capture.decoder is None:
        # Not a stream: read it whole, as VCR.py does, so the connection goes back to the pool.
        try:
            for chunk in response.stream:
                capture.feed(chunk)
        finally:
            response.stream.close()
        return _buffered(capture, response, hx)
    return _passing_through(capture, response, hx)


async def _arecord_response(session: Session, request: Request, started: int, response: Any, hx: ModuleType) -> Any:
    capture = _Capture(session, request, started, response)
    if capture.decoder is None:
        try:
            async for chunk in response.stream:
                capture.feed(chunk)
        finally:
            await response.stream.aclose()
        return _buffered(capture, response, hx)
    return _passing_through(capture, response, hx)


def _buffered(capture: _Capture, response: Any, hx: ModuleType) -> Any:
    capture.finish()
    stream = hx.ByteStream(bytes(capture.raw))
    return hx.Response(response.status_code, headers=response.headers, stream=stream, extensions=response.extensions)


def _passing_through(capture: _Capture, response: Any, hx: ModuleType) -> Any:
    stream = _passthrough_class(hx)(response.stream, capture)
    return hx.Response(response.status_code, headers=response.headers, stream=stream, extensions=response.extensions)


class _PassThroughBase:
    """Hands each chunk to the client as it arrives, and to the capture."""

    def __init__(self, inner: Any, capture: _Capture) -> None:
        self._inner = inner
        self._capture = capture

    def __iter__(self) -> Iterator[bytes]:
        try:
            for chunk in self._inner:
                self._capture.feed(chunk)
                yield chunk
        finally:
            self._capture.finish()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._inner:
                self._capture.feed(chunk)
                yield chunk
        finally:
            self._capture.finish()

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            self._capture.finish()

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            self._capture.finish()


@functools.cache
def _passthrough_class(hx: ModuleType) -> type[_PassThroughBase]:
    return type("PassThroughStream", (_PassThroughBase, hx.SyncByteStream, hx.AsyncByteStream), {})
