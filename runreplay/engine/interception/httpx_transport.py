"""httpx and httpx2 interception that streams: live pass-through on record, per-event replay.

VCR.py's own httpx stubs read a whole response before handing it on, and replay a body as
one chunk. That is fine for JSON but not for server-sent events, so for httpx and httpx2
runreplay registers these handlers instead, through the ``custom_patches`` hook of
VCR.py's patcher builder (requests and aiohttp have theirs too: :mod:`.urllib3_pool`,
:mod:`.aiohttp_session`).

Recording: the code under test receives each chunk as the server sends it, while an
incremental SSE decoder timestamps every event; a stream the client abandons, or one the
server ends without a terminator, is recorded as far as it was seen.

Replay: an SSE body is delivered event by event in separate chunks, optionally paced in
(virtual) time, re-chunked, or with a fault injected (see :mod:`.faults`).
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable, Iterator
from types import ModuleType
from typing import Any

from runreplay.cassette import BodyKind, Headers, Request, Response
from runreplay.engine.interception.faults import Cut, Fault, areplayed, replayed
from runreplay.engine.interception.live import Capture, Captures, Interceptor, Patch, build_request, served_headers
from runreplay.engine.port import Handler, Reply
from runreplay.errors import hide_frame


class HttpxInterceptor(Interceptor):
    """The httpx/httpx2 patches of one session."""

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

    def _capture(self, request: Request, started: int, response: Any) -> _Capture:
        return _Capture(self.handler, self.captures, request, started, response)

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
            capture = self._capture(ours, started, real(transport, request))
            if capture.streams:
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
            capture = self._capture(ours, started, await real(transport, request))
            if capture.streams:
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
            stream = _replay_stream_class(hx)(reply, request, hx)
            return hx.Response(stored.status, headers=served_headers(stored), stream=stream, extensions=extensions)
        headers, data = self._encoded.get(interaction)
        return hx.Response(stored.status, headers=headers, stream=hx.ByteStream(data), extensions=extensions)


def _to_request(request: Any, content: bytes, with_headers: bool = True) -> Request:
    headers = request.headers
    if with_headers:
        return build_request(request.method, str(request.url), headers.multi_items(), content, True)
    # Only the two headers that say how to read the body.
    sent = [(k, v) for k in ("content-type", "content-encoding") if (v := headers.get(k)) is not None]
    return build_request(request.method, str(request.url), sent, content, False)


def _extensions(stored: Response) -> dict[str, Any]:
    return {"reason_phrase": stored.reason.encode("ascii", "replace")} if stored.reason else {}


class _ReplayStreamBase:
    """An SSE body delivered in chunks, sync or async, with optional pacing and faults."""

    def __init__(self, reply: Reply, request: Any, hx: ModuleType) -> None:
        self._reply = reply
        self._hx = hx
        self._request = request
        timeout = (request.extensions or {}).get("timeout") or {}
        read = timeout.get("read")
        self._read_timeout = float(read) if read is not None else None

    def _error(self, fault: Fault) -> BaseException:
        kind = self._hx.RemoteProtocolError if isinstance(fault, Cut) else self._hx.ReadTimeout
        error: BaseException = kind(fault.message, request=self._request)
        return error

    def __iter__(self) -> Iterator[bytes]:
        return replayed(self._reply, self._read_timeout, self._error)

    def __aiter__(self) -> AsyncIterator[bytes]:
        return areplayed(self._reply, self._read_timeout, self._error)

    def close(self) -> None:
        pass

    async def aclose(self) -> None:
        pass


@functools.cache
def _replay_stream_class(hx: ModuleType) -> type[_ReplayStreamBase]:
    # httpx checks the stream's base classes, and httpx2 has its own: one subclass per module.
    return type("ReplayStream", (_ReplayStreamBase, hx.SyncByteStream, hx.AsyncByteStream), {})


# ---------------------------------------------------------------------------- record


class _Capture(Capture):
    """A :class:`Capture` of an httpx response, which it hands on buffered or passing through."""

    def __init__(self, handler: Handler, captures: Captures, request: Request, started: int, response: Any) -> None:
        headers = Headers(response.headers.multi_items())
        super().__init__(handler, captures, request, started, response.status_code, _reason(response), headers)
        self.response = response

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
