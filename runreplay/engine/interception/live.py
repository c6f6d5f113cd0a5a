"""What every streaming interceptor shares: building requests, capturing live responses,
and the replayed bodies it serves again and again.

An interceptor (httpx, urllib3, aiohttp) turns its client library's objects into the plain
values used here; nothing in this module imports an HTTP library.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from runreplay.cassette import WIRE_HEADERS, Body, Headers, Interaction, Request, Response, encode_body
from runreplay.engine._recent import Recent
from runreplay.engine.interception.bodies import request_body, response_body
from runreplay.engine.port import Handler
from runreplay.sse import SSEDecoder, SSEEvent

#: A patch to install: ``(class, method name, replacement)``.
Patch = tuple[Any, str, Callable[..., Any]]


class Interceptor:
    """The patches one client library needs for one session, answering through ``handler``."""

    def __init__(self, handler: Handler, captures: Captures) -> None:
        self.handler = handler
        self.captures = captures
        self._encoded = Encoded()

    def patches(self) -> list[Patch]:
        """The patches for what is installed (none when the library or its seam is missing)."""
        seam = self.seam()
        if seam is None:
            return []
        cls, name = seam
        return [(cls, name, self._wrap(getattr(cls, name)))]

    def seam(self) -> tuple[type[Any], str] | None:
        """The class and method a single patch replaces."""
        return None

    def _wrap(self, real: Callable[..., Any]) -> Callable[..., Any]:
        raise NotImplementedError


def build_request(
    method: str, url: str, headers: Iterable[tuple[str, str]] | None, content: bytes, keep_headers: bool
) -> Request:
    """The stored view of a request leaving a client; ``content`` is the body as sent."""
    if not keep_headers:
        # A replay that neither records nor matches on headers never reads them: only the two
        # that say how to read the body are looked for, without building a Headers.
        wanted = {k.lower(): v for k, v in headers or () if k.lower() in _BODY_HEADERS}
        body = request_body(content, wanted.get("content-type"), wanted.get("content-encoding"))
        return Request(method=method.upper(), url=url, headers=Headers(), body=body)
    kept = Headers(headers or ())
    body = request_body(content, kept.get("content-type"), kept.get("content-encoding"))
    if body.decoded_from:
        kept.remove(*WIRE_HEADERS)  # stored decoded
    return Request(method=method.upper(), url=url, headers=kept, body=body)


_BODY_HEADERS = frozenset({"content-type", "content-encoding"})


def served_headers(stored: Response) -> list[tuple[str, str]]:
    """A stored response's headers as served: never the wire headers (bodies are stored decoded)."""
    headers = stored.headers.items()
    if any(k in WIRE_HEADERS for k, _ in headers):  # recordings drop them; imports may not
        headers = [(k, v) for k, v in headers if k not in WIRE_HEADERS]
    return headers


class Encoded:
    """Headers and bytes built to replay recent interactions, by id: a polled state is
    served many times, and is encoded once."""

    def __init__(self) -> None:
        self._recent: Recent[int, tuple[list[tuple[str, str]], bytes]] = Recent()

    def get(self, interaction: Interaction) -> tuple[list[tuple[str, str]], bytes]:
        parts = self._recent.get(id(interaction))
        if parts is None:
            stored = interaction.response
            data = encode_body(stored.body)
            headers = [*served_headers(stored), ("content-length", str(len(data)))]
            parts = self._recent.put(id(interaction), (headers, data))
        return parts


class Captures:
    """The live responses of one session being recorded, so that the streams nobody
    finished reading are recorded, as far as they were seen, when the session ends."""

    def __init__(self) -> None:
        self._open: set[Capture] = set()
        self._lock = threading.Lock()

    def track(self, capture: Capture, active: bool) -> None:
        with self._lock:
            if active:
                self._open.add(capture)
            else:
                self._open.discard(capture)

    def finish(self) -> None:
        with self._lock:
            pending = list(self._open)
        for capture in pending:
            capture.finish()


class Capture:
    """Collects a live response as it is read, and records it exactly once."""

    def __init__(
        self,
        handler: Handler,
        captures: Captures,
        request: Request,
        started: int,
        status: int,
        reason: str,
        headers: Headers,
    ) -> None:
        self.handler = handler
        self.captures = captures
        self.request = request
        self.started = started
        self.status = status
        self.reason = reason
        self.headers = headers
        encoded = (headers.get("content-encoding") or "identity").lower() != "identity"
        is_sse = "text/event-stream" in (headers.get("content-type") or "").lower()
        # A compressed stream cannot be parsed as it arrives; it is decoded once complete.
        exact = handler.sse_exact
        self.decoder = SSEDecoder(clock=handler.now_ms, exact=exact) if is_sse and not encoded else None
        self.events: list[SSEEvent] = []
        self.raw = bytearray()
        self._done = False
        self._lock = threading.Lock()
        captures.track(self, True)

    @property
    def streams(self) -> bool:
        """Whether the response passes through live (an event stream), not read whole first."""
        return self.decoder is not None

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
            body = response_body(bytes(self.raw), Headers(self.headers.items()), exact=self.handler.sse_exact)
        headers = Headers(self.headers.items())
        headers.remove(*WIRE_HEADERS)
        response = Response(self.status, headers, body, reason=self.reason)
        self.handler.record(self.request, response, self.started, max(0, self.handler.now_ms() - self.started))
        self.captures.track(self, False)
