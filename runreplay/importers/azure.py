"""Azure SDK test-proxy recordings (``SessionRecords`` JSON, used by openai-dotnet).

Shape: ``{"Entries": [{"RequestUri", "RequestMethod", "RequestHeaders", "RequestBody",
"StatusCode", "ResponseHeaders", "ResponseBody"}], "Variables": {...}}``. The proxy writes
a body as: null (none), a JSON object (a JSON body), ``[]`` (empty), an array of strings
(text cut after each line break, so SSE streams; joining them restores the text exactly),
a string (text for textual content types, base64 otherwise).

The SDKs' sanitizers may replace an id in URLs but not in bodies (``/runs/Sanitized``); such
ids are put back where the recording names them, with a :class:`SanitizedIdWarning` naming the
file and the entries (:mod:`runreplay.importers._links`).
"""

from __future__ import annotations

import base64
import binascii
import warnings
from pathlib import Path
from typing import Any

from runreplay import _json
from runreplay.cassette import Body, Headers, Interaction, Request, Response
from runreplay.errors import SanitizedIdWarning
from runreplay.importers._build import Exchange
from runreplay.importers._fields import ROOT, Where, expect, need
from runreplay.importers._http import body_from_source, headers_from, status_field
from runreplay.importers._links import relink

NAME = "azure-test-proxy"


def convert(doc: Any, source: Path) -> list[Exchange]:
    entries = need(doc, "Entries", ROOT, list, "a list of entries")
    exchanges = [_exchange(entry, ROOT / "Entries" / i) for i, entry in enumerate(entries)]
    for message in relink([e.interaction for e in exchanges], lambda i: f"$.Entries[{i}]"):
        warnings.warn(SanitizedIdWarning(f"{source}: {message}"), stacklevel=2)
    return exchanges


def _exchange(entry: Any, where: Where) -> Exchange:
    expect(entry, where, dict, "an entry (an object)")
    req_headers = headers_from(entry.get("RequestHeaders"), where / "RequestHeaders")
    resp_headers = headers_from(entry.get("ResponseHeaders"), where / "ResponseHeaders")
    request = Request(
        method=need(entry, "RequestMethod", where, str, "an HTTP method").upper(),
        url=need(entry, "RequestUri", where, str, "a URL"),
        headers=req_headers,
        body=_body(entry.get("RequestBody"), req_headers, where / "RequestBody"),
    )
    response = Response(
        status=status_field(entry, "StatusCode", where),
        headers=resp_headers,
        body=_body(entry.get("ResponseBody"), resp_headers, where / "ResponseBody"),
    )
    return Exchange(Interaction(request=request, response=response))


def _body(value: Any, headers: Headers, where: Where) -> Body:
    if value is None:
        return Body.empty()
    if isinstance(value, list):
        parts = [expect(part, where / i, str, "a line of text") for i, part in enumerate(value)]
        return body_from_source("".join(parts), headers, where)
    if isinstance(value, str):
        if _is_text(headers.get("content-type")):
            return body_from_source(value, headers, where)
        try:
            return body_from_source(base64.b64decode(value, validate=True), headers, where)
        except binascii.Error:  # not base64 after all: keep the text rather than fail
            return body_from_source(value, headers, where)
    try:
        _json.check_value(value, _json.MAX_BODY_DEPTH)
    except _json.JSONLimitError:  # too deep to keep parsed: stored as its text, as a recording would be
        return Body.text(_json.dumps_text(value))
    return Body.json(value)


_TEXT_TYPES = ("application/x-www-form-urlencoded", "application/javascript")


def _is_text(content_type: str | None) -> bool:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media.startswith("text/") or media.endswith(("json", "xml")) or media in _TEXT_TYPES
