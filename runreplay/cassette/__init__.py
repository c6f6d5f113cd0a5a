"""Cassettes: the data model (:mod:`.model`), the JSON file (:mod:`.codec`) and wire bytes (:mod:`.wire`).

This package knows nothing about providers or interception.
"""

from runreplay.cassette.codec import atomic_write_text, dumps, from_json, load, paused_gc, save
from runreplay.cassette.model import (
    FORMAT_VERSION,
    WIRE_HEADERS,
    Body,
    BodyKind,
    Cassette,
    Headers,
    Interaction,
    Request,
    Response,
    split_url,
)
from runreplay.cassette.wire import body_from_wire, decode_body, decode_content, encode_body
from runreplay.sse import Framing, SSEEvent

__all__ = [
    "FORMAT_VERSION",
    "WIRE_HEADERS",
    "Body",
    "BodyKind",
    "Cassette",
    "Framing",
    "Headers",
    "Interaction",
    "Request",
    "Response",
    "SSEEvent",
    "atomic_write_text",
    "body_from_wire",
    "decode_body",
    "decode_content",
    "dumps",
    "encode_body",
    "from_json",
    "load",
    "paused_gc",
    "save",
    "split_url",
]
