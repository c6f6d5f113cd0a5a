"""HTTP pieces every importer needs: headers, status codes, bodies and timestamps."""

from __future__ import annotations

import re
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from runreplay.cassette import Body, Headers, Request, body_from_wire, decode_body
from runreplay.importers._fields import SourceError, Where, expect, need, scalar_text, shown


def vcr_parts(item: Any, where: Where) -> tuple[dict[str, Any], dict[str, Any], Where, Where]:
    """A VCR-style interaction (VCR.py, Ruby and R vcr): its request and response mappings."""
    expect(item, where, dict, "an interaction (a mapping)")
    req = need(item, "request", where, dict, "a mapping")
    resp = need(item, "response", where, dict, "a mapping")
    return req, resp, where / "request", where / "response"


def vcr_request(req: dict[str, Any], where: Where, raw_body: bytes | str | None) -> Request:
    """A VCR-style request: ``method``, ``uri``, ``headers`` and the body already extracted."""
    headers = headers_from(req.get("headers"), where / "headers")
    return Request(
        method=need(req, "method", where, str, "an HTTP method").upper(),
        url=need(req, "uri", where, str, "a URL"),
        headers=headers,
        body=body_from_source(raw_body, headers, where / "body"),
    )


def headers_from(obj: Any, where: Where) -> Headers:
    """Accept ``{name: value}``, ``{name: [values]}``, ``[[name, value], ...]`` or HAR's
    ``[{"name": ..., "value": ...}, ...]``; every value is kept, in order."""
    if obj is None:
        return Headers()
    pairs: list[tuple[str, str]] = []
    if isinstance(obj, Mapping):
        for name, value in obj.items():
            values = value if isinstance(value, list) else [value]
            pairs.extend((str(name), scalar_text(v, where / str(name))) for v in values)
    elif isinstance(obj, list):
        for i, item in enumerate(obj):
            if isinstance(item, Mapping) and "name" in item:
                pairs.append((str(item["name"]), scalar_text(item.get("value"), where / i / "value")))
            elif isinstance(item, list) and len(item) == 2:
                pairs.append((str(item[0]), scalar_text(item[1], where / i)))
            else:
                raise SourceError(f"expected a header name and value, found {shown(item)}", where / i)
    else:
        raise SourceError(f"expected headers as a mapping or a list, found {shown(obj)}", where)
    return Headers(pairs)


def status_field(obj: Mapping[str, Any], key: str, where: Where) -> int:
    """A required HTTP status field, which YAML sources may hold as text."""
    value = need(obj, key, where, (int, str), "an HTTP status code")
    where = where / key
    code = int(value) if isinstance(value, str) and value.strip().isdigit() else value
    expect(code, where, int, "an HTTP status code")
    if not 100 <= code <= 599:
        raise SourceError(f"expected an HTTP status code (100-599), found {code}", where)
    return int(code)


#: Keep each SSE event's exact bytes (``runreplay import --exact``). A context variable,
#: so the flag reaches every converter without threading it through each signature.
EXACT_SSE: ContextVar[bool] = ContextVar("runreplay_exact_sse", default=False)


def body_from_source(
    raw: bytes | str | None,
    headers: Headers,
    where: Where,
    *,
    strict: bool | None = None,
    content_type: str | None = None,
) -> Body:
    """Decode a recorded body according to the headers it was recorded with.

    Recorders disagree on whether a body stored beside ``Content-Encoding: gzip`` is the
    wire bytes or already decoded (R vcr and HAR keep the header but store plain text).
    So decoding is attempted and, unless ``strict``, a body that does not decode is taken
    as already decoded. ``strict`` defaults to true for bytes (they came from ``!!binary``
    or base64, so they are the wire bytes) and false for text.
    """
    if raw is None or raw in (b"", ""):
        return Body.empty()
    if content_type and "content-type" not in headers:
        headers = Headers([*headers.items(), ("content-type", content_type)])
    if strict is None:
        strict = isinstance(raw, bytes)
    data = raw.encode("utf-8") if isinstance(raw, str) else raw
    exact = EXACT_SSE.get()
    try:
        return body_from_wire(data, headers, exact=exact)
    except Exception as exc:  # gzip, zlib, brotli and unknown encodings all raise differently
        if strict:
            encoding = headers.get("content-encoding")
            raise SourceError(f"body does not decode as content-encoding {encoding!r}: {exc}", where) from exc
    return decode_body(data, headers.get("content-type"), exact=exact)


_ISO = re.compile(r"(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d:\d\d)(?:\.(\d+))?\s*(Z|UTC|GMT|[+-]\d\d:?\d\d)?$", re.IGNORECASE)


def parse_time(value: Any) -> datetime | None:
    """An aware UTC time from an HTTP date, ISO 8601, or R vcr's ``2024-05-07 00:07:46 GMT``.

    Unknown forms give None: timing is best effort and never a reason to reject a file.
    """
    if isinstance(value, datetime):
        parsed: datetime | None = value
    elif not isinstance(value, str) or not value.strip():
        return None
    elif match := _ISO.match(value.strip()):
        parsed = _from_iso(*match.groups())
    else:
        try:
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _from_iso(day: str, clock: str, fraction: str | None, zone: str | None) -> datetime | None:
    # Written out because datetime.fromisoformat on 3.10 rejects "Z" and odd fraction lengths.
    micros = (fraction or "0")[:6].ljust(6, "0")
    offset = "+00:00" if zone is None or zone.upper() in ("Z", "UTC", "GMT") else zone
    if ":" not in offset:
        offset = offset[:3] + ":" + offset[3:]
    try:
        return datetime.fromisoformat(f"{day}T{clock}.{micros}{offset}")
    except ValueError:
        return None
