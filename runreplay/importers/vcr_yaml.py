"""Ruby VCR and R vcr (rOpenSci) YAML cassettes: ``http_interactions``.

Ruby: ``status: {code, message}``, headers as lists, ``body: {encoding, string}`` or
``{encoding, base64_string}``, ``recorded_at`` as an HTTP date, top-level ``recorded_with``.
R: ``status: {status_code, category, reason, message}``, headers as scalars,
``body: {encoding, file, string}``, ``recorded_at: 2024-05-07 00:07:46 GMT`` and
``recorded_with`` on each interaction. Both convert the same way.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import Any

from runreplay.cassette import Interaction, Response
from runreplay.importers._build import Exchange
from runreplay.importers._fields import ROOT, SourceError, Where, expect, get, need, scalar_text
from runreplay.importers._http import body_from_source, headers_from, parse_time, status_field, vcr_parts, vcr_request

RUBY = "ruby-vcr"
R = "r-vcr"


def flavour(doc: dict[str, Any]) -> str:
    """R vcr writes ``status_code`` and a per-interaction ``recorded_with``; Ruby does neither."""
    items = doc.get("http_interactions")
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        response = item.get("response")
        status = response.get("status") if isinstance(response, dict) else None
        if "recorded_with" in item or (isinstance(status, dict) and "status_code" in status):
            return R
    return RUBY


def convert(doc: Any, source: Path) -> list[Exchange]:
    items = need(doc, "http_interactions", ROOT, list, "a list of interactions")
    return [_exchange(item, ROOT / "http_interactions" / i, source.parent) for i, item in enumerate(items)]


def _exchange(item: Any, where: Where, base_dir: Path) -> Exchange:
    req, resp, rq, rs = vcr_parts(item, where)
    request = vcr_request(req, rq, _raw_body(req.get("body"), rq / "body", base_dir))

    status = need(resp, "status", rs, dict, "a mapping")
    code_key = "code" if "code" in status or "status_code" not in status else "status_code"
    # R keeps the phrase in `reason` and a sentence in `message`; Ruby has only `message`.
    reason_key = "reason" if "reason" in status else "message"
    resp_headers = headers_from(resp.get("headers"), rs / "headers")
    response = Response(
        status=status_field(status, code_key, rs / "status"),
        reason=scalar_text(status.get(reason_key), rs / "status" / reason_key),
        headers=resp_headers,
        body=body_from_source(_raw_body(resp.get("body"), rs / "body", base_dir), resp_headers, rs / "body"),
    )
    times = {"recorded_at": parse_time(item.get("recorded_at"))}
    return Exchange(Interaction(request=request, response=response), times)


def _raw_body(body: Any, where: Where, base_dir: Path) -> bytes | str | None:
    if body is None or isinstance(body, (str, bytes)):
        return body
    expect(body, where, dict, "a mapping with 'string' or 'base64_string'")
    if "base64_string" in body:
        encoded = need(body, "base64_string", where, str, "base64 text")
        try:
            return base64.b64decode("".join(encoded.split()), validate=True)
        except binascii.Error as exc:
            raise SourceError(f"invalid base64: {exc}", where / "base64_string") from None
    value: bytes | str | None = get(body, "string", where, (str, bytes), "a string")
    if _truthy(body.get("file")) and isinstance(value, str):
        return _read_side_file(base_dir, value, where / "string")
    return value


def _read_side_file(base_dir: Path, name: str, where: Where) -> bytes:
    # R vcr with write_disk_path stores the body in a file and its path in `string`.
    target = base_dir / name
    if not target.is_file():  # a folder, a FIFO or a device (/dev/zero) would never end well
        raise SourceError(f"body file {str(target)!r} is not a readable file", where)
    try:
        return target.read_bytes()
    except OSError as exc:
        raise SourceError(f"body file {str(target)!r} cannot be read: {exc.strerror or exc}", where) from None


def _truthy(value: Any) -> bool:
    # The loader keeps YAML scalars as text, so `file: no` arrives as "no".
    return value is True or (isinstance(value, str) and value.lower() in ("yes", "true", "on", "y"))
