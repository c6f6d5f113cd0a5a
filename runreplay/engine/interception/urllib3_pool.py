"""urllib3 interception (requests, azure-core's RequestsTransport, plain urllib3) that streams.

The seam is ``HTTPConnectionPool._make_request``: urllib3 2's one method that sends one
request on one connection and returns its response. Everything above it (requests'
``HTTPAdapter.send``, urllib3's ``urlopen`` with its retries and redirects, connection
pooling) runs unchanged, so each hop of a redirect or a retry is one recorded exchange, as
on the wire, and every client built on urllib3 is covered without knowing it. Patching
``HTTPAdapter.send`` instead would miss urllib3's own users and see redirects only when
requests follows them; patching ``urlopen`` would see a redirect's hops through one call.
Replay never touches the connection the pool hands out (it is created, not connected).

Recording: an event stream passes through as the server sends it (``read1``), teed into
the capture, which stamps each event's time; other bodies are read whole, raw, and handed
back with their headers so that urllib3 decodes them exactly as it would have.

Replay: an SSE body comes from a reader that yields one delivery (an event, or a re-cut
piece of one) per read, so ``stream()`` and requests' ``iter_content`` see one chunk per
event, as from a live chunked response; pacing sleeps on the (virtual) clock and faults
raise urllib3's own errors (``ProtocolError``, ``ReadTimeoutError``), which requests turns
into ``ChunkedEncodingError`` / ``ConnectionError`` as it would for a real server.
"""

from __future__ import annotations

import functools
import http.client
import io
from collections.abc import Callable, Generator, Iterable, Iterator
from typing import Any

from runreplay.cassette import BodyKind, Headers
from runreplay.engine.interception.faults import Cut, Fault, replayed
from runreplay.engine.interception.live import Capture, Interceptor, build_request, served_headers
from runreplay.engine.port import Reply
from runreplay.errors import hide_frame

_READ = 65536


def supported() -> bool:
    """Whether the installed urllib3 has the seam (urllib3 2); else VCR.py's stubs stay."""
    try:
        import urllib3
    except ImportError:
        return False
    return int(str(getattr(urllib3, "__version__", "0")).split(".")[0]) >= 2


class Urllib3Interceptor(Interceptor):
    """The urllib3 patch of one session."""

    def seam(self) -> tuple[type[Any], str] | None:
        if not supported():
            return None
        from urllib3.connectionpool import HTTPConnectionPool

        return HTTPConnectionPool, "_make_request"

    def _wrap(self, real: Callable[..., Any]) -> Callable[..., Any]:
        handler = self.handler

        @functools.wraps(real)
        def _make_request(pool: Any, conn: Any, method: str, url: str, body: Any = None, **kw: Any) -> Any:
            __tracebackhide__ = hide_frame
            started = handler.now_ms()
            content = _body_bytes(body)
            headers = kw.get("headers")
            sent = list((headers if headers is not None else pool.headers).items())
            ours = build_request(method, _full_url(pool, url), sent, content, handler.wants_request_headers)
            reply = handler.respond(ours, content)
            if reply is not None:
                return self._replay(reply, pool, method, url, kw)
            wanted = kw.get("preload_content", True)
            kw["preload_content"] = False  # read here, raw, then handed on
            live = real(pool, conn, method, url, content if _consumable(body) else body, **kw)
            return _record(Capture(handler, self.captures, ours, started, *_status(live)), live, wanted, kw)

        return _make_request

    def _replay(self, reply: Reply, pool: Any, method: str, url: str, kw: dict[str, Any]) -> Any:
        from urllib3 import HTTPHeaderDict, HTTPResponse

        stored = reply.interaction.response
        if stored.body.kind is BodyKind.SSE:
            read_timeout = pool._get_timeout(kw.get("timeout", pool.timeout)).read_timeout
            chunks = replayed(reply, read_timeout, _error_maker(pool, url))
            headers = served_headers(stored)
            common = _response_args(pool, method, url, kw, headers)
            return _streaming_class()(
                body=_ChunkReader(chunks), headers=headers, status=stored.status, reason=stored.reason, **common
            )
        headers, data = self._encoded.get(reply.interaction)
        common = _response_args(pool, method, url, kw, headers)
        return HTTPResponse(
            body=io.BytesIO(data), headers=HTTPHeaderDict(headers), status=stored.status, reason=stored.reason, **common
        )


def _record(capture: Capture, live: Any, preload: bool, kw: dict[str, Any]) -> Any:
    from urllib3 import HTTPResponse

    args = {
        "headers": live.headers,
        "status": live.status,
        "version": live.version,
        "reason": live.reason,
        "preload_content": preload,
        "decode_content": kw.get("decode_content", True),
        "original_response": getattr(live, "_original_response", None),
        "pool": None,  # the live response keeps the connection, and gives it back itself
        "connection": None,
        "retries": kw.get("retries"),
        "enforce_content_length": kw.get("enforce_content_length", True),
        "request_method": live._request_method if hasattr(live, "_request_method") else None,
        "request_url": live._request_url if hasattr(live, "_request_url") else None,
    }
    if capture.streams:
        reader = _ChunkReader(_tee(live, capture), on_close=live.close)
        return _streaming_class()(body=reader, **args)
    try:
        capture.feed(live.read(decode_content=False))
    finally:
        live.release_conn()
    capture.finish()
    return HTTPResponse(body=io.BytesIO(bytes(capture.raw)), **args)


def _tee(live: Any, capture: Capture) -> Iterator[bytes]:
    """The live body as it arrives (``read1``: what is there, not a full buffer), kept as read."""
    try:
        while chunk := live.read1(_READ, decode_content=False):
            capture.feed(chunk)
            yield chunk
    finally:
        capture.finish()
        live.release_conn()


def _status(live: Any) -> tuple[int, str, Headers]:
    return int(live.status), str(live.reason or ""), Headers(list(live.headers.items()))


def _response_args(
    pool: Any, method: str, url: str, kw: dict[str, Any], headers: list[tuple[str, str]]
) -> dict[str, Any]:
    return {
        "version": 11,
        "preload_content": kw.get("preload_content", True),
        "decode_content": kw.get("decode_content", True),
        "original_response": _Original(headers),
        "pool": pool,
        "connection": kw.get("response_conn"),  # never connected: going back to the pool is harmless
        "retries": kw.get("retries"),
        "enforce_content_length": kw.get("enforce_content_length", True),
        "request_method": method,
        "request_url": url,
    }


class _Original:
    """Stands in for the ``http.client`` response urllib3 wraps: replay has no socket to
    close, and requests reads the cookies a reply sets from its ``msg``."""

    def __init__(self, headers: list[tuple[str, str]]) -> None:
        self.msg = http.client.HTTPMessage()
        for name, value in headers:
            self.msg[name] = value

    def isclosed(self) -> bool:
        return True

    def close(self) -> None:
        pass


def _error_maker(pool: Any, url: str) -> Callable[[Fault], BaseException]:
    from urllib3.exceptions import ProtocolError, ReadTimeoutError

    def error(fault: Fault) -> BaseException:
        if isinstance(fault, Cut):
            return ProtocolError(f"Connection broken: {fault.message}")
        return ReadTimeoutError(pool, url, fault.message)

    return error


class _ChunkReader(io.RawIOBase):
    """A body read from an iterator of chunks, never more than one chunk per read."""

    def __init__(self, chunks: Iterator[bytes], on_close: Callable[[], None] | None = None) -> None:
        super().__init__()
        self._chunks = chunks
        self._left = b""
        self._on_close = on_close

    def readable(self) -> bool:
        return True

    def next_chunk(self, limit: int | None = None) -> bytes:
        """The rest of the current chunk, or the next one (``b""`` at the end), at most ``limit`` bytes."""
        data = self._left
        if not data and not self.closed:
            for data in self._chunks:  # the first non-empty chunk is kept
                if data:
                    break
            else:
                data = b""
                self.close()
        if limit is not None and 0 <= limit < len(data):
            data, self._left = data[:limit], data[limit:]
        else:
            self._left = b""
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.next_chunk(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def read1(self, size: int = -1) -> bytes:
        return self.next_chunk(size if size >= 0 else None)

    def close(self) -> None:
        if self.closed:
            return
        super().close()
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()
        if self._on_close is not None:
            self._on_close()


@functools.cache
def _streaming_class() -> type[Any]:
    from urllib3 import HTTPResponse

    class StreamingResponse(HTTPResponse):
        """A response whose ``stream()`` yields each chunk as it comes (one per event),
        cut at ``amt`` bytes, like urllib3 reading a live chunked response."""

        def stream(self, amt: int | None = 2**16, decode_content: bool | None = None) -> Generator[bytes, None, None]:
            reader = self._fp
            if not isinstance(reader, _ChunkReader):  # pragma: no cover - set by the constructor
                yield from super().stream(amt, decode_content)
                return
            if self._decoded_buffer:
                yield self._decoded_buffer.get_all()
            while chunk := reader.next_chunk(amt if amt and amt > 0 else None):
                yield chunk

    return StreamingResponse


def _full_url(pool: Any, url: str) -> str:
    if not url.startswith("/"):  # through a proxy: already absolute
        return url
    host = f"[{pool.host}]" if ":" in pool.host else pool.host
    default = {"http": 80, "https": 443}.get(pool.scheme)
    port = "" if pool.port in (None, default) else f":{pool.port}"
    return f"{pool.scheme}://{host}{port}{url}"


def _consumable(body: Any) -> bool:
    """Whether sending ``body`` consumes it (a file or an iterator): it is read here and sent as bytes."""
    return body is not None and not isinstance(body, (bytes, bytearray, memoryview, str))


def _body_bytes(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode("utf-8")
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body)
    if hasattr(body, "read"):
        data = body.read()
        return data.encode("utf-8") if isinstance(data, str) else bytes(data)
    parts: Iterable[Any] = body
    return b"".join(part.encode("utf-8") if isinstance(part, str) else bytes(part) for part in parts)
