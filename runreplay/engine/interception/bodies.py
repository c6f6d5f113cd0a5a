"""Bodies as the interceptors see them, made into stored bodies: always decoded.

A compressed body is stored decoded, request or response, so that scrubbing reaches every
value, matching compares content rather than compressed bytes (a gzip header carries a
timestamp), and validation sees JSON. Some clients hand over a response already decoded
while its headers still name the encoding (urllib3, under requests): that body is taken as
it is.
"""

from __future__ import annotations

import warnings
import zlib

from runreplay.cassette import WIRE_HEADERS, Body, BodyKind, Headers, body_from_wire, decode_body

#: What decoding a body the headers misdescribe raises (gzip's is an OSError, zlib's its own).
DECODING_ERRORS = (ValueError, OSError, EOFError, zlib.error)


def request_body(content: bytes, content_type: str | None, content_encoding: str | None) -> Body:
    """A request's stored body: ``content`` as sent, decoded from its content-encoding."""
    if not content:
        return Body.empty()
    if not content_encoding or content_encoding.strip().lower() == "identity":
        return decode_body(content, content_type)
    headers = Headers([("content-encoding", content_encoding), ("content-type", content_type or "")])
    try:
        return body_from_wire(content, headers)
    except DECODING_ERRORS:
        return Body.binary(content)


def response_body(raw: bytes, headers: Headers, *, exact: bool) -> Body:
    """A response's stored body. ``headers`` lose their wire headers (the body is decoded)."""
    try:
        body = body_from_wire(raw, headers, exact=exact)
    except DECODING_ERRORS:
        # Already decoded by the client library (requests/urllib3), though the headers say not.
        body = decode_body(raw, headers.get("content-type"), exact=exact)
        if body.kind is BodyKind.BINARY:
            warnings.warn(
                "runreplay: stored a body that does not decode as its content-encoding as binary", stacklevel=3
            )
    headers.remove(*WIRE_HEADERS)
    return body
