"""aiohttp interception (aiohttp itself, azure-core's AioHttpTransport) that streams.

The seam is a client middleware (aiohttp 3.12+), added last to every request's middlewares
by wrapping ``ClientSession._request``. A middleware sees each hop of a request as sent
(after cookies, auth, redirects and the user's own middlewares) and may answer it without
a connection, so aiohttp keeps doing everything else itself: redirects, cookies,
``raise_for_status``, timeouts. VCR.py's stub replaces ``_request`` whole instead, and
buffers every body.

A response's ``content`` is a ``PulledStream``: an aiohttp ``StreamReader`` that
pulls its next chunk only when a reader waits for data. Whatever the client reads with
(``iter_any``, ``iter_chunked``, ``readline``, ``read(n)``, ``ClientResponse.read``) then
gets one event per wait. Recording, it pulls from the live response (teed into the capture,
which stamps each event's time); replaying, from the recorded events, paced on the (virtual)
clock, with faults raised as aiohttp's own ``ClientPayloadError`` and socket read timeout.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from runreplay.cassette import BodyKind, Headers, Request, decode_content
from runreplay.engine.interception.bodies import DECODING_ERRORS
from runreplay.engine.interception.faults import Cut, Fault, areplayed, plain_chunks
from runreplay.engine.interception.live import Capture, Captures, Interceptor, build_request, served_headers
from runreplay.engine.port import Handler, Reply
from runreplay.errors import hide_frame


def supported() -> bool:
    """Whether the installed aiohttp has client middlewares (3.12); else VCR.py's stub stays."""
    try:
        from aiohttp import client_middlewares  # noqa: F401
    except ImportError:
        return False
    return True


class AiohttpInterceptor(Interceptor):
    """The aiohttp patch of one session."""

    def seam(self) -> tuple[type[Any], str] | None:
        if not supported():
            return None
        from aiohttp import ClientSession

        return ClientSession, "_request"

    def _wrap(self, real: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(real)
        async def _request(session: Any, method: str, str_or_url: Any, **kw: Any) -> Any:
            __tracebackhide__ = hide_frame
            read_timeout = _read_timeout(session, kw.get("timeout"))
            decode = kw.get("auto_decompress")
            decode = session.auto_decompress if decode is None else decode
            # Bodies are taken raw, to be stored decoded from their own encoding, and decoded here
            # for the client if it wanted them so.
            kw["auto_decompress"] = False
            mine = functools.partial(self._middleware, read_timeout=read_timeout, decode=decode)
            given = kw.get("middlewares")
            kw["middlewares"] = (*(session._middlewares if given is None else given), mine)
            return await real(session, method, str_or_url, **kw)

        return _request

    async def _middleware(
        self, req: Any, handler: Callable[[Any], Any], *, read_timeout: float | None, decode: bool
    ) -> Any:
        __tracebackhide__ = hide_frame
        started = self.handler.now_ms()
        content = await _body_bytes(req)
        keep = self.handler.wants_request_headers
        ours = build_request(req.method, str(req.url), list(req.headers.items()), content, keep)
        reply = self.handler.respond(ours, content)
        if reply is not None:
            return self._replay(reply, req, read_timeout)
        return await _record(self.handler, self.captures, ours, started, await handler(req), decode)

    def _replay(self, reply: Reply, req: Any, read_timeout: float | None) -> Any:
        stored = reply.interaction.response
        if stored.body.kind is BodyKind.SSE:
            headers = served_headers(stored)
            plain = reply.stream.plain
            chunks = plain_chunks(stored.body) if plain else areplayed(reply, read_timeout, _error)
            return _response(req, stored.status, stored.reason, headers, _pulled(chunks, req.loop))
        headers, data = self._encoded.get(reply.interaction)
        return _response(req, stored.status, stored.reason, headers, _filled(data, req.loop))


async def _record(handler: Handler, captures: Captures, ours: Request, started: int, live: Any, decode: bool) -> Any:
    headers = Headers([(str(k), str(v)) for k, v in live.headers.items()])
    capture = Capture(handler, captures, ours, started, live.status, str(live.reason or ""), headers)
    if capture.streams:
        live.content = _pulled(_tee(live.content, capture), live.content._loop)
        return live
    try:
        capture.feed(await live.read())
    finally:
        capture.finish()
    data = bytes(capture.raw)
    if decode:
        with contextlib.suppress(*DECODING_ERRORS):  # misdescribed: aiohttp would fail; hand it over as it is
            data = decode_content(data, headers.get("content-encoding"))
    # The body is read: hand it to whoever reads ``content`` rather than ``read()``, too.
    live.content = _filled(data, live.content._loop)
    live._body = None
    return live


async def _tee(content: Any, capture: Capture) -> AsyncIterator[bytes]:
    try:
        async for chunk in content.iter_any():
            capture.feed(chunk)
            yield chunk
    finally:
        capture.finish()


def _filled(data: bytes, loop: Any) -> Any:
    """A stream holding a whole body already (nothing to wait for)."""
    stream = _pulled(iter(()), loop)
    stream.feed_data(data)
    stream.feed_eof()
    return stream


def _error(fault: Fault) -> BaseException:
    import aiohttp

    if isinstance(fault, Cut):
        return aiohttp.ClientPayloadError(f"Response payload is not completed: {fault.message}")
    timeout: type[BaseException] = getattr(aiohttp, "SocketTimeoutError", aiohttp.ServerTimeoutError)
    return timeout(f"Timeout on reading data from socket: {fault.message}")


def _read_timeout(session: Any, given: Any) -> float | None:
    """The read timeout a request runs under: its own, else its session's (the socket read
    timeout, else the whole request's)."""
    import aiohttp

    timeout = given if isinstance(given, aiohttp.ClientTimeout) else session.timeout
    value = timeout.sock_read if timeout.sock_read is not None else timeout.total
    return float(value) if value is not None else None


async def _body_bytes(req: Any) -> bytes:
    from aiohttp import payload

    body = req.body
    if not body:
        return b""
    data = bytes(await body.as_bytes())
    if not isinstance(body, payload.BytesPayload):
        await req.update_body(data)  # read here: sent as the bytes just read, if it goes through
    return data


def _response(req: Any, status: int, reason: str, headers: list[tuple[str, str]], content: Any) -> Any:
    """A ``ClientResponse`` as ``ClientResponse.start`` leaves one, with no connection."""
    from aiohttp import ClientResponse
    from multidict import CIMultiDict, CIMultiDictProxy

    loop = req.loop
    response: Any = req.response_class(req.method, req.original_url, **_response_kwargs(req, loop))
    response._closed = False
    response.version = req.version
    response.status = status
    response.reason = reason or _reason(status)
    response._headers = CIMultiDictProxy(CIMultiDict(headers))
    response._raw_headers = tuple((k.encode("latin-1"), v.encode("latin-1")) for k, v in headers)
    response.content = content
    content.on_eof(response._response_eof)
    cookies = response._headers.getall("set-cookie", ())
    if cookies:
        response._raw_cookie_headers = tuple(cookies)
    assert isinstance(response, ClientResponse)
    return response


def _response_kwargs(req: Any, loop: Any) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "writer": None,
        "continue100": None,
        "timer": None,
        "request_info": req.request_info,
        "traces": [],
        "loop": loop,
        "session": req._session,
    }
    if "stream_writer" in _init_parameters(req.response_class):
        kwargs["stream_writer"] = _NoWriter()
    return kwargs


@functools.cache
def _init_parameters(cls: type[Any]) -> frozenset[str]:
    return frozenset(inspect.signature(cls.__init__).parameters)


class _NoWriter:
    """What a response asks of the writer of a request that was never sent."""

    output_size = 0


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


class _Protocol:
    """The connection a pulled stream has instead of a socket: always there, never paused."""

    connected = True
    _reading_paused = False

    def pause_reading(self) -> None:
        pass

    def resume_reading(self, resume_parser: bool = True) -> None:
        pass


@functools.cache
def _pulled_stream_class() -> type[Any]:
    from aiohttp import StreamReader

    class PulledStream(StreamReader):
        """A ``StreamReader`` that fetches its next chunk when a reader waits for one. A
        plain replay hands over a plain iterator: no coroutine per event."""

        def __init__(self, chunks: AsyncIterator[bytes] | Iterator[bytes], loop: Any) -> None:
            super().__init__(_Protocol(), 2**16, loop=loop)  # type: ignore[arg-type]
            self._chunks = chunks

        async def _wait(self, func_name: str) -> None:
            chunks = self._chunks
            try:
                chunk = next(chunks, None) if isinstance(chunks, Iterator) else await anext(chunks, None)
            except BaseException as exc:
                self.set_exception(exc)
                raise
            if chunk is None:
                self.feed_eof()
            else:
                self.feed_data(chunk)

    return PulledStream


def _pulled(chunks: AsyncIterator[bytes] | Iterator[bytes], loop: Any) -> Any:
    return _pulled_stream_class()(chunks, loop)
