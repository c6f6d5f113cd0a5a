"""The HTTP side of ``runreplay serve``: a request in, a replayed (or forwarded) reply out.

``/<cassette>/<the API's own path>`` is answered by that cassette's session through the
same :class:`~runreplay.engine.port.Handler` port the in-process interceptors use: a
:class:`~runreplay.engine.port.Reply` is served (a stream event by event, with its recorded
framing), and ``None`` sends the request to the upstream, whose reply streams back to the
client while a :class:`~runreplay.engine.interception.live.Capture` records it.
``/_runreplay/<cassette>/reset`` and ``/report`` are the control API.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any, TextIO

import httpx
from starlette.applications import Starlette
from starlette.requests import Request as HttpRequest
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from runreplay.cassette import BodyKind, Headers, Request
from runreplay.engine.interception.faults import Fault, areplayed
from runreplay.engine.interception.live import Capture, Encoded, build_request, served_headers
from runreplay.engine.port import Reply
from runreplay.engine.timeline import Step
from runreplay.errors import UnmatchedRequestError
from runreplay.providers import find
from runreplay.server.cassettes import CONTROL, Cassettes, ServedCassette

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
#: Headers of one connection, never passed on (RFC 9110 7.6.1), and the client's Host.
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade", "host"}
)
#: The interval (ms) an SDK's poll helper announces it sleeps between polls when its caller set one.
POLL_INTERVAL_HEADER = "x-stainless-custom-poll-interval"
#: How long the SDKs' poll helpers and retries are told to wait: the server answers on a
#: virtual timeline, so a real wait is wasted. Not 0: openai-node then polls in a tight loop.
POLL_AFTER_HEADER = "openai-poll-after-ms"
RETRY_AFTER_MS_HEADER = "retry-after-ms"
#: What an unmatched request gets: a client error, which the SDKs do not retry.
UNMATCHED_STATUS = 400
NO_RETRY = ("x-should-retry", "false")


class StreamCut(ConnectionError):
    """Ends a replayed stream abruptly (a ``cut_after`` fault): the client sees the connection drop."""


class ServerApp:
    """The routes and their handlers, around the folder's :class:`Cassettes`."""

    def __init__(self, cassettes: Cassettes, *, upstream: Callable[[], str | None], poll_after_ms: int, log: TextIO):
        self.cassettes = cassettes
        self.upstream = upstream
        self.poll_after_ms = poll_after_ms
        self.log = log
        self._encoded = Encoded()
        self.app = Starlette(
            routes=[
                Route(f"/{CONTROL}/{{name:path}}/reset", self.reset, methods=["POST"]),
                Route(f"/{CONTROL}/{{name:path}}/report", self.report, methods=["GET"]),
                Route("/{path:path}", self.handle, methods=METHODS),
            ]
        )

    # ------------------------------------------------------------------ control API

    async def reset(self, request: HttpRequest) -> Response:
        served = self._known(request)
        if served is None:
            return self._unknown(str(request.path_params["name"]))
        problems = served.reset()
        for problem in problems:
            self.log.write(f"runreplay serve: {served.name}: {problem}\n")
        return _json(200, {"cassette": served.name, "reset": True, "problems": problems})

    async def report(self, request: HttpRequest) -> Response:
        served = self._known(request)
        if served is None:
            return self._unknown(str(request.path_params["name"]))
        return _json(200, served.report())

    def _known(self, request: HttpRequest) -> ServedCassette | None:
        return self.cassettes.known(str(request.path_params["name"]))

    def _unknown(self, name: str) -> Response:
        folder = self.cassettes.directory
        message = (
            f"runreplay serve: no cassette named {name!r} in {folder} ({self.cassettes.file_of(name)} does not "
            f"exist). Requests go to /<cassette name>/<the API's own path>, for a cassette <name>.json under {folder}."
        )
        return _json(404, {"error": {"message": message, "type": "not_found_error"}}, NO_RETRY)

    # ------------------------------------------------------------------ the API

    async def handle(self, request: HttpRequest) -> Response:
        raw_path = (request.scope.get("raw_path") or request.url.path.encode()).decode("latin-1").split("?", 1)[0]
        located = self.cassettes.locate(raw_path)
        if located is None:
            return self._unknown(raw_path.lstrip("/").split("/", 1)[0])
        served = located.cassette
        query = request.scope.get("query_string", b"").decode("latin-1")
        base = self.upstream() or str(request.base_url).rstrip("/")
        url = base + located.api_path + (f"?{query}" if query else "")
        content = await request.body()
        headers = [
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, v in request.headers.raw
            if k.decode("latin-1").lower() not in HOP_BY_HOP
        ]
        session = served.session
        started = session.now_ms()
        ours = build_request(request.method, url, headers, content, session.wants_request_headers)
        try:
            reply, step = served.respond(ours, content, _milliseconds(request.headers.get(POLL_INTERVAL_HEADER)))
        except UnmatchedRequestError as exc:
            return self._unmatched(served, ours, exc)
        if reply is not None:
            return self._replay(reply, step)
        return await self._forward(served, ours, headers, content, started)

    def _unmatched(self, served: ServedCassette, request: Request, exc: UnmatchedRequestError) -> Response:
        message = exc.message
        self.log.write(f"runreplay serve: {served.name}: {request.method} {request.path}: {message}\n")
        routed = find(request)
        body: Any = {"error": {"message": message, "type": "invalid_request_error"}}
        if routed is not None:  # the vendor's own error shape, as its SDK parses it
            body = routed.provider.stream_error(message).data
        return _json(UNMATCHED_STATUS, body, NO_RETRY)

    def _replay(self, reply: Reply, step: Step | None) -> Response:
        stored = reply.interaction.response
        if stored.body.kind is BodyKind.SSE:
            headers = served_headers(stored)
            streamed = StreamingResponse(areplayed(reply, None, _cut), status_code=stored.status)
            streamed.raw_headers = _raw(self._hinted(headers, stored.status, step))
            return streamed
        headers, data = self._encoded.get(reply.interaction)
        response = Response(data, status_code=stored.status)
        response.raw_headers = _raw(self._hinted(headers, stored.status, step))
        return response

    def _hinted(self, headers: list[tuple[str, str]], status: int, step: Step | None) -> list[tuple[str, str]]:
        """``headers`` telling the SDKs to wait only a few ms before the next poll or retry."""
        retry = status == 429 or any(k.lower() in ("retry-after", RETRY_AFTER_MS_HEADER) for k, _ in headers)
        if step is None and not retry:
            return headers
        hint = str(self.poll_after_ms)
        drop = {POLL_AFTER_HEADER, RETRY_AFTER_MS_HEADER}
        out = [(k, v) for k, v in headers if k.lower() not in drop]
        if step is not None:
            out.append((POLL_AFTER_HEADER, hint))
        if retry:
            out.append((RETRY_AFTER_MS_HEADER, hint))
        return out

    # ------------------------------------------------------------------ recording

    async def _forward(
        self, served: ServedCassette, ours: Request, headers: list[tuple[str, str]], content: bytes, started: int
    ) -> Response:
        client = httpx.AsyncClient(timeout=httpx.Timeout(30.0, read=600.0))
        try:
            upstream = client.build_request(ours.method, ours.url, headers=headers, content=content)
            live = await client.send(upstream, stream=True)
        except httpx.HTTPError as exc:
            await client.aclose()
            message = f"runreplay serve: the upstream {self.upstream()} did not answer {ours.method} {ours.url}: {exc}"
            self.log.write(message + "\n")
            return _json(502, {"error": {"message": message, "type": "upstream_error"}}, NO_RETRY)
        capture = Capture(
            served.session,
            served.captures,
            ours,
            started,
            live.status_code,
            live.reason_phrase,
            Headers(live.headers.multi_items()),
        )
        passed = [(k, v) for k, v in live.headers.multi_items() if k.lower() not in HOP_BY_HOP | {"content-length"}]

        async def chunks() -> AsyncIterator[bytes]:
            try:
                async for chunk in live.aiter_raw():
                    capture.feed(chunk)
                    yield chunk
            finally:
                await live.aclose()
                await client.aclose()
                capture.finish()

        if capture.streams:  # an event stream: each chunk to the client as it arrives
            streamed = StreamingResponse(chunks(), status_code=live.status_code)
            streamed.raw_headers = _raw(passed)
            return streamed
        data = b"".join([chunk async for chunk in chunks()])
        response = Response(data, status_code=live.status_code)
        response.raw_headers = _raw([*passed, ("content-length", str(len(data)))])
        return response


def _cut(fault: Fault) -> BaseException:
    return StreamCut(fault.message)


def _milliseconds(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return max(0, int(float(value)))
    except ValueError:
        return None


def _raw(headers: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]


def _json(status: int, body: Any, *extra: tuple[str, str]) -> Response:
    data = json.dumps(body).encode()
    response = Response(data, status_code=status)
    response.raw_headers = _raw([("content-type", "application/json"), ("content-length", str(len(data))), *extra])
    return response
