"""Cassette format v1: bodies, round trips, precise load errors and atomic writes."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from runreplay.cassette import (
    Body,
    Cassette,
    Headers,
    Interaction,
    Request,
    Response,
    body_from_wire,
    encode_body,
    load,
    save,
)
from runreplay.errors import CassetteError
from runreplay.sse import SSEEvent


def _interaction(body: Body, at_ms: int = 0) -> Interaction:
    return Interaction(
        request=Request(
            "POST",
            "https://api.openai.com/v1/threads/t/runs",
            Headers([("content-type", "application/json")]),
            Body.json({"assistant_id": "a"}),
        ),
        response=Response(200, Headers([("content-type", "application/json")]), body, reason="OK"),
        at_ms=at_ms,
    )


def test_bodies_are_stored_as_what_they_are(tmp_path: Path) -> None:
    events = [
        SSEEvent(event="thread.run.created", data={"id": "run_1"}, data_is_json=True, at_ms=3),
        SSEEvent(event="done", data="[DONE]", at_ms=9),
    ]
    cassette = Cassette(
        interactions=[
            _interaction(Body.json({"id": "run_1", "status": "queued"})),
            _interaction(Body.text("plain words")),
            _interaction(Body.binary(b"\x00\xffPNG")),
            _interaction(Body.sse(events)),
            _interaction(Body.empty(), at_ms=12),
        ],
        meta={"provider": "openai"},
    )
    path = save(cassette, tmp_path / "c.json")
    doc = json.loads(path.read_text())
    assert doc["format"] == 1
    bodies = [i["response"]["body"] for i in doc["interactions"]]
    assert bodies[0] == {"json": {"id": "run_1", "status": "queued"}}
    assert bodies[1] == {"text": "plain words"}
    assert bodies[2] == {"base64": "AP9QTkc="}
    assert bodies[3]["sse"]["events"][0] == {"event": "thread.run.created", "data": {"id": "run_1"}, "at_ms": 3}
    # OpenAI's `data: [DONE]` is not JSON: it stays text, distinct from Coze's JSON string "[DONE]".
    assert bodies[3]["sse"]["events"][1] == {"event": "done", "data_text": "[DONE]", "at_ms": 9}
    assert bodies[4] is None
    assert doc["interactions"][4]["at_ms"] == 12

    again = load(path)
    assert again.to_json() == cassette.to_json()


def test_compressed_bodies_are_stored_decoded() -> None:
    payload = {"id": "run_1", "object": "thread.run"}
    headers = Headers([("content-type", "application/json"), ("content-encoding", "gzip")])
    body = body_from_wire(gzip.compress(json.dumps(payload).encode()), headers)
    assert body.kind == "json"
    assert body.value == payload
    assert body.decoded_from == "gzip"


def test_sse_body_from_wire_keeps_every_event() -> None:
    raw = b'event:conversation.chat.created\ndata:{"id":"1"}\n\nevent:done\ndata:"[DONE]"\n\n'
    body = body_from_wire(raw, Headers([("content-type", "text/event-stream")]))
    assert [e.event for e in body.events] == ["conversation.chat.created", "done"]
    assert body.events[1].data == "[DONE]" and body.events[1].data_is_json
    assert encode_body(body) == raw  # Coze framing (no space after the colon) is kept


@pytest.mark.parametrize(
    ("text", "location", "fragment"),
    [
        ('{"format": 1, "interactions": [', "line 1, column 32", "invalid JSON"),
        ('{"format": 7, "interactions": []}', "$.format", "unsupported cassette format 7"),
        ('{"format": 1, "interactions": {}}', "$.interactions", "must be an array"),
        (
            '{"format": 1, "interactions": [{"request": {"method": "GET", "url": "/x"}, '
            '"response": {"status": "200"}}]}',
            "$.interactions[0].response.status",
            "HTTP status code",
        ),
        (
            '{"format": 1, "interactions": [{"request": {"method": "GET", "url": "/x"}, '
            '"response": {"status": 200, "body": {"jsn": 1}}}]}',
            "$.interactions[0].response.body",
            "one of the keys",
        ),
        (
            '{"format": 1, "interactions": [{"request": {"method": "GET", "url": "/x", "headers": {"a": 1}}, '
            '"response": {"status": 200}}]}',
            "$.interactions[0].request.headers.a",
            "string or a list of strings",
        ),
    ],
)
def test_broken_cassette_names_file_and_location(tmp_path: Path, text: str, location: str, fragment: str) -> None:
    path = tmp_path / "broken.json"
    path.write_text(text)
    with pytest.raises(CassetteError) as info:
        load(path)
    message = str(info.value)
    assert str(path) in message
    assert location in message
    assert fragment in message


def test_missing_cassette_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CassetteError, match="not found"):
        load(tmp_path / "nope.json")


_WRITER = textwrap.dedent(
    """
    import sys
    from runreplay.cassette import Body, Cassette, Interaction, Request, Response, save
    path, n = sys.argv[1], 0
    big = "x" * 200_000
    while True:
        n += 1
        items = [Interaction(Request("GET", f"/v1/r/{i}"), Response(200, body=Body.json({"n": n, "pad": big})))
                 for i in range(20)]
        save(Cassette(interactions=items, meta={"generation": n}), path)
        print(n, flush=True)
    """
)


def test_killed_writer_never_leaves_a_half_written_cassette(tmp_path: Path) -> None:
    target = tmp_path / "cassette.json"
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(target)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        proc.stdout.readline()  # at least one complete cassette exists
        for _ in range(15):  # kill at varied moments inside later writes
            time.sleep(0.013)
            doc = json.loads(target.read_text())
            assert len(doc["interactions"]) == 20
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    cassette = load(target)  # whatever moment the kill hit, the file is whole
    assert len(cassette) == 20
    assert cassette.meta["generation"] >= 1


def test_saved_cassette_gets_normal_file_permissions(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    try:
        path = save(Cassette(meta={}), tmp_path / "new.json")
        assert path.stat().st_mode & 0o777 == 0o644
        path.chmod(0o640)
        save(Cassette(meta={"again": True}), path)  # a rewrite keeps the file's mode
        assert path.stat().st_mode & 0o777 == 0o640
    finally:
        os.umask(umask)
