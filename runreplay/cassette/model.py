"""Cassette format v1: the data model, loading with precise errors, and atomic saving.

A cassette is one JSON file per test::

    {"format": 1,
     "meta": {"runreplay": "0.1.0", "provider": "openai", "client": {...}, "recorded_at": "..."},
     "interactions": [{"at_ms": 0, "request": {...}, "response": {...}}, ...]}

Bodies are stored as what they are, so that diffs are readable and scrubbing can reach
every value: ``{"json": ...}``, ``{"text": "..."}``, ``{"base64": "..."}`` or
``{"sse": {"framing": {...}, "events": [...]}}``; an empty body is ``null``. Compressed
bodies are stored decoded. This module knows nothing about providers or interception.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import gc
import gzip
import json
import os
import tempfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runreplay import _json
from runreplay.errors import CassetteError
from runreplay.sse import Framing, SSEEvent, parse_stream, serialize_stream

FORMAT_VERSION = 1

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
    def _lowered(cls, items: list[tuple[str, str]]) -> Headers:
        """Headers from pairs of strings whose names are already lower-cased."""
        headers = cls.__new__(cls)
        headers._pairs, headers._strings = items, None
        return headers

    @classmethod
    def _of_strings(cls, mapping: dict[str, str]) -> Headers:
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


@dataclass(slots=True)
class Body:
    """A decoded HTTP body. Exactly one ``kind``: empty, json, text, binary or sse."""

    kind: str = "empty"
    value: Any = None
    framing: Framing | None = None
    #: The content-encoding the body had on the wire (informational only).
    decoded_from: str | None = None

    # -- construction
    @classmethod
    def empty(cls) -> Body:
        return cls()

    @classmethod
    def json(cls, value: Any) -> Body:
        return cls("json", value)

    @classmethod
    def text(cls, value: str) -> Body:
        return cls("text", value)

    @classmethod
    def binary(cls, value: bytes) -> Body:
        return cls("binary", value)

    @classmethod
    def sse(cls, events: list[SSEEvent], framing: Framing | None = None) -> Body:
        return cls("sse", events, framing or Framing())

    @classmethod
    def from_bytes(cls, data: bytes | str | None, content_type: str | None = None, *, exact: bool = False) -> Body:
        """Classify raw (already decompressed) bytes by content type and content.

        ``exact`` keeps each SSE event's own bytes, so the stream replays byte for byte.
        """
        if data is None or data == b"" or data == "":
            return cls.empty()
        ctype = (content_type or "").lower()
        raw = data.encode("utf-8") if isinstance(data, str) else data
        if "text/event-stream" in ctype:
            events, framing = parse_stream(raw, exact=exact)
            return cls.sse(events, framing)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return cls.binary(raw)
        if "json" in ctype or (not ctype and text.lstrip()[:1] in ("{", "[")):
            try:
                return cls.json(_json.loads(text))
            except ValueError:
                pass
        return cls.text(text)

    # -- conversion
    @property
    def events(self) -> list[SSEEvent]:
        if self.kind != "sse":
            raise TypeError("not an SSE body")
        return self.value  # type: ignore[no-any-return]

    def to_bytes(self) -> bytes:
        if self.kind == "empty":
            return b""
        if self.kind == "json":
            return _json.dumps(self.value)
        if self.kind == "text":
            return str(self.value).encode("utf-8")
        if self.kind == "binary":
            return bytes(self.value)
        if self.kind == "sse":
            return serialize_stream(self.value, self.framing or Framing())
        raise ValueError(f"unknown body kind {self.kind!r}")

    def to_json(self) -> dict[str, Any] | None:
        out: dict[str, Any]
        if self.kind == "empty":
            return None
        if self.kind == "json":
            out = {"json": self.value}
        elif self.kind == "text":
            out = {"text": self.value}
        elif self.kind == "binary":
            out = {"base64": base64.b64encode(self.value).decode("ascii")}
        elif self.kind == "sse":
            out = {
                "sse": {
                    "framing": (self.framing or Framing()).to_json(),
                    "events": [e.to_json() for e in self.value],
                }
            }
        else:
            raise ValueError(f"unknown body kind {self.kind!r}")
        if self.decoded_from:
            out["decoded_from"] = self.decoded_from
        return out

    @classmethod
    def from_json(cls, obj: Any, where: str) -> Body:
        if obj is None:
            return cls.empty()
        if not isinstance(obj, dict):
            raise _shape(where, "an object or null", obj)
        decoded_from = obj.get("decoded_from")
        body: Body
        if "json" in obj:
            body = cls.json(obj["json"])
        elif "text" in obj:
            body = cls.text(_expect(obj["text"], str, f"{where}.text"))
        elif "base64" in obj:
            try:
                body = cls.binary(base64.b64decode(_expect(obj["base64"], str, f"{where}.base64"), validate=True))
            except ValueError as exc:
                raise CassetteError(f"{where}.base64 is not valid base64 ({exc})", location=f"{where}.base64") from exc
        elif "sse" in obj:
            sse = _expect(obj["sse"], dict, f"{where}.sse")
            raw_events = _expect(sse.get("events", []), list, f"{where}.sse.events")
            events = []
            for i, ev in enumerate(raw_events):
                events.append(SSEEvent.from_json(ev, f"{where}.sse.events[{i}]"))
            body = cls.sse(events, Framing.from_json(sse.get("framing")))
        else:
            raise CassetteError(
                f"{where} must have one of the keys json, text, base64, sse (found {sorted(obj)})",
                location=where,
            )
        body.decoded_from = decoded_from
        return body


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
            try:
                import brotli  # type: ignore[import-not-found]
            except ImportError as exc:  # pragma: no cover - depends on environment
                raise ValueError("brotli-encoded body but the 'brotli' package is not installed") from exc
            result = brotli.decompress(result)
        else:
            raise ValueError(f"unsupported content-encoding {enc!r}")
    return result


def body_from_wire(data: bytes, headers: Headers, *, exact: bool = False) -> Body:
    """Build a stored body from wire bytes, decompressing according to the headers."""
    encoding = headers.get("content-encoding")
    decoded = decode_content(data, encoding) if data else data
    body = Body.from_bytes(decoded, headers.get("content-type"), exact=exact)
    if encoding and encoding.lower() != "identity" and body.kind != "empty":
        body.decoded_from = encoding
    return body


# --------------------------------------------------------------------------- interactions


@dataclass(slots=True)
class Request:
    method: str
    url: str
    headers: Headers = field(default_factory=Headers)
    body: Body = field(default_factory=Body)

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

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n"

    def save(self, path: str | os.PathLike[str] | None = None) -> Path:
        target = Path(path) if path is not None else self.path
        if target is None:
            raise ValueError("cassette has no path to save to")
        atomic_write_text(target, self.dumps())
        self.path = target
        return target


# --------------------------------------------------------------------------- load / save


def atomic_write_text(path: Path, text: str) -> None:
    """Write through a temp file in the same folder, fsync, then rename over the target.

    A crash at any point leaves either the old file or the new one, never a mix.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".runreplay-tmp", dir=path.parent)
    try:
        # mkstemp creates 0600 files; give the cassette the mode a normal write would.
        os.chmod(tmp, _file_mode(path))
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable where the OS allows it
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _file_mode(path: Path) -> int:
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        return 0o666 & ~_umask()


@functools.cache
def _umask() -> int:
    # Reading the umask means setting it; do it once, not on every save from every thread.
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


def load(path: str | os.PathLike[str]) -> Cassette:
    """Load a cassette file, raising :class:`CassetteError` naming the file and JSON location."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise CassetteError("cassette file not found", path=p) from None
    except OSError as exc:
        raise CassetteError(f"cannot read cassette: {exc}", path=p) from exc
    with paused_gc():
        try:
            if len(data) > _json.LARGE:
                text, data = data.decode("utf-8"), b""  # parsed as text: drop the bytes first
                doc = _json.loads(text)
            else:
                doc = _json.loads(data)
        except UnicodeDecodeError as exc:
            raise CassetteError(f"cannot read cassette: {exc}", path=p) from exc
        except json.JSONDecodeError as exc:
            raise CassetteError(
                f"invalid JSON: {exc.msg}", path=p, location=f"line {exc.lineno}, column {exc.colno}"
            ) from None
        del data  # not held while the objects are built
        try:
            cassette = from_json(doc)
        except CassetteError as exc:
            exc.path = p
            raise
    cassette.path = p
    return cassette


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection inside the block (it is re-enabled after, if it was on).

    Building a large cassette creates hundreds of thousands of objects that all survive; the
    collector would walk every one of them again and again while they are being made (over
    half the time of loading 10,000 interactions). Nothing built here forms a cycle.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def from_json(doc: Any) -> Cassette:
    _expect(doc, dict, "$")
    fmt = doc.get("format")
    if fmt != FORMAT_VERSION:
        raise CassetteError(
            f"unsupported cassette format {fmt!r} (this runreplay reads format {FORMAT_VERSION}; "
            "files from other tools can be converted with `runreplay import`)",
            location="$.format",
        )
    meta = _expect(doc.get("meta", {}), dict, "$.meta")
    raw = _expect(doc.get("interactions"), list, "$.interactions")
    interactions = []
    for i, item in enumerate(raw):
        try:
            interactions.append(_plain_interaction(item))
        except _NotPlain:
            # Something unusual, or wrong: the careful reader takes it, and names the place.
            interactions.append(_interaction_from_json(item, f"$.interactions[{i}]"))
    timelines = _expect(doc.get("timelines", []), list, "$.timelines")
    return Cassette(interactions=interactions, meta=meta, timelines=timelines)


class _NotPlain(Exception):
    pass


def _plain_interaction(obj: Any) -> Interaction:
    """The usual interaction, read without building a JSON path for every field.

    Anything but the plain shape (string headers, a JSON/text/empty body, int status and
    times) raises _NotPlain, and :func:`_interaction_from_json` reads it instead.
    """
    try:
        req = obj["request"]
        resp = obj["response"]
        method = req["method"]
        url = req["url"]
        status = resp["status"]
        reason = resp.get("reason", "")
        at_ms = obj.get("at_ms", 0)
        duration = obj.get("duration_ms")
    except (KeyError, TypeError, AttributeError):
        raise _NotPlain from None
    if (
        type(method) is not str
        or type(url) is not str
        or type(status) is not int
        or not 100 <= status <= 599
        or type(reason) is not str
        or type(at_ms) is not int
        or at_ms < 0
        or (duration is not None and (type(duration) is not int or duration < 0))
    ):
        raise _NotPlain
    request = Request(method.upper(), url, _plain_headers(req.get("headers")), _plain_body(req.get("body")))
    response = Response(status, _plain_headers(resp.get("headers")), _plain_body(resp.get("body")), reason)
    return Interaction(request, response, at_ms, duration)


def _plain_headers(obj: Any) -> Headers:
    if obj is None:
        return Headers()
    if type(obj) is not dict:
        raise _NotPlain
    for value in obj.values():
        if type(value) is not str:
            raise _NotPlain
    return Headers._of_strings(obj)


def _plain_body(obj: Any) -> Body:
    if obj is None:
        return Body()
    if type(obj) is not dict or len(obj) != 1:
        raise _NotPlain
    if "json" in obj:
        return Body("json", obj["json"])
    text = obj.get("text")
    if type(text) is not str:
        raise _NotPlain
    return Body("text", text)


def _interaction_from_json(obj: Any, where: str) -> Interaction:
    _expect(obj, dict, where)
    req = _expect(obj.get("request"), dict, f"{where}.request")
    resp = _expect(obj.get("response"), dict, f"{where}.response")
    request = Request(
        method=_expect(req.get("method"), str, f"{where}.request.method").upper(),
        url=_expect(req.get("url"), str, f"{where}.request.url"),
        headers=_headers_from_json(req.get("headers"), f"{where}.request.headers"),
        body=Body.from_json(req.get("body"), f"{where}.request.body"),
    )
    status = resp.get("status")
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise _shape(f"{where}.response.status", "an HTTP status code (100-599)", status)
    response = Response(
        status=status,
        reason=_expect(resp.get("reason", ""), str, f"{where}.response.reason"),
        headers=_headers_from_json(resp.get("headers"), f"{where}.response.headers"),
        body=Body.from_json(resp.get("body"), f"{where}.response.body"),
    )
    at_ms = _milliseconds(obj.get("at_ms", 0), f"{where}.at_ms")
    duration = obj.get("duration_ms")
    duration_ms = None if duration is None else _milliseconds(duration, f"{where}.duration_ms")
    return Interaction(request=request, response=response, at_ms=at_ms, duration_ms=duration_ms)


def _milliseconds(value: Any, where: str) -> int:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
        raise _shape(where, "a non-negative number of milliseconds", value)
    return int(value)


def _headers_from_json(obj: Any, where: str) -> Headers:
    if obj is None:
        return Headers()
    _expect(obj, dict, where)
    # This runs twice per interaction on every load: the usual case (every value a string)
    # is one comprehension; lists of values and wrong types take the slower loop.
    items = [(key.lower(), value) for key, value in obj.items() if isinstance(value, str)]
    if len(items) != len(obj):
        items = []
        for key, value in obj.items():
            if isinstance(value, str):
                items.append((key.lower(), value))
            elif isinstance(value, list) and all(isinstance(v, str) for v in value):
                name = key.lower()
                items.extend((name, v) for v in value)
            else:
                raise _shape(f"{where}.{key}", "a string or a list of strings", value)
    return Headers._lowered(items)


def _expect(value: Any, kind: type, where: str) -> Any:
    if not isinstance(value, kind):
        names = {dict: "an object", list: "an array", str: "a string", int: "an integer"}
        raise _shape(where, names.get(kind, kind.__name__), value)
    return value


def _shape(where: str, expected: str, found: Any) -> CassetteError:
    shown = json.dumps(found)[:80] if not isinstance(found, bytes) else repr(found[:80])
    return CassetteError(f"{where} must be {expected}, found {shown}", location=where)
