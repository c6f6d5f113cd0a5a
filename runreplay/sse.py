"""Server-sent events: parse a byte stream into events and write events back out.

Parsing follows the WHATWG event-stream rules (CR, LF and CRLF line ends, an optional
single space after the colon, ``:`` comment lines, multi-line ``data``), and keeps what a
real server did so that replay can frame the stream the same way: OpenAI writes
``event: x`` with a space, Coze writes ``event:x`` without one.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

_LINE_SPLIT = re.compile(rb"\r\n|\r|\n")

#: Sentinel for "this event carries no data line at all".
NO_DATA: Any = None


@dataclass(slots=True)
class SSEEvent:
    """One event of a stream.

    ``data`` holds the parsed JSON value when ``data_is_json`` is true, otherwise the
    literal data text (or ``None`` when the event had no data line).
    """

    event: str | None = None
    data: Any = None
    data_is_json: bool = False
    id: str | None = None
    retry: int | None = None
    at_ms: int = 0
    comments: list[str] = field(default_factory=list)

    @property
    def data_text(self) -> str | None:
        if self.data_is_json:
            return json.dumps(self.data, ensure_ascii=False, separators=(",", ":"))
        return self.data  # type: ignore[no-any-return]

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
        return out

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> SSEEvent:
        if "data" in obj:
            data, is_json = obj["data"], True
        else:
            data, is_json = obj.get("data_text"), False
        return cls(
            event=obj.get("event"),
            data=data,
            data_is_json=is_json,
            id=obj.get("id"),
            retry=obj.get("retry"),
            at_ms=int(obj.get("at_ms", 0)),
            comments=list(obj.get("comments", ())),
        )


@dataclass(slots=True)
class Framing:
    """How a stream was written, so it can be written again the same way."""

    space_after_colon: bool = True
    line_ending: str = "\n"

    def to_json(self) -> dict[str, Any]:
        return {"space_after_colon": self.space_after_colon, "line_ending": self.line_ending}

    @classmethod
    def from_json(cls, obj: dict[str, Any] | None) -> Framing:
        if not obj:
            return cls()
        return cls(
            space_after_colon=bool(obj.get("space_after_colon", True)),
            line_ending=str(obj.get("line_ending", "\n")),
        )


def parse_data(text: str) -> tuple[Any, bool]:
    """Return ``(value, is_json)`` for one event's data text."""
    stripped = text.strip()
    if stripped[:1] in ("{", "[", '"') or stripped in ("true", "false", "null") or _looks_numeric(stripped):
        try:
            return json.loads(text), True
        except ValueError:
            pass
    return text, False


def _looks_numeric(text: str) -> bool:
    return bool(text) and (text[0].isdigit() or (text[0] == "-" and text[1:2].isdigit()))


def parse_stream(raw: bytes | str) -> tuple[list[SSEEvent], Framing]:
    """Parse a complete event stream.

    A final event that is not followed by a blank line is still returned: a stream cut
    short by the server must not silently lose its last event.
    """
    data = raw.encode("utf-8") if isinstance(raw, str) else raw
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    framing = _detect_framing(data)
    events: list[SSEEvent] = []
    current = SSEEvent()
    data_lines: list[str] = []
    seen_field = False

    def flush() -> None:
        nonlocal current, data_lines, seen_field
        # A block of only comments (a keep-alive) is kept as a bare event, not dropped.
        if seen_field or current.comments:
            if data_lines:
                current.data, current.data_is_json = parse_data("\n".join(data_lines))
            events.append(current)
        current, data_lines, seen_field = SSEEvent(), [], False

    lines = _LINE_SPLIT.split(data)
    if lines and lines[-1] == b"":
        lines.pop()
    for raw_line in lines:
        line = raw_line.decode("utf-8", errors="replace")
        if line == "":
            flush()
            continue
        if line.startswith(":"):
            current.comments.append(line[1:].removeprefix(" "))
            continue
        name, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        seen_field = True
        if name == "event":
            current.event = value
        elif name == "data":
            data_lines.append(value)
        elif name == "id":
            current.id = value
        elif name == "retry" and value.isdigit():
            current.retry = int(value)
    flush()
    return events, framing


def _detect_framing(data: bytes) -> Framing:
    line_ending = "\r\n" if b"\r\n" in data[:4096] else "\n"
    match = re.search(rb"^(?:event|data|id):(.)", data[:4096], re.MULTILINE)
    space = True if match is None else match.group(1) == b" "
    return Framing(space_after_colon=space, line_ending=line_ending)


def serialize_event(event: SSEEvent, framing: Framing) -> bytes:
    sep = ": " if framing.space_after_colon else ":"
    eol = framing.line_ending
    lines = [":" + (" " + c if c else "") for c in event.comments]
    if event.event is not None:
        lines.append(f"event{sep}{event.event}")
    if event.id is not None:
        lines.append(f"id{sep}{event.id}")
    if event.retry is not None:
        lines.append(f"retry{sep}{event.retry}")
    text = event.data_text
    if text is not None:
        lines.extend(f"data{sep}{part}" for part in text.split("\n"))
    return (eol.join(lines) + eol + eol).encode("utf-8")


def serialize_stream(events: list[SSEEvent], framing: Framing) -> bytes:
    return b"".join(serialize_event(e, framing) for e in events)
