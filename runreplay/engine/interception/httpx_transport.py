"""httpx and httpx2 interception that streams: live pass-through on record, per-event replay.

VCR.py's own httpx stubs read a whole response before handing it on, and replay a body as
one chunk. That is fine for JSON but not for server-sent events, so for httpx and httpx2
runreplay registers these handlers instead, through the ``custom_patches`` hook of
VCR.py's patcher builder (requests and the other clients keep VCR.py's stubs).

Recording: the code under test receives each chunk as the server sends it, while an
incremental SSE decoder timestamps every event; a stream the client abandons, or one the
server ends without a terminator, is recorded as far as it was seen.

Replay: an SSE body is delivered event by event in separate chunks, optionally paced in
(virtual) time, re-chunked, or with a fault injected (see :mod:`.faults`).
"""

from __future__ import annotations

import asyncio
import functools
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from types import ModuleType
from typing import Any

from runreplay.cassette import (
    WIRE_HEADERS,
    Body,
    BodyKind,
    Headers,
    Request,
    Response,
    encode_body,
)
from runreplay.engine._recent import Recent
from runreplay.engine.interception.bodies import request_body, response_body
from runreplay.engine.interception.faults import Cut, Fault, deliveries, plain_chunks
from runreplay.engine.port import Handler, Reply
from runreplay.errors import hide_frame
from runreplay.sse import SSEDecoder, SSEEvent

Patch = tuple[Any, str, Callable[..., Any]]


class HttpxInterceptor:
    """The httpx/httpx2 patches of one session, and what they keep between requests."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        #: Headers and bytes built to replay recent interactions, by id: a polled state is
        #: served many times, and is encoded once.
        self._encoded: Recent[int, tuple[list[tuple[str, str]], bytes]] = Recent()
        self._captures: set[_Capture] = set()
        self._lock = threading.Lock()

    def patches(self) -> list[Patch]:
        """``(class, method, replacement)`` triples for every httpx-like module installed."""
        triples: list[Patch] = []
        for name in ("httpx", "httpx2"):
            try:
                module = __import__(name)
            except ImportError:
                continue
            for cls_name in ("HTTPTransport", "WSGITransport", "MockTransport"):
                cls = getattr(module, cls_name, None)
                if cls is not None and hasattr(cls, "handle_request"):
                    triples.append((cls, "handle_request", self._sync_handler(cls.handle_request, module)))
            for cls_name in ("AsyncHTTPTransport", "ASGITransport", "MockTransport"):
                cls = getattr(module, cls_name, None)
                if cls is not None and hasattr(cls, "handle_async_request"):
                    triples.append((cls, "handle_async_request", self._async_handler(cls.handle_async_request, module)))
        return triples

    def finish(self) -> None:
        """Record every stream nobody finished reading, as far as it was seen."""
        with self._lock:
            pending = list(self._captures)
        for capture in pending:
            capture.finish()

    def _track(self, capture: _Capture, active: bool) -> None:
        with self._lock:
            if active:
                self._captures.add(capture)
            else:
                self._captures.discard(capture)

    # ------------------------------------------------------------------ the handlers

    def _sync_handler(self, real: Callable[..., Any], hx: ModuleType) -> Callable[..., Any]:
        handler = self.handler

        @functools.wraps(real)
        def handle_request(transport: Any, request: Any) -> Any:
            __tracebackhide__ = hide_frame
            started = handler.now_ms()
            content = request.read()
            ours = _to_request(request, content, handler.wants_request_headers)
            reply = handler.respond(ours, content)
            if reply is not None:
                return self._replay(reply, request, hx)
            capture = _Capture(self, ours, started, real(transport, request))
            if capture.decoder is not None:
                return capture.passing_through(hx)
            # Not a stream: read it whole, as VCR.py does, so the connection goes back to the pool.
            try:
                for chunk in capture.response.stream:
                    capture.feed(chunk)
            finally:
                capture.response.stream.close()
            return capture.buffered(hx)

        return handle_request

    def _async_handler(self, real: Callable[..., Any], hx: ModuleType) -> Callable[..., Any]:
        handler = self.handler

        @functools.wraps(real)
        async def handle_async_request(transport: Any, request: Any) -> Any:
            __tracebackhide__ = hide_frame
            started = handler.now_ms()
            content = await request.aread()
            ours = _to_request(request, content, handler.wants_request_headers)
            reply = handler.respond(ours, content)
            if reply is not None:
                return self._replay(reply, request, hx)
            capture = _Capture(self, ours, started, await real(transport, request))
            if capture.decoder is not None:
                return capture.passing_through(hx)
            try:
                async for chunk in capture.response.stream:
                    capture.feed(chunk)
            finally:
                await capture.response.stream.aclose()
            return capture.buffered(hx)

        return handle_async_request

    # ------------------------------------------------------------------ replay

    def _replay(self, reply: Reply, request: Any, hx: ModuleType) -> Any:
        interaction = reply.interaction
        stored = interaction.response
        extensions = _extensions(stored)
        if stored.body.kind is BodyKind.SSE:
            stream = _replay_stream_class(hx)(stored.body, reply, request, hx, interaction.at_ms)
            return hx.Response(stored.status, headers=_served_headers(stored), stream=stream, extensions=extensions)
        parts = self._encoded.get(id(interaction))
        if parts is None:
            data = encode_body(stored.body)
            headers = [*_served_headers(stored), ("content-length", str(len(data)))]
            parts = self._encoded.put(id(interaction), (headers, data))
        headers, data = parts
        return hx.Response(stored.status, headers=headers, stream=hx.ByteStream(data), extensions=extensions)


def _to_request(request: Any, content: bytes, with_headers: bool = True) -> Request:
    # A replay that neither records nor matches on headers never reads them: skip the copy.
    headers = Headers(request.headers.multi_items()) if with_headers else Headers()
    body = request_body(content, request.headers.get("content-type"), request.headers.get("content-encoding"))
    if with_headers and body.decoded_from:
        headers.remove(*WIRE_HEADERS)  # stored decoded
    return Request(method=request.method.upper(), url=str(request.url), headers=headers, body=body)


def _served_headers(stored: Response) -> list[tuple[str, str]]:
    headers = stored.headers.items()
    if any(k in WIRE_HEADERS for k, _ in headers):  # recordings drop them; imports may not
        headers = [(k, v) for k, v in headers if k not in WIRE_HEADERS]
    return headers


def _extensions(stored: Response) -> dict[str, Any]:
    return {"reason_phrase": stored.reason.encode("ascii", "replace")} if stored.reason else {}


class _ReplayStreamBase:
    """An SSE body delivered in chunks, sync or async, with optional pacing and faults."""

    def __init__(self, body: Body, reply: Reply, request: Any, hx: ModuleType, start_ms: int) -> None:
        self._body = body
        self._reply = reply
        self._hx = hx
        self._request = request
        self._start_ms = start_ms

    def _planned(self) -> Iterator[tuple[float, bytes | Fault]]:
        timeout = (self._request.extensions or {}).get("timeout") or {}
        read = timeout.get("read")
        return deliveries(
            self._body,
            self._reply.stream,
            self._start_ms,
            self._reply.stream_error,
            float(read) if read is not None else None,
        )

    def _raise(self, fault: Fault) -> None:
        kind = self._hx.RemoteProtocolError if isinstance(fault, Cut) else self._hx.ReadTimeout
        raise kind(fault.message, request=self._request)

    def __iter__(self) -> Iterator[bytes]:
        if self._reply.stream.plain:
            yield from plain_chunks(self._body)
            return
        for pause, item in self._planned():
            if pause:
                time.sleep(pause)
            if not isinstance(item, bytes):
                self._raise(item)
            else:
                yield item

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self._reply.stream.plain:
            for chunk in plain_chunks(self._body):
                yield chunk
            return
        for pause, item in self._planned():
            if pause:
                await asyncio.sleep(pause)
            if not isinstance(item, bytes):
                self._raise(item)
            else:
                yield item

    def close(self) -> None:
        pass

    async def aclose(self) -> None:
        pass


@functools.cache
def _replay_stream_class(hx: ModuleType) -> type[_ReplayStreamBase]:
    # httpx checks the stream's base classes, and httpx2 has its own: one subclass per module.
    return type("ReplayStream", (_ReplayStreamBase, hx.SyncByteStream, hx.AsyncByteStream), {})


# ---------------------------------------------------------------------------- record


class _Capture:
    """Collects a live response as it is read, and records it exactly once."""

    def __init__(self, owner: HttpxInterceptor, request: Request, started: int, response: Any) -> None:
        self.owner = owner
        self.handler = owner.handler
        self.request = request
        self.started = started
        self.response = response
        self.headers = Headers(response.headers.multi_items())
        encoded = (self.headers.get("content-encoding") or "identity").lower() != "identity"
        is_sse = "text/event-stream" in (self.headers.get("content-type") or "").lower()
        # A compressed stream cannot be parsed as it arrives; it is decoded once complete.
        exact = self.handler.sse_exact
        self.decoder = SSEDecoder(clock=self.handler.now_ms, exact=exact) if is_sse and not encoded else None
        self.events: list[SSEEvent] = []
        self.raw = bytearray()
        self._done = False
        self._lock = threading.Lock()
        owner._track(self, True)

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
            body = response_body(bytes(self.raw), self.headers, exact=self.handler.sse_exact)
        headers = Headers(self.headers.items())
        headers.remove(*WIRE_HEADERS)
        response = Response(self.response.status_code, headers, body, reason=_reason(self.response))
        self.handler.record(self.request, response, self.started, max(0, self.handler.now_ms() - self.started))
        self.owner._track(self, False)

    def buffered(self, hx: ModuleType) -> Any:
        self.finish()
        live = self.response
        stream = hx.ByteStream(bytes(self.raw))
        return hx.Response(live.status_code, headers=live.headers, stream=stream, extensions=live.extensions)

    def passing_through(self, hx: ModuleType) -> Any:
        live = self.response
        stream = _passthrough_class(hx)(live.stream, self)
        return hx.Response(live.status_code, headers=live.headers, stream=stream, extensions=live.extensions)


def _reason(response: Any) -> str:
    phrase = (response.extensions or {}).get("reason_phrase")
    if isinstance(phrase, bytes):
        return phrase.decode("ascii", "replace")
    return str(getattr(response, "reason_phrase", "") or "")


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
