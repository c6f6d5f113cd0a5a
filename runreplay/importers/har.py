"""HAR 1.2 archives (browser dev tools, mitmproxy, Charles, Playwright).

``log.entries[]`` each hold ``startedDateTime``, ``time``, ``request {method, url, headers
[{name, value}], postData {mimeType, text | params}}`` and ``response {status, statusText,
headers, content {mimeType, text, encoding?}}``. HAR stores ``content.text`` already
HTTP-decoded (base64 when ``encoding`` says so) even when Content-Encoding is kept.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from runreplay.cassette import Body, Headers, Interaction, Request, Response
from runreplay.importers._build import Exchange
from runreplay.importers._fields import ROOT, SourceError, Where, expect, get, need, scalar_text
from runreplay.importers._http import body_from_source, headers_from, parse_time, status_field

NAME = "har"


def convert(doc: Any, source: Path) -> list[Exchange]:
    log = need(doc, "log", ROOT, dict, "an object")
    entries = need(log, "entries", ROOT / "log", list, "a list of entries")
    return [_exchange(entry, ROOT / "log" / "entries" / i) for i, entry in enumerate(entries)]


def _exchange(entry: Any, where: Where) -> Exchange:
    expect(entry, where, dict, "an entry (an object)")
    req = need(entry, "request", where, dict, "an object")
    resp = need(entry, "response", where, dict, "an object")
    rq, rs = where / "request", where / "response"

    req_headers = headers_from(req.get("headers"), rq / "headers")
    request = Request(
        method=need(req, "method", rq, str, "an HTTP method").upper(),
        url=need(req, "url", rq, str, "a URL"),
        headers=req_headers,
        body=_post_data(get(req, "postData", rq, dict, "an object"), req_headers, rq / "postData"),
    )
    resp_headers = headers_from(resp.get("headers"), rs / "headers")
    response = Response(
        status=status_field(resp, "status", rs),
        reason=scalar_text(resp.get("statusText"), rs / "statusText"),
        headers=resp_headers,
        body=_content(get(resp, "content", rs, dict, "an object"), resp_headers, rs / "content"),
    )
    times = {"started": parse_time(entry.get("startedDateTime"))}
    return Exchange(Interaction(request=request, response=response), times)


def _post_data(post: dict[str, Any] | None, headers: Headers, where: Where) -> Body:
    if post is None:
        return Body.empty()
    text = get(post, "text", where, str, "text")
    if text is None and post.get("params"):
        params = expect(post["params"], where / "params", list, "a list of name/value objects")
        text = urlencode([(p.get("name", ""), p.get("value", "")) for p in params if isinstance(p, dict)])
    return _decoded(text, post, headers, where)


def _content(content: dict[str, Any] | None, headers: Headers, where: Where) -> Body:
    if content is None:
        return Body.empty()
    return _decoded(get(content, "text", where, str, "text"), content, headers, where)


def _decoded(text: str | None, part: dict[str, Any], headers: Headers, where: Where) -> Body:
    raw: bytes | str | None = text
    if text is not None and part.get("encoding") == "base64":
        try:
            raw = base64.b64decode(text, validate=True)
        except binascii.Error as exc:
            raise SourceError(f"invalid base64: {exc}", where / "text") from None
    # Not strict: HAR text is normally decoded already, but some tools keep the wire bytes.
    mime = get(part, "mimeType", where, str, "a media type")
    return body_from_source(raw, headers, where / "text", strict=False, content_type=mime)
