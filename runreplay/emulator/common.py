"""Pieces every API family's emulator shares.

The run APIs have the same shape underneath: a job (a run, a chat) goes through timed
lifecycle phases, each change is also written to an event log, and a streamed request
simply follows that log. Reads and streams therefore see the very same objects. A
family's emulator module subclasses :class:`Engine` and names the provider it serves;
the server routes each of the provider's routes to the method of the route's name.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from runreplay import _real_time
from runreplay.sse import Framing, SSEEvent, serialize_event

JSON = dict[str, Any]

#: asyncio.sleep as Python started with it. A replaying test's virtual clock patches
#: asyncio.sleep process-wide; the emulator's thread, still serving, must keep sleeping in real
#: time, or it would spin and push the test's virtual time forward.
real_async_sleep = _real_time.async_sleep


class ApiError(Exception):
    """A request the emulated API refuses; each half renders it in its own error format."""

    def __init__(
        self, message: str, *, status: int = 400, code: str | int | None = None, param: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.param = param


class IdFactory:
    """Deterministic numbers for ids: the n-th id of a kind is the same in every emulator instance."""

    def __init__(self) -> None:
        self._counters: dict[str, int] = {}
        self._lock = threading.Lock()

    def next(self, kind: str) -> int:
        with self._lock:
            n = self._counters.get(kind, 0) + 1
            self._counters[kind] = n
            return n

    @staticmethod
    def digest(kind: str, n: int) -> bytes:
        return hashlib.sha256(f"runreplay-emulator:{kind}:{n}".encode()).digest()


class Clock:
    """Phase arithmetic runs on the injected clock; unix stamps are derived from it.

    The unix offset is fixed at construction, so patching ``time.time`` later (a virtual
    clock in a test) cannot make timestamps jump relative to the lifecycle.
    """

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._start = clock()
        self._wall_start = time.time()

    def now(self) -> float:
        return self._clock()

    def unix(self, at: float) -> int:
        return int(self._wall_start + (at - self._start))


@dataclass(eq=False, kw_only=True)
class Job:
    """A run or a chat: the current lifecycle segment plus the event log streams follow."""

    segment: str = "start"
    segment_start: float = 0.0
    stages_done: int = 0
    events: list[tuple[str, JSON]] = field(default_factory=list)

    def begin(self, segment: str, at: float) -> None:
        self.segment, self.segment_start, self.stages_done = segment, at, 0

    def log(self, name: str, payload: JSON) -> None:
        # A snapshot, so a stream replays the object as it was at that moment.
        self.events.append((name, copy.deepcopy(payload)))


J = TypeVar("J", bound=Job)
Stage = Callable[[J, float], None]


class Engine(Generic[J]):
    """One API family's emulator: time-driven lifecycles, evaluated lazily whenever a job is
    read or streamed.

    Stage k of a segment is due ``k * phase_seconds`` after the segment began (stage 0 is
    what the request that began it did). Stages are applied in order with their own due
    time, so a late read still sees every intermediate change in the log.

    A subclass names the provider it serves (``provider``), the settings it takes beyond
    the shared ones (``settings``: name -> meaning), renders errors in its API's shape
    (:meth:`error_response`) and has one method per route of its provider, named as the route.
    """

    provider: ClassVar[str]
    settings: ClassVar[Mapping[str, str]] = {}

    def __init__(self, clock: Clock, ids: IdFactory, phase_seconds: float) -> None:
        self.clock = clock
        self.ids = ids
        self.phase = max(0.0, float(phase_seconds))
        self.lock = threading.RLock()
        # Gaps between streamed events, and how often a stream looks for new ones.
        self.gap = min(self.phase / 20, 0.005)
        self.poll = min(max(self.phase / 5, 0.001), 0.05)

    def error_response(self, exc: ApiError) -> Response:
        """``exc`` in the API's own error format."""
        raise NotImplementedError

    async def invalid_url(self, request: Request) -> Response:
        """What the API answers for a path it does not have."""
        return self.error_response(ApiError(f"Invalid URL ({request.method} {request.url.path})", status=404))

    def stages(self, job: J) -> Sequence[Stage[J] | None]:
        raise NotImplementedError

    def stream_finished(self, job: J) -> bool:
        raise NotImplementedError

    def after_advance(self, job: J, now: float) -> None:
        """Hook for changes that are not phase-driven (expiry)."""

    def advance(self, job: J) -> None:
        now = self.clock.now()
        while True:
            stages = self.stages(job)
            k = job.stages_done + 1
            if k >= len(stages):
                break
            due = job.segment_start + k * self.phase
            if due > now:
                break
            job.stages_done = k
            stage = stages[k]
            if stage is not None:
                stage(job, due)
        self.after_advance(job, now)

    async def follow(
        self,
        job: J,
        start: int,
        encode: Callable[[str, JSON], bytes],
        *,
        prologue: Iterable[bytes] = (),
        epilogue: Iterable[bytes] = (),
    ) -> AsyncIterator[bytes]:
        """Stream a job's log from ``start`` until it stops (done, failed, needs action...)."""
        for chunk in prologue:
            yield chunk
            await real_async_sleep(self.gap)
        index = start
        while True:
            with self.lock:
                self.advance(job)
                batch = job.events[index:]
                index += len(batch)
                finished = self.stream_finished(job)
            for name, payload in batch:
                yield encode(name, payload)
                await real_async_sleep(self.gap)
            if finished:
                break
            await real_async_sleep(self.poll)
        for chunk in epilogue:
            yield chunk


# --- HTTP helpers -------------------------------------------------------------------------

Handler = Callable[[Request], Awaitable[Response]]


def guarded(handler: Handler, render_error: Callable[[ApiError], Response]) -> Handler:
    """Turn ``ApiError`` into the API's own error response."""

    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except ApiError as exc:
            return render_error(exc)

    endpoint.__name__ = getattr(handler, "__name__", "endpoint")
    return endpoint


def missing_parameter(param: str) -> ApiError:
    return ApiError(f"Missing required parameter: '{param}'.", param=param, code="missing_required_parameter")


def list_page(items: list[JSON], request: Request) -> JSON:
    """A cursor page of objects with an ``id`` (``{object: list, data, first_id, last_id, has_more}``):
    ``limit`` (1-100, default 20), ``order`` (default desc), ``after``, ``before``."""
    query = request.query_params
    try:
        limit = int(query.get("limit", 20))
    except ValueError as exc:
        raise ApiError("Invalid 'limit': expected an integer.", param="limit", code="invalid_type") from exc
    if not 1 <= limit <= 100:
        raise ApiError(f"Invalid 'limit': expected a value between 1 and 100, got {limit}.", param="limit")
    order = query.get("order", "desc")
    if order not in ("asc", "desc"):
        raise ApiError(
            f"Invalid value: '{order}'. Supported values are: 'asc' and 'desc'.", param="order", code="invalid_value"
        )
    ordered = list(items) if order == "asc" else list(reversed(items))
    ids = [item["id"] for item in ordered]
    low, high = 0, len(ordered)
    after, before = query.get("after"), query.get("before")
    if after:
        low = ids.index(after) + 1 if after in ids else high
    if before:
        high = ids.index(before) if before in ids else 0
    window = ordered[low:high]
    page = window[-limit:] if before and not after else window[:limit]
    return {
        "object": "list",
        "data": page,
        "first_id": page[0]["id"] if page else None,
        "last_id": page[-1]["id"] if page else None,
        "has_more": len(window) > limit,
    }


async def read_json(request: Request) -> JSON:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise ApiError("We could not parse the JSON body of your request.") from exc
    if not isinstance(body, dict):
        raise ApiError("The request body must be a JSON object.")
    return body


def json_response(
    payload: Any, *, status: int = 200, headers: Mapping[str, str] | None = None, media_type: str | None = None
) -> JSONResponse:
    return JSONResponse(payload, status_code=status, headers=dict(headers or {}), media_type=media_type)


def sse_response(stream: AsyncIterator[bytes], headers: Mapping[str, str] | None = None) -> StreamingResponse:
    all_headers = {"cache-control": "no-cache", **(headers or {})}
    return StreamingResponse(stream, media_type="text/event-stream; charset=utf-8", headers=all_headers)


def sse_event(name: str, data: Any, framing: Framing, *, raw: bool = False) -> bytes:
    """One event; ``raw`` writes ``data`` as literal text instead of JSON (OpenAI's [DONE])."""
    return serialize_event(SSEEvent(event=name, data=data, data_is_json=not raw), framing)


# --- deterministic "model" output -------------------------------------------------------------

_TOKEN = re.compile(r"\w+|[^\w\s]")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_WORD = re.compile(r"[^\W\d_][\w'-]*")


def count_tokens(text: str) -> int:
    return max(1, len(_TOKEN.findall(text)))


def text_pieces(text: str) -> list[str]:
    """Split like a model streams: words with their leading space ("Since", " it's", ...)."""
    return re.findall(r"\s*\S+|\s+$", text) or [text]


def json_pieces(text: str) -> list[str]:
    """Split a JSON arguments string at its punctuation, as function-call deltas arrive."""
    return re.findall(r'[{}\[\]":,]+|[^{}\[\]":,]+', text) or [text]


def focus_word(text: str) -> str:
    """The last capitalised word that does not start a sentence, else the whole text."""
    words = list(_WORD.finditer(text))
    best = ""
    for match in words:
        word = match.group()
        before = text[: match.start()].rstrip()
        sentence_start = not before or before[-1] in ".!?"
        if word[0].isupper() and len(word) > 1 and not sentence_start:
            best = word
    return best or text.strip().rstrip("?.!")


def _sample(spec: Mapping[str, Any], text: str) -> Any:
    enum = spec.get("enum")
    if isinstance(enum, list) and enum:
        for value in enum:
            if str(value).lower() in text.lower():
                return value
        return enum[0]
    kind = spec.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    number = _NUMBER.search(text)
    if kind == "integer":
        return int(float(number.group())) if number else 1
    if kind == "number":
        return float(number.group()) if number else 1.0
    if kind == "boolean":
        return True
    if kind == "array":
        items = spec.get("items")
        return [_sample(items, text)] if isinstance(items, Mapping) else []
    if kind == "object":
        return json.loads(guess_arguments(spec, text))
    return focus_word(text)


def guess_arguments(parameters: Mapping[str, Any] | None, text: str) -> str:
    """Deterministic arguments for a function call, from its JSON schema and the user's text."""
    properties = (parameters or {}).get("properties") or {}
    args = {name: _sample(spec if isinstance(spec, Mapping) else {}, text) for name, spec in properties.items()}
    return json.dumps(args, ensure_ascii=False, separators=(",", ":"))


def compose_reply(user_text: str, tool_results: Sequence[tuple[str, str]] = ()) -> str:
    """The assistant's deterministic answer, naming every tool output it was given."""
    if tool_results:
        parts = [f"The {name} tool returned: {output}." for name, output in tool_results]
        return " ".join(parts) + " That is the emulated answer to your question."
    question = user_text.strip() or "your message"
    return f"This is the emulated answer to: {question}"
