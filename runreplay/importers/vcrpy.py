"""VCR.py cassettes (YAML or JSON), including the old httpx ``status_code``/``content`` form.

Shape: ``{"interactions": [{"request": {"method", "uri", "headers": {name: [values]},
"body": str | bytes | {"string": ...}}, "response": {"status": {"code", "message"},
"headers", "body": {"string": str | bytes}}}], "version": 1}``. Gzip bodies appear as YAML
``!!binary`` with the Content-Encoding header still present; SSE is one plain string.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from runreplay.cassette import Interaction, Response
from runreplay.importers._build import Exchange
from runreplay.importers._fields import ROOT, SourceError, Where, expect, get, need, scalar_text
from runreplay.importers._http import body_from_source, headers_from, status_field, vcr_parts, vcr_request

NAME = "vcrpy"


def convert(doc: Any, source: Path) -> list[Exchange]:
    items = need(doc, "interactions", ROOT, list, "a list of interactions")
    return [_exchange(item, ROOT / "interactions" / i) for i, item in enumerate(items)]


def _exchange(item: Any, where: Where) -> Exchange:
    req, resp, rq, rs = vcr_parts(item, where)
    request = vcr_request(req, rq, _body_value(req.get("body"), rq / "body"))

    resp_headers = headers_from(resp.get("headers"), rs / "headers")
    if "status" in resp:
        status = need(resp, "status", rs, dict, "a mapping with code and message")
        code = status_field(status, "code", rs / "status")
        reason = scalar_text(status.get("message"), rs / "status" / "message")
        raw, body_at = _body_value(resp.get("body"), rs / "body"), rs / "body"
    elif "status_code" in resp:  # vcrpy's old httpx stub wrote the response flat
        code, reason = status_field(resp, "status_code", rs), ""
        raw, body_at = _body_value(resp.get("content"), rs / "content"), rs / "content"
    else:
        raise SourceError("required field 'status' is missing", rs / "status")
    response = Response(
        status=code,
        reason=reason,
        headers=resp_headers,
        body=body_from_source(raw, resp_headers, body_at),
    )
    return Exchange(Interaction(request=request, response=response))


def _body_value(body: Any, where: Where) -> bytes | str | None:
    """A body is a bare string/bytes (requests) or ``{"string": ...}`` (responses)."""
    if isinstance(body, dict):
        value: bytes | str | None = get(body, "string", where, (str, bytes), "a string or !!binary")
        return value
    found: bytes | str | None = expect(
        body, where, (str, bytes, type(None)), "a string, !!binary or a mapping with 'string'"
    )
    return found
