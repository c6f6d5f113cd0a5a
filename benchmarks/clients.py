"""The three clients every replay is driven through, each over a MockTransport.

One client object serves every variant of a case. Outside any cassette its MockTransport
answers (the floor: the same bytes, no replay engine); inside a runreplay session or a
VCR.py cassette the engine's patch of ``MockTransport.handle_request`` answers instead
(both patch that class, as they patch the real transports). So the floor and the engines
run exactly the same client code and differ only in who produces the response.
"""

from __future__ import annotations

import atexit
import functools
import json
import warnings
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

from benchmarks import data

# The SDK warns on every Assistants call; a warning per request would be measured too.
warnings.filterwarnings("ignore", category=DeprecationWarning)

CLIENTS = ("httpx", "httpx2", "openai")
#: Clients with no MockTransport to serve a floor: measured against VCR.py only.
UNFLOORED = ("requests", "aiohttp")


#: A reply the floor serves: status, headers, and the body as bytes or as a list of chunks.
Reply = tuple[int, list[tuple[str, str]], bytes | list[bytes]]


class Floor:
    """What the MockTransport serves: the queued replies, in order (the cheapest correct server)."""

    def __init__(self) -> None:
        self._replies: Iterator[Reply] = iter(())

    def queue(self, replies: list[Reply]) -> None:
        # Content-Length is added here, untimed, so the handler does nothing but hand the bytes over.
        ready = [
            (status, headers if isinstance(body, list) else [*headers, ("content-length", str(len(body)))], body)
            for status, headers, body in replies
        ]
        self._replies = iter(ready)

    def handler(self, hx: ModuleType) -> Callable[[Any], Any]:
        response_cls = hx.Response
        whole = hx.ByteStream
        chunked = chunk_stream_class(hx)

        def handle(request: Any) -> Any:
            request.read()  # a server reads the request body; so do the engines
            status, headers, body = next(self._replies)
            # The cheapest construction: a ready stream (``content=`` costs a few microseconds more).
            stream = chunked(body) if isinstance(body, list) else whole(body)
            return response_cls(status, headers=headers, stream=stream)

        return handle


class _ChunkStreamBase:
    """A response body delivered in the given chunks (an SSE stream, one event per chunk)."""

    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = chunks

    def __iter__(self) -> Iterator[bytes]:
        yield from self._chunks

    def close(self) -> None:
        pass


@functools.cache
def chunk_stream_class(hx: ModuleType) -> type[_ChunkStreamBase]:
    # httpx and httpx2 each check for their own SyncByteStream base class.
    return type("ChunkStream", (_ChunkStreamBase, hx.SyncByteStream), {})


class Driver:
    """A client and the one call a replayed GET of a run is made with."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.floor = Floor()
        self.client: Any = None
        self.get: Callable[[str], Any]
        #: Streams the recorded SSE run and returns how many lines (httpx) or events (SDK) it read.
        self.stream: Callable[[], int]
        if name in UNFLOORED:
            self._unfloored(name)
        elif name == "openai":
            import httpx2
            import openai

            http = httpx2.Client(transport=httpx2.MockTransport(self.floor.handler(httpx2)))
            self.client = openai.OpenAI(api_key="sk-bench", base_url=data.BASE_URL, http_client=http, max_retries=0)
            runs = self.client.beta.threads.runs

            def get(path: str) -> Any:
                _, _, thread_id, _, run_id = path.split("/")
                return runs.retrieve(run_id, thread_id=thread_id)

            def stream() -> int:
                events = runs.create(data.SSE_THREAD, assistant_id=data.SSE_BODY["assistant_id"], stream=True)
                return sum(1 for _ in events)

            self.get = get
            self.stream = stream
        else:
            hx = __import__(name)
            self.client = hx.Client(transport=hx.MockTransport(self.floor.handler(hx)), base_url=data.BASE_URL)
            client = self.client

            def get(path: str) -> Any:
                # base_url joining is part of what a client does for every request, for all variants.
                return client.get(path).content

            def stream() -> int:
                with client.stream("POST", data.SSE_PATH, json=data.SSE_BODY) as response:
                    return sum(1 for _ in response.iter_lines())

            self.get = get
            self.stream = stream

    def _unfloored(self, name: str) -> None:
        if name == "requests":
            import requests

            session = requests.Session()
            self.client = session

            def get(path: str) -> Any:
                return session.get(data.BASE_URL + path).content

            def stream() -> int:
                with session.post(data.BASE_URL + data.SSE_PATH, json=data.SSE_BODY, stream=True) as response:
                    return sum(1 for _ in response.iter_lines())

            self.get, self.stream = get, stream
            return
        import asyncio

        import aiohttp

        loop = asyncio.new_event_loop()
        http = loop.run_until_complete(_aiohttp_session(aiohttp))
        self.client = _AiohttpClient(loop, http)
        atexit.register(self.client.close)  # the cases keep their drivers to the end

        async def fetch(path: str) -> bytes:
            async with http.get(data.BASE_URL + path) as response:
                return await response.read()

        # Bytes, as azure-core sends them (runreplay 0.2's VCR.py bridge failed on aiohttp's ``json=``).
        body, headers = json.dumps(data.SSE_BODY).encode(), {"content-type": "application/json"}

        async def lines() -> int:
            async with http.post(data.BASE_URL + data.SSE_PATH, data=body, headers=headers) as response:
                return sum([1 async for _ in response.content])  # line by line, as iter_lines

        self.get = lambda path: loop.run_until_complete(fetch(path))
        self.stream = lambda: loop.run_until_complete(lines())

    def close(self) -> None:
        self.client.close()


async def _aiohttp_session(aiohttp: Any) -> Any:
    return aiohttp.ClientSession()


class _AiohttpClient:
    """An aiohttp session and the event loop every call of the driver runs on."""

    def __init__(self, loop: Any, session: Any) -> None:
        self.loop, self.session = loop, session

    def close(self) -> None:
        if not self.loop.is_closed():
            self.loop.run_until_complete(self.session.close())
            self.loop.close()
