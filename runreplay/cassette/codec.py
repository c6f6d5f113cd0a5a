"""The cassette file: JSON <-> model, with precise errors, and atomic saving.

A cassette is one JSON file per test::

    {"format": 1,
     "meta": {"runreplay": "0.2.0", "provider": "openai", "client": {...}, "recorded_at": "..."},
     "interactions": [{"at_ms": 0, "request": {...}, "response": {...}}, ...]}

Bodies are stored as what they are, so that diffs are readable and scrubbing can reach
every value: ``{"json": ...}``, ``{"text": "..."}``, ``{"base64": "..."}`` or
``{"sse": {"framing": {...}, "events": [...]}}``; an empty body is ``null``. Compressed
bodies are stored decoded. Reading is strict: every error names the file and the JSON
path. The loader's fast paths (a reader for the plain interaction shape, a paused
garbage collector, lazily paired headers) live here, not in the model.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import functools
import gc
import json
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from runreplay import _json
from runreplay.cassette.model import (
    FORMAT_VERSION,
    Body,
    BodyKind,
    Cassette,
    Headers,
    Interaction,
    Request,
    Response,
)
from runreplay.errors import CassetteError
from runreplay.sse import Framing, SSEEvent

#: The largest time a cassette may give in milliseconds (2**53 - 1: exact as a float, safe in JavaScript).
MAX_MS = 2**53 - 1
_EVENT_KEYS = ("event", "data", "data_text", "id", "retry", "at_ms", "comments", "raw", "raw_b64")
_INDEX = re.compile(r"\[(\d+)\]$")


def dumps(cassette: Cassette) -> str:
    """The cassette file's text: indented, keys in a stable order, non-ASCII kept."""
    return json.dumps(cassette.to_json(), indent=2, ensure_ascii=False) + "\n"


def save(cassette: Cassette, path: str | os.PathLike[str] | None = None) -> Path:
    """Write ``cassette`` atomically to ``path`` (default: its own path); returns the path."""
    target = Path(path) if path is not None else cassette.path
    if target is None:
        raise ValueError("cassette has no path to save to")
    atomic_write_text(target, dumps(cassette))
    cassette.path = target
    return target


def atomic_write_text(path: Path, text: str) -> None:
    """Write through a temp file in the same folder, fsync, then rename over the target.

    A crash at any point leaves either the old file or the new one, never a mix. A symlink
    is written through: its target is replaced (in the target's folder, keeping the target's
    mode) and the link stays a link. Failures are a :class:`WriteError` (an OSError).
    """
    try:
        _write_through(_write_target(path), text)
    except OSError as exc:  # a full disk, a read-only folder, a folder where the file goes ...
        raise WriteError(exc, path) from exc


class WriteError(CassetteError, OSError):
    """A cassette could not be written: an OSError (errno and all) that also names the file,
    so the command line reports it as one paragraph with exit code 2."""

    def __init__(self, exc: OSError, path: Path) -> None:
        CassetteError.__init__(self, f"cannot write the cassette: {exc.strerror or exc}", path=path)
        self.errno, self.strerror, self.filename = exc.errno, exc.strerror, exc.filename


def _write_through(path: Path, text: str) -> None:
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


def _write_target(path: Path) -> Path:
    """The file a write to ``path`` replaces: the final target when ``path`` is a symlink.

    A dangling link gets its target created, as ``open(path, "w")`` would; a loop of links
    is an OSError, as it is for ``open``.
    """
    if not path.is_symlink():
        return path
    try:
        return Path(os.path.realpath(path, strict=True))
    except FileNotFoundError:
        return Path(os.path.realpath(path))


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


def read_file(path: Path, what: str) -> bytes:
    """The bytes of ``path``, or a :class:`CassetteError` naming it (``what``: "cassette file")."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise CassetteError(f"{what} not found", path=path) from None
    except IsADirectoryError:
        raise CassetteError(f"is a folder; give a {what}", path=path) from None
    except OSError as exc:
        raise CassetteError(f"cannot read {what}: {exc.strerror or exc}", path=path) from exc


def load(path: str | os.PathLike[str]) -> Cassette:
    """Load a cassette file, raising :class:`CassetteError` naming the file and JSON location."""
    p = Path(path)
    data = read_file(p, "cassette file")
    with paused_gc():
        try:
            if len(data) > _json.LARGE:
                text, data = data.decode("utf-8"), b""  # parsed as text: drop the bytes first
                doc = _json.loads(text, max_depth=_json.MAX_DEPTH)
            else:
                doc = _json.loads(data, max_depth=_json.MAX_DEPTH)
        except UnicodeDecodeError as exc:
            raise CassetteError(f"cannot read cassette: {exc}", path=p) from exc
        except _json.JSONLimitError as exc:
            raise CassetteError(exc.message, path=p, location=exc.location) from None
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
    meta = _meta(doc.get("meta", {}))
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


def _meta(obj: Any) -> dict[str, Any]:
    """``meta`` is free-form, but the keys runreplay itself reads must have their types."""
    meta: dict[str, Any] = _expect(obj, dict, "$.meta")
    for key in ("provider", "recorded_at", "runreplay"):
        if meta.get(key) is not None:
            _expect(meta[key], str, f"$.meta.{key}")
    client = meta.get("client")
    if client is not None:
        _expect(client, dict, "$.meta.client")
        for key in ("name", "version"):
            if client.get(key) is not None:
                _expect(client[key], str, f"$.meta.client.{key}")
    return meta


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
        or not 0 <= at_ms <= MAX_MS
        or (duration is not None and (type(duration) is not int or not 0 <= duration <= MAX_MS))
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
    return Headers.of_strings(obj)


def _plain_body(obj: Any) -> Body:
    if obj is None:
        return Body()
    if type(obj) is not dict or len(obj) != 1:
        raise _NotPlain
    if "json" in obj:
        return Body(BodyKind.JSON, obj["json"])
    text = obj.get("text")
    if type(text) is not str:
        raise _NotPlain
    return Body(BodyKind.TEXT, text)


def _interaction_from_json(obj: Any, where: str) -> Interaction:
    _expect(obj, dict, where)
    req = _expect(obj.get("request"), dict, f"{where}.request")
    resp = _expect(obj.get("response"), dict, f"{where}.response")
    request = Request(
        method=_expect(req.get("method"), str, f"{where}.request.method").upper(),
        url=_expect(req.get("url"), str, f"{where}.request.url"),
        headers=_headers_from_json(req.get("headers"), f"{where}.request.headers"),
        body=body_from_json(req.get("body"), f"{where}.request.body"),
    )
    status = resp.get("status")
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise _shape(f"{where}.response.status", "an HTTP status code (100-599)", status)
    response = Response(
        status=status,
        reason=_expect(resp.get("reason", ""), str, f"{where}.response.reason"),
        headers=_headers_from_json(resp.get("headers"), f"{where}.response.headers"),
        body=body_from_json(resp.get("body"), f"{where}.response.body"),
    )
    at_ms = _milliseconds(obj.get("at_ms", 0), f"{where}.at_ms")
    duration = obj.get("duration_ms")
    duration_ms = None if duration is None else _milliseconds(duration, f"{where}.duration_ms")
    return Interaction(request=request, response=response, at_ms=at_ms, duration_ms=duration_ms)


def _milliseconds(value: Any, where: str) -> int:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value <= MAX_MS:
        raise _shape(where, f"a number of milliseconds from 0 to {MAX_MS}", value)
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
    return Headers.of_lowered(items)


def _expect(value: Any, kind: type, where: str) -> Any:
    if not isinstance(value, kind):
        names = {dict: "an object", list: "an array", str: "a string", int: "an integer"}
        raise _shape(where, names.get(kind, kind.__name__), value)
    return value


def _shape(where: str, expected: str, found: Any) -> CassetteError:
    shown = json.dumps(found)[:80] if not isinstance(found, bytes) else repr(found[:80])
    return CassetteError(f"{where} must be {expected}, found {shown}", location=where)


# --------------------------------------------------------------------------- bodies and events


def body_from_json(obj: Any, where: str) -> Body:
    if obj is None:
        return Body.empty()
    if not isinstance(obj, dict):
        raise _shape(where, "an object or null", obj)
    decoded_from = obj.get("decoded_from")
    if decoded_from is not None:
        _expect(decoded_from, str, f"{where}.decoded_from")
    body: Body
    if "json" in obj:
        body = Body.json(obj["json"])
    elif "text" in obj:
        body = Body.text(_expect(obj["text"], str, f"{where}.text"))
    elif "base64" in obj:
        try:
            body = Body.binary(base64.b64decode(_expect(obj["base64"], str, f"{where}.base64"), validate=True))
        except ValueError as exc:
            raise CassetteError(f"{where}.base64 is not valid base64 ({exc})", location=f"{where}.base64") from exc
    elif "sse" in obj:
        sse = _expect(obj["sse"], dict, f"{where}.sse")
        raw_events = _expect(sse.get("events", []), list, f"{where}.sse.events")
        events = []
        for i, ev in enumerate(raw_events):
            events.append(event_from_json(ev, f"{where}.sse.events[{i}]"))
        body = Body.sse(events, framing_from_json(sse.get("framing"), f"{where}.sse.framing"))
    else:
        raise CassetteError(
            f"{where} must have one of the keys json, text, base64, sse (found {sorted(obj)})",
            location=where,
        )
    body.decoded_from = decoded_from
    return body


def event_from_json(obj: Any, where: str = "$") -> SSEEvent:
    """Read an event written by :meth:`SSEEvent.to_json`, strictly.

    ``where`` is the JSON path of ``obj`` in its cassette (``$.interactions[0].response
    .body.sse.events[3]``); errors are :class:`CassetteError` with that location.
    """
    check = _EventCheck(obj, where)
    if "data" in obj and "data_text" in obj:
        raise check.error("has both `data` (JSON) and `data_text` (text); keep one", where)
    if "raw" in obj and "raw_b64" in obj:
        raise check.error("has both `raw` and `raw_b64`; keep one", where)
    if "data" in obj:
        data, is_json = obj["data"], True
    else:
        data, is_json = check.text("data_text", allow_newline=True), False
    raw = check.text("raw", one_field=False)
    if raw is not None:
        try:
            raw.encode("utf-8")
        except UnicodeEncodeError:
            message = "`raw` has lone surrogates; store bytes that are not UTF-8 as `raw_b64`"
            raise check.error(message, f"{where}.raw") from None
    elif "raw_b64" in obj:
        raw = check.b64("raw_b64").decode("utf-8", "surrogateescape")
    comments = check.value("comments", list, "a list of strings", [])
    for i, comment in enumerate(comments):
        check.line(comment, f"comments[{i}]", "a string")
    at_ms = check.count("at_ms")
    return SSEEvent(
        event=check.text("event"),
        data=data,
        data_is_json=is_json,
        id=check.text("id", allow_nul=False),
        retry=check.count("retry"),
        at_ms=0 if at_ms is None else at_ms,
        comments=list(comments),
        raw=raw,
    )


class _EventCheck:
    """Field checks for :meth:`SSEEvent.from_json`; every error names the event and the key."""

    def __init__(self, obj: Any, where: str) -> None:
        index = _INDEX.search(where)
        self.label = f"SSE event {index.group(1)}" if index else "SSE event"
        self.where = where
        if not isinstance(obj, dict):
            raise self.error(f"must be an object, found {_shown(obj)}", where)
        unknown = sorted(set(obj) - set(_EVENT_KEYS))
        if unknown:
            raise self.error(f"has unknown keys {unknown} (known: {', '.join(_EVENT_KEYS)})", where)
        self.obj: dict[str, Any] = obj

    def error(self, message: str, location: str | None = None) -> CassetteError:
        return CassetteError(f"{self.label} {message}", location=location or self.where)

    def value(self, key: str, kind: type, expected: str, default: Any = None) -> Any:
        if key not in self.obj:
            return default
        found = self.obj[key]
        if not isinstance(found, kind) or isinstance(found, bool):
            raise self.error(f"`{key}` must be {expected}, found {_shown(found)}", f"{self.where}.{key}")
        return found

    def count(self, key: str) -> int | None:
        """A time in milliseconds (``at_ms``, ``retry``): an integer from 0 to :data:`MAX_MS`."""
        expected = f"a non-negative integer of at most {MAX_MS}"
        found: int | None = self.value(key, int, expected)
        if found is not None and not 0 <= found <= MAX_MS:
            raise self.error(f"`{key}` must be {expected}, found {_shown(found)}", f"{self.where}.{key}")
        return found

    def text(self, key: str, *, one_field: bool = True, allow_newline: bool = False, allow_nul: bool = True) -> Any:
        found = self.value(key, str, "a string")
        if found is not None and one_field:
            self.line(found, key, "a string", allow_newline=allow_newline, allow_nul=allow_nul)
        return found

    def line(self, found: Any, key: str, expected: str, *, allow_newline: bool = False, allow_nul: bool = True) -> None:
        # A line break inside a field would split it into other fields when written out.
        location = f"{self.where}.{key}"
        if not isinstance(found, str):
            raise self.error(f"`{key}` must be {expected}, found {_shown(found)}", location)
        if "\r" in found or (not allow_newline and "\n" in found):
            raise self.error(f"`{key}` must not contain a line break, found {_shown(found)}", location)
        if not allow_nul and "\0" in found:
            raise self.error(f"`{key}` must not contain NUL (an event stream ignores such an id)", location)

    def b64(self, key: str) -> bytes:
        text = self.value(key, str, "a base64 string")
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise self.error(f"`{key}` is not valid base64 ({exc})", f"{self.where}.{key}") from exc


def _shown(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False)[:80]
    except (TypeError, ValueError):
        return repr(value)[:80]


_LINE_ENDINGS = ("\n", "\r\n", "\r")


def framing_from_json(obj: Any, where: str = "$.framing") -> Framing:
    """Read a stream's framing (``{"space_after_colon": bool, "line_ending": "\\n"}``), strictly."""
    if obj is None:
        return Framing()
    _expect(obj, dict, where)
    space = obj.get("space_after_colon", True)
    if not isinstance(space, bool):
        raise _shape(f"{where}.space_after_colon", "true or false", space)
    line_ending = obj.get("line_ending", "\n")
    if line_ending not in _LINE_ENDINGS:
        raise _shape(f"{where}.line_ending", 'a line ending ("\\n", "\\r\\n" or "\\r")', line_ending)
    return Framing(space_after_colon=space, line_ending=line_ending)
