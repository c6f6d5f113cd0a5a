"""requests and aiohttp record and replay as httpx does: streams pass through live with each
event's time, replay event by event with the stream options, plain exchanges round-trip.

A real HTTP/1.1 server on 127.0.0.1 sends a chunked event stream whose last event waits on a
gate the test opens only after its client has read the first event: a client that buffered
the stream would never see that first event in time.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import requests
from _paths import TRAFFIC
from _servers import Handler, serve

from runreplay import StreamOptions, use_cassette
from runreplay.cassette import load, save
from runreplay.importers import import_file

OFFLINE = "http://127.0.0.1:9"
EVENTS = [f'event: thread.run.step{n}\ndata: {{"n":{n}}}\n\n'.encode() for n in range(4)]
STREAM = b"".join(EVENTS)
GATE = threading.Event()
#: Whether the gate was open when the server sent the last event (set by the server).
OPENED_IN_TIME: list[bool] = []


class _Vendor(Handler):
    protocol_version = "HTTP/1.1"  # keep-alive, and chunked streams

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if path == "/v1/stream":
            return self._stream()
        if path == "/v1/redirect":
            self.send_response(302)
            self.send_header("location", "/v1/json?from=redirect")
            self.send_header("content-length", "0")
            self.end_headers()
            return None
        if path == "/v1/missing":
            return self._json({"error": {"message": "No such thing", "type": "invalid_request_error"}}, 404)
        if path == "/v1/gzip":
            body = gzip.compress(json.dumps({"id": "run_1", "status": "queued"}).encode())
            return self.reply("application/json", body, ("content-encoding", "gzip"))
        # The client's port says whether a session kept its connection alive.
        return self._json({"path": self.path, "port": self.client_address[1]})

    def do_POST(self) -> None:
        sent = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)))
        self._json({"echo": sent})

    def _json(self, value: object, status: int = 200) -> None:
        body = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _stream(self) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        for number, event in enumerate(EVENTS):
            if number == len(EVENTS) - 1:
                OPENED_IN_TIME.append(GATE.wait(5))
            self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
            self.wfile.flush()
            time.sleep(0.03)
        self.wfile.write(b"0\r\n\r\n")


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serve(_Vendor) as url:
        yield url


# ---------------------------------------------------------------------------- the two clients


def _requests_stream(url: str, on_chunk: Callable[[], None] = lambda: None, timeout: float = 30) -> list[bytes]:
    chunks = []
    with requests.get(url, stream=True, timeout=timeout) as response:
        for chunk in response.iter_content(None):  # as it comes, one chunk per read
            chunks.append(chunk)
            on_chunk()
    return chunks


def _aiohttp_stream(url: str, on_chunk: Callable[[], None] = lambda: None, timeout: float = 30) -> list[bytes]:
    async def read() -> list[bytes]:
        chunks = []
        client_timeout = aiohttp.ClientTimeout(sock_read=timeout)
        async with aiohttp.ClientSession(timeout=client_timeout) as session, session.get(url) as response:
            async for chunk in response.content.iter_any():
                chunks.append(chunk)
                on_chunk()
        return chunks

    return asyncio.run(read())


def _requests_calls(base: str, calls: list[tuple[str, str, Any]]) -> list[tuple[int, Any]]:
    with requests.Session() as http:
        return [_requests_answer(http.request(method, base + p, json=body, timeout=5)) for method, p, body in calls]


def _requests_answer(response: requests.Response) -> tuple[int, Any]:
    return response.status_code, response.json()


def _aiohttp_calls(base: str, calls: list[tuple[str, str, Any]]) -> list[tuple[int, Any]]:
    async def run() -> list[tuple[int, Any]]:
        answers = []
        async with aiohttp.ClientSession() as session:
            for method, path, body in calls:
                async with session.request(method, base + path, json=body) as response:
                    answers.append((response.status, await response.json()))
        return answers

    return asyncio.run(run())


STREAMERS = {"requests": _requests_stream, "aiohttp": _aiohttp_stream}
CALLERS = {"requests": _requests_calls, "aiohttp": _aiohttp_calls}


# ---------------------------------------------------------------------------- streams


@pytest.mark.parametrize("client", list(STREAMERS))
def test_a_stream_passes_through_live_and_keeps_each_event_time(server: str, tmp_path: Path, client: str) -> None:
    GATE.clear()
    OPENED_IN_TIME.clear()
    path = tmp_path / "stream.json"
    with use_cassette(path, record_mode="once"):
        chunks = STREAMERS[client](server + "/v1/stream", GATE.set)
    assert OPENED_IN_TIME == [True], "the first event reached the client before the server sent the last"
    assert b"".join(chunks) == STREAM
    (interaction,) = load(path).interactions
    events = interaction.response.body.events
    assert [e.event for e in events] == [f"thread.run.step{n}" for n in range(4)]
    times = [e.at_ms for e in events]
    assert times == sorted(times) and times[-1] - times[0] >= 60, "each event keeps the time it arrived"

    with use_cassette(path):
        replayed = STREAMERS[client](OFFLINE + "/v1/stream")
    assert replayed == EVENTS, "replay serves one chunk per event"


@pytest.fixture(scope="module")
def recorded_stream(server: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    GATE.set()
    path = tmp_path_factory.mktemp("streams") / "stream.json"
    with use_cassette(path, record_mode="once"):
        _requests_stream(server + "/v1/stream")
    return path


def _replayed(path: Path, client: str, options: StreamOptions, timeout: float = 30) -> tuple[list[bytes], float]:
    with use_cassette(path, streams=options) as session:
        chunks = STREAMERS[client](OFFLINE + "/v1/stream", timeout=timeout)
    assert session.clock is not None
    return chunks, session.clock.slept_s


@pytest.mark.parametrize("client", list(STREAMERS))
@pytest.mark.parametrize("chunking", ["bytes:1", "split", "bytes:7"])
def test_rechunked_replay_delivers_the_same_bytes(recorded_stream: Path, client: str, chunking: str) -> None:
    chunks, _ = _replayed(recorded_stream, client, StreamOptions(chunking=chunking))
    assert b"".join(chunks) == STREAM
    assert len(chunks) > len(EVENTS)
    if chunking == "bytes:7":
        assert all(len(c) <= 7 for c in chunks)


@pytest.mark.parametrize("client", list(STREAMERS))
def test_recorded_pacing_costs_virtual_time_only(recorded_stream: Path, client: str) -> None:
    started = time.perf_counter()
    chunks, slept = _replayed(recorded_stream, client, StreamOptions(pacing="recorded"))
    assert chunks == EVENTS
    events = load(recorded_stream).interactions[0].response.body.events
    assert slept >= (events[-1].at_ms - events[0].at_ms) / 1000 * 0.9, "the recorded gaps, slept virtually"
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize("client", list(STREAMERS))
def test_an_injected_error_event_is_delivered_in_place(recorded_stream: Path, client: str) -> None:
    chunks, _ = _replayed(recorded_stream, client, StreamOptions(error_at=2))
    assert len(chunks) == len(EVENTS) + 1
    assert chunks[2].startswith(b"event: error\n") and b"injected stream error" in chunks[2]
    assert [c for i, c in enumerate(chunks) if i != 2] == EVENTS


CUT_ERRORS: dict[str, type[BaseException]] = {
    "requests": requests.exceptions.ChunkedEncodingError,  # what requests raises for a broken chunked body
    "aiohttp": aiohttp.ClientPayloadError,
}


@pytest.mark.parametrize("client", list(STREAMERS))
def test_a_cut_stream_raises_the_clients_own_error(recorded_stream: Path, client: str) -> None:
    seen: list[bytes] = []
    with (
        use_cassette(recorded_stream, streams=StreamOptions(cut_after=2), unused="ignore"),
        pytest.raises(CUT_ERRORS[client], match="stream cut after event 2"),
    ):
        STREAMERS[client](OFFLINE + "/v1/stream", lambda: seen.append(b"1"))
    assert len(seen) == 2, "the events before the cut were delivered"


STALL_ERRORS: dict[str, type[BaseException]] = {
    "requests": requests.exceptions.ConnectionError,  # requests' wrapping of urllib3's ReadTimeoutError
    "aiohttp": asyncio.TimeoutError,  # aiohttp's socket read timeout is one
}


@pytest.mark.parametrize("client", list(STREAMERS))
def test_a_stall_past_the_read_timeout_times_out_in_virtual_time(recorded_stream: Path, client: str) -> None:
    started = time.perf_counter()
    options = StreamOptions(stall_before=(1, 600.0))
    with (
        use_cassette(recorded_stream, streams=options, unused="ignore") as session,
        pytest.raises(STALL_ERRORS[client], match="stalled 600s before event 1"),
    ):
        STREAMERS[client](OFFLINE + "/v1/stream", timeout=30)
    assert time.perf_counter() - started < 1.0
    assert session.clock is not None and session.clock.slept_s >= 30


# ---------------------------------------------------------------------------- plain exchanges

CALLS: list[tuple[str, str, Any]] = [
    ("GET", "/v1/json?n=1", None),
    ("POST", "/v1/echo", {"model": "gpt-4o-mini", "n": [1, 2]}),
    ("GET", "/v1/missing", None),
    ("GET", "/v1/redirect", None),
    ("GET", "/v1/gzip", None),
    ("GET", "/v1/json?n=2", None),
]


@pytest.mark.parametrize("client", list(CALLERS))
def test_json_errors_redirects_and_compressed_bodies_round_trip(server: str, tmp_path: Path, client: str) -> None:
    path = tmp_path / "calls.json"
    with use_cassette(path, record_mode="once"):
        recorded = CALLERS[client](server, CALLS)
    statuses = [status for status, _ in recorded]
    assert statuses == [200, 200, 404, 200, 200, 200]
    assert recorded[3][1]["path"] == "/v1/json?from=redirect"
    assert recorded[0][1]["port"] == recorded[-1][1]["port"], "one kept-alive connection for the session"
    stored = load(path)
    assert [i.response.status for i in stored] == [200, 200, 404, 302, 200, 200, 200], "each redirect hop"
    assert stored.interactions[5].response.body.decoded_from == "gzip"
    with use_cassette(path):
        replayed = CALLERS[client](OFFLINE, CALLS)
    assert replayed == recorded


@pytest.mark.parametrize("client", list(CALLERS))
def test_concurrent_requests_record_and_replay(server: str, tmp_path: Path, client: str) -> None:
    paths = [f"/v1/json?n={n}" for n in range(6)]

    def run(base: str) -> list[Any]:
        if client == "requests":
            with ThreadPoolExecutor(3) as pool:
                return list(pool.map(lambda p: requests.get(base + p, timeout=5).json()["path"], paths))

        async def all_at_once() -> list[Any]:
            async with aiohttp.ClientSession() as session:

                async def one(p: str) -> Any:
                    async with session.get(base + p) as response:
                        return (await response.json())["path"]

                return list(await asyncio.gather(*(one(p) for p in paths)))

        return asyncio.run(all_at_once())

    path = tmp_path / "concurrent.json"
    with use_cassette(path, record_mode="once"):
        assert run(server) == paths
    assert sorted(i.request.url.split("?")[1] for i in load(path)) == [f"n={n}" for n in range(6)]
    with use_cassette(path):
        assert run(OFFLINE) == paths


# ---------------------------------------------------------------------------- polling


def test_a_requests_polling_loop_with_time_sleep_replays_in_virtual_time(tmp_path: Path) -> None:
    # openai-dotnet recorded this run against api.openai.com: 40 polls over 60 s.
    path = save(
        import_file(TRAFFIC / "openai-assistants" / "openai-dotnet__BasicRunStepFunctionalityWorks.json"),
        tmp_path / "c.json",
    )
    run = next(
        i.response.body.value
        for i in load(path)
        if isinstance(i.response.body.value, dict) and i.response.body.value.get("object") == "thread.run"
    )
    url = f"{OFFLINE}/v1/threads/{run['thread_id']}/runs/{run['id']}"
    started = time.perf_counter()
    with use_cassette(path, unused="ignore") as session, requests.Session() as http:
        polls = 0
        status = "queued"
        while status in ("queued", "in_progress"):
            time.sleep(1.0)  # as azure-ai-agents' create_and_process does between polls
            status = http.get(url, timeout=5).json()["status"]
            polls += 1
    wall = time.perf_counter() - started
    assert status == "completed"
    assert session.virtual_seconds >= 30 and polls >= 30
    assert wall < 1.0, f"{session.virtual_seconds:.0f} s of polling took {wall:.2f} s of wall time"


@pytest.mark.parametrize("client", list(STREAMERS))
def test_an_abandoned_stream_is_recorded_as_far_as_it_was_read(server: str, tmp_path: Path, client: str) -> None:
    GATE.set()
    path = tmp_path / "abandoned.json"

    class Enough(Exception):
        pass

    def stop() -> None:
        raise Enough

    with use_cassette(path, record_mode="once"), pytest.raises(Enough):
        STREAMERS[client](server + "/v1/stream", stop)
    (interaction,) = load(path).interactions
    names = [e.event for e in interaction.response.body.events]
    assert names[0] == "thread.run.step0" and "thread.run.step3" not in names


# ---------------------------------------------------------------------------- azure-core's transports


def _azure_sync(base: str) -> tuple[list[bytes], Any]:
    from azure.core import PipelineClient
    from azure.core.pipeline.transport import RequestsTransport
    from azure.core.rest import HttpRequest

    client = PipelineClient(base, transport=RequestsTransport())
    stream = client.send_request(HttpRequest("GET", base + "/v1/stream"), stream=True)
    chunks = []
    for chunk in stream.iter_bytes():
        chunks.append(chunk)
        GATE.set()
    answer = client.send_request(HttpRequest("GET", base + "/v1/gzip"))
    return chunks, answer.json()


def _azure_async(base: str) -> tuple[list[bytes], Any]:
    from azure.core import AsyncPipelineClient
    from azure.core.pipeline.transport import AioHttpTransport
    from azure.core.rest import HttpRequest

    async def run() -> tuple[list[bytes], Any]:
        async with AsyncPipelineClient(base, transport=AioHttpTransport()) as client:
            stream = await client.send_request(HttpRequest("GET", base + "/v1/stream"), stream=True)
            chunks = []
            async for chunk in stream.iter_bytes():
                chunks.append(chunk)
                GATE.set()
            answer = await client.send_request(HttpRequest("GET", base + "/v1/gzip"))
            await answer.read()
            return chunks, answer.json()

    return asyncio.run(run())


@pytest.mark.parametrize("flow", [_azure_sync, _azure_async], ids=["RequestsTransport", "AioHttpTransport"])
def test_azure_core_transports_stream_live_and_replay_event_by_event(
    server: str, tmp_path: Path, flow: Callable[[str], tuple[list[bytes], Any]]
) -> None:
    GATE.clear()
    OPENED_IN_TIME.clear()
    path = tmp_path / "azure.json"
    with use_cassette(path, record_mode="once"):
        recorded = flow(server)
    assert OPENED_IN_TIME == [True]
    assert recorded == (EVENTS, {"id": "run_1", "status": "queued"})
    with use_cassette(path):
        assert flow(OFFLINE) == recorded
