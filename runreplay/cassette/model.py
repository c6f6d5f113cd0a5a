"""The cassette data model: plain data, no I/O.

A cassette holds interactions (a request, its response, when it was sent); bodies are
kept as what they are (:class:`BodyKind`): parsed JSON, text, bytes, or a list of
:class:`SSEEvent`. Reading and writing the JSON file is :mod:`runreplay.cassette.codec`;
converting bodies to and from wire bytes is :mod:`runreplay.cassette.wire`.
"""

from __future__ import annotations

import base64
import enum
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, parse_qsl, urlsplit

from runreplay.sse import Framing, SSEEvent

#: Headers whose value describes the bytes on the wire, not the decoded body we store.
WIRE_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


# --------------------------------------------------------------------------- headers


class Headers:
    """Case-insensitive multi-valued headers, stored lower-cased in the cassette."""

    __slots__ = ("_pairs", "_strings")

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._pairs: list[tuple[str, str]] | None = [(k.lower(), str(v)) for k, v in items]
        self._strings: dict[str, str] | None = None

    @classmethod
    def of_lowered(cls, items: list[tuple[str, str]]) -> Headers:
        """Headers from pairs of strings whose names are already lower-cased."""
        headers = cls.__new__(cls)
        headers._pairs, headers._strings = items, None
        return headers

    @classmethod
    def of_strings(cls, mapping: dict[str, str]) -> Headers:
        """Headers from a cassette's header object whose every value is a string (the loader's
        fast path). Made into pairs on first use: a replay never looks at most recorded
        headers, and a thousand-interaction cassette would otherwise build 20,000 tuples."""
        headers = cls.__new__(cls)
        headers._pairs, headers._strings = None, mapping
        return headers

    @property
    def _items(self) -> list[tuple[str, str]]:
        pairs = self._pairs
        if pairs is None:
            pairs = self._pairs = [(k.lower(), v) for k, v in (self._strings or {}).items()]
            self._strings = None
        return pairs

    @_items.setter
    def _items(self, pairs: list[tuple[str, str]]) -> None:
        self._pairs, self._strings = pairs, None

    @classmethod
    def from_mapping(cls, mapping: Any) -> Headers:
        """Accept ``{name: value}``, ``{name: [values]}`` or a list of pairs."""
        if mapping is None:
            return cls()
        if isinstance(mapping, Headers):
            return cls(mapping.items())
        if isinstance(mapping, list):
            return cls((str(k), str(v)) for k, v in mapping)
        pairs: list[tuple[str, str]] = []
        for key, value in mapping.items():
            values = value if isinstance(value, (list, tuple)) else [value]
            pairs.extend((str(key), str(v)) for v in values)
        return cls(pairs)

    def items(self) -> list[tuple[str, str]]:
        return list(self._items)

    def get(self, name: str, default: str | None = None) -> str | None:
        name = name.lower()
        found = self._loaded(name)
        if found is not None:
            return found
        for key, value in self._items:
            if key == name:
                return value
        return default

    def get_all(self, name: str) -> list[str]:
        name = name.lower()
        found = self._loaded(name)
        if found is not None:
            return [found]
        return [v for k, v in self._items if k == name]

    def _loaded(self, name: str) -> str | None:
        """A value straight from a loaded header object still waiting to become pairs (as
        written: lower-cased names); None means look through the pairs."""
        strings = self._strings
        return strings.get(name) if strings is not None else None

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and any(k == name.lower() for k, _ in self._items)

    def set(self, name: str, value: str) -> None:
        self.remove(name)
        self._items.append((name.lower(), value))

    def remove(self, *names: str) -> None:
        drop = {n.lower() for n in names}
        self._items = [(k, v) for k, v in self._items if k not in drop]

    def to_json(self) -> dict[str, str | list[str]]:
        out: dict[str, str | list[str]] = {}
        for key, value in self._items:
            prev = out.get(key)
            if prev is None:
                out[key] = value
            elif isinstance(prev, list):
                prev.append(value)
            else:
                out[key] = [prev, value]
        return out

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Headers) and sorted(self._items) == sorted(other._items)

    def __repr__(self) -> str:
        return f"Headers({self.to_json()!r})"


# --------------------------------------------------------------------------- bodies


class BodyKind(enum.StrEnum):
    EMPTY = "empty"
    JSON = "json"
    TEXT = "text"
    BINARY = "binary"
    SSE = "sse"


@dataclass(slots=True)
class Body:
    """A decoded HTTP body: ``value`` is what ``kind`` says.

    ``EMPTY``: None; ``JSON``: the parsed value; ``TEXT``: a str; ``BINARY``: bytes;
    ``SSE``: a list of :class:`SSEEvent`, written back with ``framing``.
    """

    kind: BodyKind = BodyKind.EMPTY
    value: Any = None
    framing: Framing | None = None
    #: The content-encoding the body had on the wire (informational only).
    decoded_from: str | None = None

    @classmethod
    def empty(cls) -> Body:
        return cls()

    @classmethod
    def json(cls, value: Any) -> Body:
        return cls(BodyKind.JSON, value)

    @classmethod
    def text(cls, value: str) -> Body:
        return cls(BodyKind.TEXT, value)

    @classmethod
    def binary(cls, value: bytes) -> Body:
        return cls(BodyKind.BINARY, value)

    @classmethod
    def sse(cls, events: list[SSEEvent], framing: Framing | None = None) -> Body:
        return cls(BodyKind.SSE, events, framing or Framing())

    @property
    def events(self) -> list[SSEEvent]:
        if self.kind is not BodyKind.SSE:
            raise TypeError("not an SSE body")
        return self.value  # type: ignore[no-any-return]

    @property
    def json_value(self) -> Any:
        """The parsed JSON, or None when the body is not JSON."""
        return self.value if self.kind is BodyKind.JSON else None

    def to_json(self) -> dict[str, Any] | None:
        out: dict[str, Any]
        kind = self.kind
        if kind is BodyKind.EMPTY:
            return None
        if kind is BodyKind.JSON:
            out = {"json": self.value}
        elif kind is BodyKind.TEXT:
            out = {"text": self.value}
        elif kind is BodyKind.BINARY:
            out = {"base64": base64.b64encode(self.value).decode("ascii")}
        else:
            out = {
                "sse": {"framing": (self.framing or Framing()).to_json(), "events": [e.to_json() for e in self.value]}
            }
        if self.decoded_from:
            out["decoded_from"] = self.decoded_from
        return out


# --------------------------------------------------------------------------- interactions


def split_url(url: str) -> SplitResult:
    """``urllib.parse.urlsplit``, with a fast path for a plain ``http(s)://host/path``.

    The fast path takes only what urlsplit would return unchanged: a printable ASCII URL
    with an http(s) scheme, no query, no fragment and no IPv6 brackets in the host.
    """
    if "?" not in url and "#" not in url and " " not in url and url.isascii() and url.isprintable():
        if url.startswith("https://"):
            scheme, rest = "https", url[8:]
        elif url.startswith("http://"):
            scheme, rest = "http", url[7:]
        else:
            return urlsplit(url)
        slash = rest.find("/")
        netloc, path = (rest, "") if slash < 0 else (rest[:slash], rest[slash:])
        if "[" not in netloc and "]" not in netloc:
            return SplitResult(scheme, netloc, path, "", "")
    return urlsplit(url)


_NOT_SPLIT = ("", SplitResult("", "", "", "", ""))


@dataclass(slots=True)
class Request:
    method: str
    url: str
    headers: Headers = field(default_factory=Headers)
    body: Body = field(default_factory=Body)
    #: ``url`` split once, with the string it was split from (re-split if ``url`` is replaced).
    _split: tuple[str, SplitResult] = field(default=_NOT_SPLIT, init=False, repr=False, compare=False)

    @property
    def parts(self) -> SplitResult:
        """The URL's parts, split on first use: scrubbing, matching and routing all read them."""
        cached = self._split
        if cached[0] is not self.url:
            cached = self._split = (self.url, split_url(self.url))
        return cached[1]

    @property
    def path(self) -> str:
        return self.parts.path

    @property
    def host(self) -> str:
        return (self.parts.hostname or "").lower()

    def replace(self, *, url: str | None = None, headers: Headers | None = None, body: Body | None = None) -> Request:
        """A copy with some parts replaced (the split URL is kept while the URL is the same)."""
        new = Request(self.method, self.url if url is None else url, headers or self.headers, body or self.body)
        if new.url is self.url:
            new._split = self._split
        return new

    def query(self) -> list[tuple[str, str]]:
        """The query string's ``(name, value)`` pairs, decoded, blanks kept, in order."""
        raw = self.parts.query
        return parse_qsl(raw, keep_blank_values=True) if raw else []

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "url": self.url,
            "headers": self.headers.to_json(),
            "body": self.body.to_json(),
        }


@dataclass(slots=True)
class Response:
    status: int
    headers: Headers = field(default_factory=Headers)
    body: Body = field(default_factory=Body)
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status}
        if self.reason:
            out["reason"] = self.reason
        out["headers"] = self.headers.to_json()
        out["body"] = self.body.to_json()
        return out


@dataclass(slots=True)
class Interaction:
    request: Request
    response: Response
    #: When the request was sent, in ms from the first recorded request.
    at_ms: int = 0
    #: How long the exchange took (request sent to response read), when known.
    duration_ms: int | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"at_ms": self.at_ms}
        if self.duration_ms is not None:
            out["duration_ms"] = self.duration_ms
        out["request"] = self.request.to_json()
        out["response"] = self.response.to_json()
        return out

    def shift(self, delta_ms: int) -> None:
        """Move the interaction (and its stream's events) ``delta_ms`` later on the cassette's timeline."""
        self.at_ms += delta_ms
        if self.response.body.kind is BodyKind.SSE:
            for event in self.response.body.events:
                event.at_ms += delta_ms


@dataclass
class Cassette:
    interactions: list[Interaction] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    #: Each run/chat's recorded phases and states, written at record time for readers of
    #: the file; replay rebuilds them from the interactions, so edits cannot desynchronise.
    timelines: list[dict[str, Any]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.interactions)

    def __iter__(self) -> Iterator[Interaction]:
        return iter(self.interactions)

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "format": FORMAT_VERSION,
            "meta": self.meta,
            "interactions": [i.to_json() for i in self.interactions],
        }
        if self.timelines:
            doc["timelines"] = self.timelines
        return doc


#: The cassette file format this runreplay writes (and reads).
FORMAT_VERSION = 1
