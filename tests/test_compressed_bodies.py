"""Compressed bodies are stored decoded, requests and responses, whatever the client: so they are
scrubbed, validated and matched on their content (a gzip header carries a timestamp)."""

from __future__ import annotations

import asyncio
import gzip
import json
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import aiohttp
import brotli  # type: ignore[import-untyped]
import httpx
import httpx2
import pytest
import requests
import zstandard
from _servers import Handler, serve

from runreplay import BodyKind, load, use_cassette

SECRET = "sk-proj-" + "Q7v" * 12
PAYLOAD = {"model": "gpt-4o-mini", "note": f"key {SECRET}"}


def _compress(encoding: str, data: bytes, mtime: int = 0) -> bytes:
    if encoding == "gzip":
        return gzip.compress(data, mtime=mtime)
    if encoding == "deflate":
        return zlib.compress(data)
    if encoding == "br":
        return bytes(brotli.compress(data))
    return zstandard.ZstdCompressor().compress(data)


class _Compressing(Handler):
    """Answers every POST with JSON compressed as the request was (echoing how many bytes it was sent)."""

    def do_POST(self) -> None:
        sent = self.rfile.read(int(self.headers.get("content-length") or 0))
        encoding = self.headers.get("content-encoding") or "gzip"
        body = _compress(encoding, json.dumps({"received": len(sent), "echo": f"token {SECRET}"}).encode())
        self.reply("application/json", body, ("content-encoding", encoding))


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serve(_Compressing) as url:
        yield url


def _send_httpx(url: str, body: bytes, encoding: str) -> dict[str, object]:
    headers = {"content-type": "application/json", "content-encoding": encoding}
    return dict(httpx.post(url + "/v1/things", content=body, headers=headers).json())


def _send_httpx2(url: str, body: bytes, encoding: str) -> dict[str, object]:
    headers = {"content-type": "application/json", "content-encoding": encoding}
    return dict(httpx2.post(url + "/v1/things", content=body, headers=headers).json())


def _send_requests(url: str, body: bytes, encoding: str) -> dict[str, object]:
    headers = {"content-type": "application/json", "content-encoding": encoding}
    return dict(requests.post(url + "/v1/things", data=body, headers=headers, timeout=5).json())


def _send_aiohttp(url: str, body: bytes, encoding: str) -> dict[str, object]:
    headers = {"content-type": "application/json", "content-encoding": encoding}

    async def send() -> dict[str, object]:
        async with (
            aiohttp.ClientSession() as session,
            session.post(f"{url}/v1/things", data=body, headers=headers) as r,
        ):
            return dict(await r.json())

    return asyncio.run(send())


CLIENTS: dict[str, Callable[[str, bytes, str], dict[str, object]]] = {
    "httpx": _send_httpx,
    "httpx2": _send_httpx2,
    "requests": _send_requests,
    "aiohttp": _send_aiohttp,
}


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br", "zstd"])
@pytest.mark.parametrize("client", list(CLIENTS))
def test_compressed_bodies_are_stored_decoded_and_match_on_content(
    server: str, tmp_path: Path, client: str, encoding: str
) -> None:
    send, path = CLIENTS[client], tmp_path / "compressed.json"
    data = json.dumps(PAYLOAD).encode()
    with use_cassette(path, record_mode="once"):
        recorded = send(server, _compress(encoding, data, mtime=1), encoding)
    (interaction,) = load(path).interactions
    request, response = interaction.request, interaction.response
    assert request.body.kind is BodyKind.JSON and request.body.decoded_from == encoding
    assert request.body.value["model"] == "gpt-4o-mini" and "content-encoding" not in request.headers
    assert response.body.kind is BodyKind.JSON, "the response is stored decoded, also when the client decoded it"
    assert "content-encoding" not in response.headers
    text = path.read_text()
    assert SECRET not in text, "a secret inside a compressed body was scrubbed"
    # The same content compressed at another moment (another gzip timestamp) replays.
    with use_cassette(path):
        replayed = send("http://127.0.0.1:9", _compress(encoding, data, mtime=999), encoding)
    assert replayed["received"] == recorded["received"]
    assert replayed["echo"] == "token scrubbed-openai_key-" + str(replayed["echo"]).rsplit("-", 1)[1]
