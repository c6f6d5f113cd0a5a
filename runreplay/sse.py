"""Server-sent events: decode a byte stream into events and write events back out (the codec only).

Decoding follows the WHATWG event-stream rules: CR, LF and CRLF all end a line, one
optional space after the colon, ``:`` comment lines, multi-line ``data``, a line without
a colon is a field with an empty value, ``retry`` that is not all ASCII digits and an
``id`` containing NUL are ignored, one leading byte-order mark is dropped. Unlike a
browser it keeps everything a recording needs: a block of only comments (a keep-alive)
or of only ``event:`` is an event too, events after a ``[DONE]`` are kept, and a stream
that ends without its final blank line, even mid-line, still yields its last event.

Writing uses a :class:`Framing` (OpenAI writes ``event: x`` with a space, Coze writes
``event:x`` without one), unless the event was decoded with ``exact=True``: then its
``raw`` holds the exact bytes it was made of and is written back byte for byte.

**Exact bytes.** ``SSEEvent.raw`` is a ``str``: the event's bytes decoded as UTF-8 with
``errors="surrogateescape"``, so bytes that are not UTF-8 survive as lone surrogates
U+DC80..U+DCFF and ``SSEEvent.raw_bytes`` gives the original bytes back. An event's raw
runs from the end of the previous event through its own terminating blank line, so it
also holds a leading byte-order mark, blank lines that dispatched nothing, and (on the
last event) blank lines after it; joining the raws of a stream's events reproduces the
stream. In a cassette it is stored as ``"raw"`` (a JSON string) when it is valid UTF-8
and as ``"raw_b64"`` (base64 of the bytes) when it is not. Serialization uses raw only
while it still decodes to the event's fields: an event edited after decoding (scrubbed,
say) is written from its fields, so stale bytes are never replayed.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from runreplay import _json

__all__ = [
    "Framing",
    "SSEDecoder",
    "SSEEvent",
    "encode_events",
    "iter_encoded",
    "parse_data",
    "parse_stream",
    "serialize_event",
    "serialize_stream",
]

_BOM = b"\xef\xbb\xbf"
_CR, _LF = 0x0D, 0x0A
_EOL = re.compile(rb"[\r\n]")
_KNOWN_FIELDS = frozenset({"event", "data", "id", "retry"})


@dataclass(slots=True)
class SSEEvent:
    """One event of a stream.

    ``data`` holds the parsed JSON value when ``data_is_json`` is true, otherwise the
    literal data text (or ``None`` when the event had no data line). ``raw`` holds the
    exact bytes the event was decoded from, when decoded with ``exact=True`` (see
    the module docstring for the representation).
    """

    event: str | None = None
    data: Any = None
    data_is_json: bool = False
    id: str | None = None
    retry: int | None = None
    at_ms: int = 0
    comments: list[str] = field(default_factory=list)
    raw: str | None = None

    @property
    def data_text(self) -> str | None:
        if self.data_is_json:
            return _json.dumps_text(self.data)
        return self.data  # type: ignore[no-any-return]

    @property
    def raw_bytes(self) -> bytes | None:
        """The exact bytes of the event, or ``None`` when it was not decoded exactly."""
        return None if self.raw is None else self.raw.encode("utf-8", "surrogateescape")

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.event is not None:
            out["event"] = self.event
        if self.data_is_json:
            out["data"] = self.data
        elif self.data is not None:
            out["data_text"] = self.data
        if self.id is not None:
            out["id"] = self.id
        if self.retry is not None:
            out["retry"] = self.retry
        if self.comments:
            out["comments"] = list(self.comments)
        out["at_ms"] = self.at_ms
        if self.raw is not None:
            try:
                self.raw.encode("utf-8")
                out["raw"] = self.raw
            except UnicodeEncodeError:  # it carries bytes that are not UTF-8
                out["raw_b64"] = base64.b64encode(self.raw.encode("utf-8", "surrogateescape")).decode("ascii")
        return out


@dataclass(slots=True)
class Framing:
    """How a stream was written, so it can be written again the same way."""

    space_after_colon: bool = True
    line_ending: str = "\n"

    def to_json(self) -> dict[str, Any]:
        return {"space_after_colon": self.space_after_colon, "line_ending": self.line_ending}


def parse_data(text: str) -> tuple[Any, bool]:
    """Return ``(value, is_json)`` for one event's data text."""
    stripped = text.strip()
    if stripped[:1] in ("{", "[", '"') or stripped in ("true", "false", "null") or _looks_numeric(stripped):
        try:
            # NaN and Infinity are not JSON: keep such data as text so it writes back unchanged.
            return _json.loads(text, nonfinite=False), True
        except ValueError:
            pass
    return text, False


def _looks_numeric(text: str) -> bool:
    return bool(text) and (text[0].isdigit() or (text[0] == "-" and text[1:2].isdigit()))


class SSEDecoder:
    """Incremental event-stream decoder: feed it chunks as they arrive.

    ``feed`` returns the events that the chunk completed (an event completes at its
    blank line); ``close`` returns what is left: an event cut short by the end of the
    stream, even mid-line, is never dropped. Chunks may split the stream anywhere, also
    inside a UTF-8 character or between the CR and LF of a CRLF: a CR at the end of a
    chunk is held until the next byte (or ``close``) shows whether an LF follows.

    ``exact=True`` keeps each event's exact bytes in ``SSEEvent.raw``. Blank lines after
    the last event are added to that event's ``raw`` by ``close``, so with ``exact`` the
    last event returned by ``feed`` may still change until then. ``clock`` (milliseconds)
    stamps each event's ``at_ms`` when it completes. ``framing`` is read from the first
    ``event``/``data``/``id``/``retry`` line.
    """

    def __init__(self, *, exact: bool = False, clock: Callable[[], int] | None = None) -> None:
        self._exact = exact
        self._clock = clock
        self._buf = bytearray()
        self._scanned = 0  # bytes at the start of _buf known to hold no CR or LF
        self._bom_checked = False
        self._closed = False
        self._raw = bytearray()  # exact bytes of the event being decoded
        self._last: SSEEvent | None = None
        self._space: bool | None = None
        self._line_ending: str | None = None
        self._reset()

    def _reset(self) -> None:
        self._event: str | None = None
        self._data: list[str] = []
        self._id: str | None = None
        self._retry: int | None = None
        self._comments: list[str] = []
        self._has_content = False

    @property
    def framing(self) -> Framing:
        return Framing(
            space_after_colon=True if self._space is None else self._space,
            line_ending=self._line_ending or "\n",
        )

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        if self._closed:
            raise RuntimeError("SSEDecoder.feed() after close()")
        out: list[SSEEvent] = []
        if chunk:
            self._buf += chunk
            self._lines(out, final=False)
        return out

    def close(self) -> list[SSEEvent]:
        if self._closed:
            return []
        self._closed = True
        out: list[SSEEvent] = []
        self._lines(out, final=True)
        if self._buf:  # a last line without its line ending
            self._line(bytes(self._buf), b"", out)
            self._buf.clear()
        self._dispatch(out)
        if self._raw and self._last is not None:
            # Blank lines after the last event belong to nothing else.
            self._last.raw = (self._last.raw or "") + self._raw.decode("utf-8", "surrogateescape")
            self._raw.clear()
        return out

    def _lines(self, out: list[SSEEvent], *, final: bool) -> None:
        buf = self._buf
        if not self._bom_checked:
            if len(buf) < len(_BOM) and _BOM.startswith(buf) and not final:
                return  # a BOM split across chunks
            self._bom_checked = True
            if buf.startswith(_BOM):
                if self._exact:
                    self._raw += _BOM
                del buf[: len(_BOM)]
        pos = 0
        search_from = self._scanned
        while True:
            match = _EOL.search(buf, search_from)
            if match is None:
                self._scanned = len(buf) - pos
                break
            end = match.start()
            if buf[end] == _CR:
                if end + 1 < len(buf):
                    eol_len = 2 if buf[end + 1] == _LF else 1
                elif final:
                    eol_len = 1
                else:
                    self._scanned = end - pos  # wait: this CR may be the first half of a CRLF
                    break
            else:
                eol_len = 1
            self._line(bytes(buf[pos:end]), bytes(buf[end : end + eol_len]), out)
            pos = search_from = end + eol_len
        del buf[:pos]

    def _line(self, line: bytes, eol: bytes, out: list[SSEEvent]) -> None:
        if self._exact:
            self._raw += line
            self._raw += eol
        if not line:
            if eol:
                self._dispatch(out)
            return
        text = line.decode("utf-8", "replace")
        if text[0] == ":":
            self._comments.append(text[1:].removeprefix(" "))
            self._has_content = True
            return
        name, colon, value = text.partition(":")
        if colon and name in _KNOWN_FIELDS:
            if self._line_ending is None and eol:
                self._line_ending = eol.decode("ascii")
            if self._space is None and value:
                self._space = value.startswith(" ")
        value = value.removeprefix(" ")
        self._has_content = True  # an unknown field still makes an event, so nothing is lost
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id" and "\0" not in value:  # the spec ignores an id containing NUL
            self._id = value
        elif name == "retry" and value.isascii() and value.isdigit():  # and a retry that is not a number
            self._retry = int(value)

    def _dispatch(self, out: list[SSEEvent]) -> None:
        if not self._has_content:
            return  # a blank line with nothing before it: its bytes lead the next event's raw
        event = SSEEvent(
            event=self._event,
            id=self._id,
            retry=self._retry,
            comments=self._comments,
            at_ms=self._clock() if self._clock is not None else 0,
        )
        if self._data:
            event.data, event.data_is_json = parse_data("\n".join(self._data))
        if self._exact:
            event.raw = self._raw.decode("utf-8", "surrogateescape")
            self._raw = bytearray()
        out.append(event)
        self._last = event
        self._reset()


def parse_stream(raw: bytes | str, *, exact: bool = False) -> tuple[list[SSEEvent], Framing]:
    """Decode a complete event stream (see :class:`SSEDecoder`).

    A final event that is not followed by a blank line is still returned: a stream cut
    short by the server must not silently lose its last event.
    """
    decoder = SSEDecoder(exact=exact)
    events = decoder.feed(raw.encode("utf-8") if isinstance(raw, str) else raw)
    events += decoder.close()
    return events, decoder.framing


def serialize_event(event: SSEEvent, framing: Framing) -> bytes:
    """The bytes of one event: its exact ``raw`` when it still matches, else per ``framing``."""
    return next(iter_encoded((event,), framing))


def iter_encoded(events: Iterable[SSEEvent], framing: Framing) -> Iterator[bytes]:
    """Each event's bytes (see :func:`serialize_event`), made only as they are read.

    Nearly every recorded event is a name and one JSON data line; those are written from a
    prefix made once per event name, which is most of what makes replaying a long stream
    cheap (compact JSON never holds a CR or LF, so the data is always one line).
    """
    eol = framing.line_ending
    end = (eol + eol).encode("utf-8")
    prefixes: dict[str | None, bytes] = {}
    dumps = _json.dumps
    for event in events:
        if event.data_is_json and event.raw is None and event.id is None and event.retry is None and not event.comments:
            prefix = prefixes.get(event.event)
            if prefix is None:
                prefix = prefixes[event.event] = _json_event_prefix(event.event, framing)
            if prefix:
                yield prefix + dumps(event.data) + end
                continue
        yield _serialize_fields(event, framing)


def _json_event_prefix(name: str | None, framing: Framing) -> bytes:
    """``event: name`` and ``data: `` lines up to the JSON, or ``b""`` when the name needs the general path."""
    if name is not None and ("\n" in name or "\r" in name):
        return b""
    head = "" if name is None else _field("event", name, framing) + framing.line_ending
    return (head + ("data: " if framing.space_after_colon else "data:")).encode("utf-8")


def _serialize_fields(event: SSEEvent, framing: Framing) -> bytes:
    exact = event.raw_bytes
    if exact is not None and _raw_matches(exact, event):
        return exact
    eol = framing.line_ending
    lines = [_field("", c, framing) for c in event.comments]
    if event.event is not None:
        lines.append(_field("event", event.event, framing))
    if event.id is not None:
        lines.append(_field("id", event.id, framing))
    if event.retry is not None:
        lines.append(_field("retry", str(event.retry), framing))
    text = event.data_text
    if text is not None:
        lines.extend(_field("data", part, framing) for part in text.split("\n"))
    return (eol.join(lines) + eol + eol).encode("utf-8")


def _field(name: str, value: str, framing: Framing) -> str:
    # One space after the colon is eaten by the reader, so a value that starts with a space
    # needs one even in space-less framing; an empty value needs none.
    if value and (framing.space_after_colon or value.startswith(" ")):
        return f"{name}: {value}"
    return f"{name}:{value}"


def _raw_matches(raw: bytes, event: SSEEvent) -> bool:
    decoded, _ = parse_stream(raw)
    if len(decoded) != 1:
        return False
    found = decoded[0]
    return (
        found.event == event.event
        and found.id == event.id
        and found.retry == event.retry
        and found.comments == event.comments
        and found.data_is_json == event.data_is_json
        and found.data_text == event.data_text
    )


def serialize_stream(events: list[SSEEvent], framing: Framing) -> bytes:
    return b"".join(encode_events(events, framing))


def encode_events(events: Iterable[SSEEvent], framing: Framing) -> list[bytes]:
    """One chunk per event, in order: what a replayed stream delivers."""
    return list(iter_encoded(events, framing))
