"""Bodies to and from the bytes on the wire.

Recording turns what a server sent (perhaps compressed, perhaps an event stream) into a
stored :class:`Body`; replay turns a stored body back into bytes.
"""

from __future__ import annotations

import gzip
import importlib
import zlib

from runreplay import _json
from runreplay.cassette.model import Body, BodyKind, Headers
from runreplay.sse import Framing, parse_stream, serialize_stream


def decode_content(data: bytes, encoding: str | None) -> bytes:
    """Undo a Content-Encoding. Unknown encodings raise ValueError."""
    if not encoding:
        return data
    result = data
    for enc in reversed([e.strip().lower() for e in encoding.split(",") if e.strip()]):
        if enc in ("identity", ""):
            continue
        if enc in ("gzip", "x-gzip"):
            result = gzip.decompress(result)
        elif enc == "deflate":
            try:
                result = zlib.decompress(result)
            except zlib.error:
                result = zlib.decompress(result, -zlib.MAX_WBITS)
        elif enc == "br":
            result = _brotli_decompress(result)
        elif enc == "zstd":
            result = _zstd_decompress(result)
        else:
            raise ValueError(f"unsupported content-encoding {enc!r}")
    return result


def _brotli_decompress(data: bytes) -> bytes:
    # The libraries httpx and urllib3 decode br with: a client asks for br only when one is installed.
    try:
        import brotli  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        try:
            import brotlicffi as brotli  # type: ignore[import-not-found, no-redef, unused-ignore]
        except ImportError:
            raise ValueError("brotli-encoded body but neither 'brotli' nor 'brotlicffi' is installed") from None
    try:
        return bytes(brotli.decompress(data))
    except brotli.error as exc:
        raise ValueError(f"not valid brotli data ({exc})") from None


def _zstd_decompress(data: bytes) -> bytes:
    # What the clients decode zstd with: the standard library from 3.14, its backport
    # (httpx2, urllib3), or zstandard (httpx).
    for module in ("compression.zstd", "backports.zstd"):
        try:
            zstd = importlib.import_module(module)
        except ImportError:
            continue
        try:
            return bytes(zstd.decompress(data))
        except zstd.ZstdError as exc:
            raise ValueError(f"not valid zstd data ({exc})") from None
    try:
        import zstandard
    except ImportError:
        raise ValueError("zstd-encoded body but no zstd library is installed (backports.zstd or zstandard)") from None
    try:
        # A streaming decompressor: a frame need not state its content size.
        return zstandard.ZstdDecompressor().decompressobj().decompress(data)
    except zstandard.ZstdError as exc:
        raise ValueError(f"not valid zstd data ({exc})") from None


def decode_body(data: bytes | str | None, content_type: str | None = None, *, exact: bool = False) -> Body:
    """Classify raw (already decompressed) bytes by content type and content.

    ``exact`` keeps each SSE event's own bytes, so the stream replays byte for byte. JSON
    that runreplay could not read back (nested deeper than :data:`runreplay._json.MAX_BODY_DEPTH`
    levels, a lone surrogate escape such as ``"\\ud800"``, an integer of thousands of digits)
    is stored as the text it arrived as; an event's data likewise.
    """
    if data is None or data == b"" or data == "":
        return Body.empty()
    ctype = (content_type or "").lower()
    # A str with lone surrogates cannot be UTF-8: its bytes are kept as binary below.
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if "text/event-stream" in ctype:
        events, framing = parse_stream(raw, exact=exact)
        return Body.sse(events, framing)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return Body.binary(raw)
    if "json" in ctype or (not ctype and text.lstrip()[:1] in ("{", "[")):
        try:
            return Body.json(_json.loads(text))
        except ValueError:  # not JSON, or JSON beyond the limits (JSONLimitError): kept as text
            pass
    return Body.text(text)


def body_from_wire(data: bytes, headers: Headers, *, exact: bool = False) -> Body:
    """Build a stored body from wire bytes, decompressing according to the headers."""
    encoding = headers.get("content-encoding")
    decoded = decode_content(data, encoding) if data else data
    body = decode_body(decoded, headers.get("content-type"), exact=exact)
    if encoding and encoding.lower() != "identity" and body.kind is not BodyKind.EMPTY:
        body.decoded_from = encoding
    return body


def encode_body(body: Body) -> bytes:
    """The bytes a stored body is served as (decoded: no content-encoding)."""
    kind = body.kind
    if kind is BodyKind.EMPTY:
        return b""
    if kind is BodyKind.JSON:
        return _json.dumps(body.value)
    if kind is BodyKind.TEXT:
        return str(body.value).encode("utf-8")
    if kind is BodyKind.BINARY:
        return bytes(body.value)
    return serialize_stream(body.value, body.framing or Framing())
