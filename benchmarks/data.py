"""Synthetic recordings shared by the measurements: the same interactions as runreplay and VCR.py files.

Everything is built in memory with runreplay's cassette API and written to a scratch folder,
so the numbers never depend on a recording session or the network. The payloads look like
what the OpenAI Assistants API returns (a 2 KB run object, SDK request headers, OpenAI SSE
framing) because payload size and shape drive serialisation, matching and parsing costs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runreplay import _json
from runreplay.cassette import Body, Cassette, Headers, Interaction, Request, Response, encode_body
from runreplay.engine.timeline import build_timelines
from runreplay.sse import Framing, SSEEvent, encode_events

BASE_URL = "http://bench.local/v1"
RUN_BYTES = 2048
RECORDED_AT = "2026-11-22T09:00:00.000+00:00"
CREATED_AT = 1795338000

#: What the openai SDK sends; stored in the cassette like a real recording.
REQUEST_HEADERS: tuple[tuple[str, str], ...] = (
    ("accept", "application/json"),
    ("accept-encoding", "gzip, deflate"),
    ("connection", "keep-alive"),
    ("user-agent", "OpenAI/Python 3.54.0"),
    ("x-stainless-lang", "python"),
    ("x-stainless-package-version", "3.54.0"),
    ("x-stainless-os", "Linux"),
    ("x-stainless-arch", "x64"),
    ("x-stainless-runtime", "CPython"),
    ("x-stainless-runtime-version", "3.11.7"),
    ("x-stainless-async", "false"),
    ("openai-beta", "assistants=v2"),
    ("x-stainless-retry-count", "0"),
    ("authorization", "<scrubbed>"),
)


def response_headers(index: int) -> list[tuple[str, str]]:
    """The headers of a recorded JSON reply (the floor serves the same ones)."""
    return [
        ("content-type", "application/json"),
        ("openai-version", "2020-10-01"),
        ("openai-processing-ms", "37"),
        # Random-looking, as real ones are (a long run of digits would only be unrealistic).
        ("x-request-id", "req_" + hashlib.md5(str(index).encode()).hexdigest()),
    ]


def run_object(run_id: str, thread_id: str, status: str, index: int = 0) -> dict[str, Any]:
    """An Assistants v2 run, padded through ``instructions`` to RUN_BYTES of compact JSON."""
    completed = status == "completed"
    run: dict[str, Any] = {
        "id": run_id,
        "object": "thread.run",
        "created_at": CREATED_AT + index,
        "assistant_id": "asst_bench000000000000000000",
        "thread_id": thread_id,
        "status": status,
        "started_at": CREATED_AT + index + 1,
        "expires_at": CREATED_AT + index + 600,
        "cancelled_at": None,
        "failed_at": None,
        "completed_at": CREATED_AT + index + 9 if completed else None,
        "required_action": None,
        "last_error": None,
        "model": "gpt-4o-mini",
        "instructions": "",
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "description": "Current weather for a city",
                    "parameters": {
                        "type": "object",
                        "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
                        "required": ["city"],
                    },
                    "strict": False,
                },
            },
            {"type": "code_interpreter"},
        ],
        "tool_resources": {},
        "metadata": {"suite": "benchmarks", "case": str(index)},
        "temperature": 1.0,
        "top_p": 1.0,
        "reasoning_effort": None,
        "max_completion_tokens": None,
        "max_prompt_tokens": None,
        "truncation_strategy": {"type": "auto", "last_messages": None},
        "incomplete_details": None,
        "usage": {"prompt_tokens": 812, "completion_tokens": 96, "total_tokens": 908} if completed else None,
        "response_format": "auto",
        "tool_choice": "auto",
        "parallel_tool_calls": True,
    }
    missing = RUN_BYTES - len(compact(run))
    run["instructions"] = ("You are a weather assistant. Answer briefly and cite the station. " * 40)[: max(missing, 0)]
    return run


def compact(value: Any) -> bytes:
    """How runreplay serialises a stored JSON body on replay (so the floor serves the same bytes)."""
    return _json.dumps(value)


def run_path(thread_id: str, run_id: str) -> str:
    return f"/threads/{thread_id}/runs/{run_id}"


# --------------------------------------------------------------------------- polling cassettes


@dataclass(frozen=True)
class Exchange:
    """One recorded GET and its reply, in the plain form every variant is built from."""

    path: str  # after BASE_URL
    status_code: int
    headers: list[tuple[str, str]]
    body: bytes
    payload: Any
    at_ms: int
    duration_ms: int


def poll_exchanges(count: int) -> list[Exchange]:
    """``count`` polls of one run, one second apart: queued, in_progress ..., completed."""
    thread_id, run_id = "thread_bench00000000000000000", "run_bench000000000000000000"
    out = []
    for n in range(count):
        status = "queued" if n == 0 else "completed" if n == count - 1 else "in_progress"
        payload = run_object(run_id, thread_id, status, n)
        out.append(
            Exchange(run_path(thread_id, run_id), 200, response_headers(n), compact(payload), payload, n * 1000, 120)
        )
    return out


def distinct_exchanges(count: int) -> list[Exchange]:
    """``count`` GETs of distinct, completed runs: every request has its own URL."""
    out = []
    for n in range(count):
        thread_id, run_id = f"thread_bench{n:017d}", f"run_bench{n:018d}"
        payload = run_object(run_id, thread_id, "completed", n)
        out.append(
            Exchange(run_path(thread_id, run_id), 200, response_headers(n), compact(payload), payload, n * 1000, 120)
        )
    return out


def to_interaction(exchange: Exchange) -> Interaction:
    request = Request("GET", BASE_URL + exchange.path, Headers(REQUEST_HEADERS), Body.empty())
    response = Response(exchange.status_code, Headers(exchange.headers), Body.json(exchange.payload), reason="OK")
    return Interaction(request, response, at_ms=exchange.at_ms, duration_ms=exchange.duration_ms)


def runreplay_cassette(interactions: Sequence[Interaction]) -> Cassette:
    """A cassette as runreplay records it, timelines included (they are part of the file's size)."""
    meta = {
        "runreplay": "0.1.0",
        "provider": "openai",
        "client": {"name": "openai", "version": "3.54.0"},
        "recorded_at": RECORDED_AT,
    }
    timelines = [t.to_json() for t in build_timelines(interactions).values()]
    return Cassette(interactions=list(interactions), meta=meta, timelines=timelines)


# --------------------------------------------------------------------------- VCR.py files


def write_vcr(path: Path, interactions: Sequence[Interaction], serializer: str) -> Path:
    """The same interactions as a VCR.py cassette, serialised by VCR.py itself."""
    from vcr.request import Request as VcrRequest
    from vcr.serialize import serialize
    from vcr.serializers import jsonserializer, yamlserializer

    requests = []
    responses = []
    for interaction in interactions:
        req = interaction.request
        body = encode_body(req.body) or None
        requests.append(VcrRequest(req.method, req.url, body, dict(req.headers.items())))
        headers: dict[str, list[str]] = {}
        for name, value in interaction.response.headers.items():
            headers.setdefault(name, []).append(value)
        responses.append(
            {
                "status": {"code": interaction.response.status, "message": interaction.response.reason or "OK"},
                "headers": headers,
                "body": {"string": encode_body(interaction.response.body)},
            }
        )
    module = yamlserializer if serializer == "yaml" else jsonserializer
    path.write_text(serialize({"requests": requests, "responses": responses}, module), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- SSE


SSE_THREAD = "thread_bench_sse000000000000"
SSE_PATH = f"/threads/{SSE_THREAD}/runs"
#: What ``runs.create(thread_id, assistant_id=..., stream=True)`` sends.
SSE_BODY = {"assistant_id": "asst_bench000000000000000000", "stream": True}


def sse_events(count: int) -> list[SSEEvent]:
    """A streamed run: created, ``count - 3`` message deltas, completed, then the terminator."""
    thread_id, run_id = SSE_THREAD, "run_bench_sse0000000000000"
    events = [SSEEvent(event="thread.run.created", data=run_object(run_id, thread_id, "queued"), data_is_json=True)]
    for n in range(max(count - 3, 0)):
        delta = {
            "id": "msg_bench000000000000000000",
            "object": "thread.message.delta",
            "delta": {"content": [{"index": 0, "type": "text", "text": {"value": f" token{n % 97}"}}]},
        }
        events.append(SSEEvent(event="thread.message.delta", data=delta, data_is_json=True, at_ms=n // 50))
    done = run_object(run_id, thread_id, "completed")
    events.append(SSEEvent(event="thread.run.completed", data=done, data_is_json=True, at_ms=count // 50))
    events.append(SSEEvent(event="done", data="[DONE]", data_is_json=False, at_ms=count // 50))
    return events


def sse_interaction(count: int) -> Interaction:
    events = sse_events(count)
    request = Request(
        "POST",
        BASE_URL + SSE_PATH,
        Headers([*REQUEST_HEADERS, ("content-type", "application/json")]),
        Body.json(dict(SSE_BODY)),
    )
    headers = Headers([("content-type", "text/event-stream; charset=utf-8"), ("openai-version", "2020-10-01")])
    response = Response(200, headers, Body.sse(events, Framing()), reason="OK")
    return Interaction(request, response, at_ms=0, duration_ms=count // 50)


def sse_chunks(interaction: Interaction) -> list[bytes]:
    """The per-event chunks runreplay delivers for this stream (what the floor yields too)."""
    body = interaction.response.body
    return encode_events(body.events, body.framing or Framing())
