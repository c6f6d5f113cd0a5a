"""Bodies as they come off the wire: gzip, binary, text and SSE, recorded from a real server."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import aiohttp
import httpx
import httpx2
import pytest
import requests
from _servers import Handler, serve

from runreplay import use_cassette
from runreplay.cassette import load
from runreplay.errors import UnmatchedRequestError

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe"
STREAM = b'event: thread.run.created\ndata: {"id":"run_1"}\n\nevent: done\ndata: [DONE]\n\n'


class _Handler(Handler):
    extra: ClassVar[dict[str, tuple[str, bytes, str | None]]] = {}

    def do_GET(self) -> None:
        routes = {
            **self.extra,
            "/gzip": (
                "application/json",
                gzip.compress(json.dumps({"id": "run_1", "status": "queued"}).encode()),
                "gzip",
            ),
            "/binary": ("image/png", PNG, None),
            "/text": ("text/plain; charset=utf-8", "héllo".encode(), None),
            "/stream": ("text/event-stream", STREAM, None),
        }
        ctype, body, encoding = routes[self.path]
        self.reply(ctype, body, *([("content-encoding", encoding)] if encoding else []))


@pytest.fixture
def server() -> Iterator[str]:
    with serve(_Handler) as url:
        yield url


def _httpx_like(module: Any) -> Callable[[str, list[str]], list[bytes]]:
    def fetch(base: str, paths: list[str]) -> list[bytes]:
        with module.Client() as client:
            return [client.get(base + p).content for p in paths]

    return fetch


def _requests(base: str, paths: list[str]) -> list[bytes]:
    with requests.Session() as session:
        return [session.get(base + p, timeout=5).content for p in paths]


def _aiohttp(base: str, paths: list[str]) -> list[bytes]:
    async def fetch() -> list[bytes]:
        async with aiohttp.ClientSession() as session:
            bodies = []
            for p in paths:
                async with session.get(base + p) as response:
                    bodies.append(await response.read())
            return bodies

    return asyncio.run(fetch())


FETCHERS = {"httpx": _httpx_like(httpx), "httpx2": _httpx_like(httpx2), "requests": _requests, "aiohttp": _aiohttp}


@pytest.mark.parametrize("client", list(FETCHERS))
def test_wire_bodies_are_stored_decoded_and_replay_identically(tmp_path: Path, server: str, client: str) -> None:
    cassette = tmp_path / "bodies.json"
    paths = ["/gzip", "/binary", "/text", "/stream"]

    def fetch(base: str) -> list[bytes]:
        return FETCHERS[client](base, paths)

    with use_cassette(cassette, record_mode="once"):
        live = fetch(server)
    stored = load(cassette)
    times = [i.at_ms for i in stored]
    assert times[0] == 0 and times == sorted(times)
    # events carry the time each one arrived, from the request's time on
    assert all(e.at_ms >= times[3] for e in stored.interactions[3].response.body.events)
    kinds = [i.response.body.kind for i in stored]
    assert kinds == ["json", "binary", "text", "sse"]
    gz = stored.interactions[0].response
    assert gz.body.decoded_from == "gzip"
    assert "content-encoding" not in gz.headers
    assert gz.body.value == {"id": "run_1", "status": "queued"}

    with use_cassette(cassette):
        replayed = fetch("http://127.0.0.1:9")
    # JSON is stored parsed and sent back compact; everything else byte for byte
    assert json.loads(replayed[0]) == json.loads(live[0]) == {"id": "run_1", "status": "queued"}
    assert replayed[1:] == live[1:]
    assert replayed[3] == STREAM


def test_unmatched_error_passes_through_code_that_wraps_every_exception(tmp_path: Path, server: str) -> None:
    """openai 2.x turns any transport ``Exception`` into a retried "Connection error"."""
    cassette = tmp_path / "one.json"
    with use_cassette(cassette, record_mode="once"):
        httpx.get(server + "/text")

    attempts = []

    def sdk_like_call() -> None:
        for _attempt in range(3):
            attempts.append(1)
            try:
                httpx.get(server + "/binary")
                return
            except Exception as exc:  # what an SDK's retry loop does
                last = exc
        raise ConnectionError("Connection error.") from last

    with use_cassette(cassette), pytest.raises(UnmatchedRequestError, match="GET /binary"):
        sdk_like_call()
    assert len(attempts) == 1, "the error must not be retried"


ODD_STREAM = (
    b": keep-alive\r\n\r\n"
    b'id: 7\r\nretry: 1500\r\nevent: thread.message.delta\r\ndata: {"a":\r\ndata:  1}\r\n\r\n'
    b"event:done\r\ndata:[DONE]\r\n\r\n"
    b"event: late\r\ndata: after the terminator"  # no final blank line
)


@pytest.mark.parametrize("exact", [True, False], ids=["exact", "framing"])
def test_odd_stream_round_trip(tmp_path: Path, server: str, exact: bool) -> None:
    _Handler.extra = {"/odd": ("text/event-stream", ODD_STREAM, None)}
    cassette = tmp_path / "odd.json"
    with use_cassette(cassette, record_mode="once", sse_exact=exact), httpx.Client() as client:
        live = client.get(server + "/odd").content
    assert live == ODD_STREAM
    (stored,) = load(cassette)
    events = stored.response.body.events
    assert [e.event for e in events] == [None, "thread.message.delta", "done", "late"], "nothing dropped"
    assert events[-1].data == "after the terminator"
    with use_cassette(cassette), httpx.Client() as client:
        replayed = client.get("http://127.0.0.1:9/odd").content
    if exact:
        assert replayed == ODD_STREAM, "byte for byte"
    else:
        assert replayed != ODD_STREAM
        assert [e.event for e in load(cassette).interactions[0].response.body.events] == [e.event for e in events]
