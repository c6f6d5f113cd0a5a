"""The face a session shows to VCR.py's stubs (a duck-typed ``vcr.cassette.Cassette``).

VCR.py knows how to intercept http.client, httplib2, tornado and friends. Its stubs ask
their cassette four questions (can you play this request? play it; are you write-protected?
append this exchange); :class:`VcrCassette` answers them through the :class:`Handler`
port, in runreplay's own cassette format and matching. httpx, httpx2, urllib3 2 (requests)
and aiohttp 3.12+ get runreplay's streaming handlers instead, through VCR.py's
``custom_patches`` hook; VCR.py's stubs for them stay only where those seams are missing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from runreplay.cassette import (
    WIRE_HEADERS,
    BodyKind,
    Headers,
    Request,
    Response,
    encode_body,
)
from runreplay.engine.interception.bodies import response_body
from runreplay.engine.interception.live import build_request
from runreplay.engine.port import Handler, Reply
from runreplay.errors import hide_frame

_REQUEST_ATTR = "_runreplay_request"
_PENDING_ATTR = "_runreplay_pending"
_START_ATTR = "_runreplay_started"


class VcrCassette:
    """Answers VCR.py's stubs for one session."""

    def __init__(self, handler: Handler, custom_patches: Sequence[tuple[Any, str, Any]], skip: tuple[str, ...]) -> None:
        self.handler = handler
        self.custom_patches = tuple(custom_patches)
        #: VCR.py's own patchers for these clients are not installed (runreplay patches them).
        self.skip_patchers = skip
        #: VCR.py appends this to the names of the stub classes it builds.
        self._path = "runreplay"

    @property
    def write_protected(self) -> bool:
        return not self.handler.recording

    def filter_request(self, request: Any) -> Any:
        return request

    def _request(self, vcr_request: Any) -> Request:
        """The runreplay view of a VCR.py request, built once per request."""
        request: Request | None = getattr(vcr_request, _REQUEST_ATTR, None)
        if request is None:
            items = _vcr_header_items(vcr_request.headers)
            request = build_request(vcr_request.method, vcr_request.uri, items, _body_bytes(vcr_request), True)
            setattr(vcr_request, _REQUEST_ATTR, request)
            setattr(vcr_request, _START_ATTR, self.handler.now_ms())
        return request

    def can_play_response_for(self, vcr_request: Any) -> bool:
        __tracebackhide__ = hide_frame
        # VCR.py asks more than once per request (requests asks on connect, too).
        if not hasattr(vcr_request, _PENDING_ATTR):
            setattr(vcr_request, _PENDING_ATTR, self.handler.respond(self._request(vcr_request)))
        return getattr(vcr_request, _PENDING_ATTR) is not None

    def play_response(self, vcr_request: Any) -> dict[str, Any]:
        reply: Reply | None = getattr(vcr_request, _PENDING_ATTR, None)
        if reply is None:  # pragma: no cover - VCR always asks can_play_response_for first
            raise RuntimeError(f"runreplay: no recorded response for {vcr_request.uri}")
        return response_to_vcr(reply.interaction.response)

    def append(self, vcr_request: Any, vcr_response: dict[str, Any]) -> None:
        request = self._request(vcr_request)
        resp_headers = Headers.from_mapping(vcr_response["headers"])
        raw = vcr_response["body"]["string"]
        raw = raw.encode("utf-8") if isinstance(raw, str) else (raw or b"")
        body = response_body(raw, resp_headers, exact=self.handler.sse_exact)
        response = Response(
            status=int(vcr_response["status"]["code"]),
            reason=str(vcr_response["status"].get("message") or ""),
            headers=resp_headers,
            body=body,
        )
        at_ms: int = getattr(vcr_request, _START_ATTR, 0)
        if body.kind is BodyKind.SSE:
            # VCR.py hands over the stream only once it has ended: the events' own times are
            # unknown, so they get the time of the request.
            for event in body.events:
                event.at_ms = at_ms
        self.handler.record(request, response, at_ms, max(0, self.handler.now_ms() - at_ms))


def response_to_vcr(response: Response) -> dict[str, Any]:
    """A stored response in the dict shape VCR.py's stubs build client responses from."""
    data = encode_body(response.body)
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
