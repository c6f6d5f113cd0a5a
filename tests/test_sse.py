"""The SSE codec: incremental decoding, exact framing, robust parsing, cassette checks, rechunking.

Expected values are written out by hand or read from the source recordings with plain
``json``/``yaml``, never computed by the codec under test.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from _paths import TRAFFIC

from runreplay.cassette import Body, decode_body, encode_body
from runreplay.cassette.codec import body_from_json, event_from_json
from runreplay.engine.interception.faults import rechunk
from runreplay.errors import CassetteError, ConfigError
from runreplay.importers import import_file
from runreplay.sse import (
    Framing,
    SSEDecoder,
    SSEEvent,
    _serialize_fields,
    encode_events,
    parse_stream,
    serialize_event,
    serialize_stream,
)

OPENAI = (
    b'event: thread.run.created\ndata: {"id":"run_1","object":"thread.run","status":"queued"}\n\n'
    b"event: thread.message.delta\n"
    b'data: {"id":"msg_1","delta":{"content":[{"text":{"value":"caf\xc3\xa9 \xe4\xbd\xa0"}}]}}\n\n'
    b'event: thread.run.completed\ndata: {"id":"run_1","status":"completed","usage":null}\n\n'
    b"event: done\ndata: [DONE]\n\n"
)
COZE = (
    b'event:conversation.chat.created\ndata:{"id":"7382","status":"created","usage":{"token_count":0}}\n\n'
    b'event:conversation.message.delta\ndata:{"id":"m1","content":"\xe4\xbd\xa0\xe5\xa5\xbd","content_type":"text"}\n\n'
    b'event:conversation.chat.completed\ndata:{"id":"7382","status":"completed"}\n\n'
    b'event:done\ndata:"[DONE]"\n\n'
)

# Every parsing case of the SSE issue, as bytes a server or a doc could produce.
CASES: dict[str, bytes] = {
    "openai": OPENAI,
    "coze": COZE,
    "crlf": b'event: a\r\ndata: 1\r\n\r\nevent: b\r\ndata: {"x":2}\r\n\r\n',
    "cr_only": b"event: a\rdata: 1\r\revent: b\rdata: 2\r\r",
    "mixed_line_endings": b"event: a\r\ndata: 1\n\revent: b\rdata: 2\r\n\r\n",
    "no_space_after_colon": b'event:a\ndata:{"k":1}\nid:9\n\n',
    "mixed_spacing": b"event: a\ndata:1\n\nevent:b\ndata: 2\n\n",
    "missing_final_blank_line": b"event: a\ndata: 1\n\nevent: b\ndata: 2\n",
    "missing_final_line_end": b"event: a\ndata: 1\n\nevent: b\ndata: 2",
    "keep_alive_comments": b": ping\n\nevent: a\n: inline\ndata: 1\n\n:\n\n:no-space\n\n",
    "events_after_done": b'event: done\ndata: [DONE]\n\nevent: late\ndata: {}\n\nevent:done\ndata:"[DONE]"\n\n',
    "truncated_mid_line": b'event: a\ndata: {"x": 1}\n\nevent: b\ndata: {"y"',
    "truncated_mid_event": b"event: a\ndata: 1\n\nevent: b\n",
    "non_utf8": b"event: a\ndata: caf\xe9\n\nevent: \xff\xfe\ndata: x\n\n",
    "retry": b"retry: 3000\ndata: x\n\nretry: 10s\ndata: y\n\nretry: \xc2\xb2\ndata: z\n\n",
    "id_with_nul": b"id: ok\nid: a\x00b\ndata: x\n\nid: c\x00\ndata: y\n\n",
    "line_without_colon": b"event\ndata\n\ndata\ndata\n\n",
    "leading_spaces": b"data:   three spaces\ndata:  two\n\n",
    "multi_line_data": b'data: {\ndata:   "a": 1\ndata: }\n\ndata: line1\ndata: line2\ndata:\n\n',
    "any_order_unknown_fields": b"data: x\nfoo: bar\nid: 7\nevent: y\nretry: 5\nx-custom\n\n",
    "bom": b"\xef\xbb\xbfevent: a\ndata: 1\n\n",
    "extra_blank_lines": b"\n\r\nevent: a\ndata: 1\n\n\n\nevent: b\ndata: 2\n\n\n\n",
    "utf8_multibyte": 'event: 你好\ndata: {"t":"héllo 你好 🎉"}\n\n'.encode(),
}


def decode_chunks(chunks: list[bytes], *, exact: bool = False) -> tuple[list[SSEEvent], Framing]:
    decoder = SSEDecoder(exact=exact)
    events: list[SSEEvent] = []
    for chunk in chunks:
        events += decoder.feed(chunk)
    events += decoder.close()
    return events, decoder.framing


def via_cassette_json(events: list[SSEEvent]) -> list[SSEEvent]:
    """Through the JSON a cassette stores, and back."""
    stored = json.loads(json.dumps([e.to_json() for e in events], ensure_ascii=False))
    return [event_from_json(obj, f"$.sse.events[{i}]") for i, obj in enumerate(stored)]


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("name", sorted(CASES))
def test_exact_round_trip_byte_for_byte(name: str) -> None:
    raw = CASES[name]
    events, framing = parse_stream(raw, exact=True)
    assert events, "every case holds at least one event"
    assert serialize_stream(events, framing) == raw
    assert b"".join(encode_events(events, framing)) == raw
    # The cassette keeps the exact bytes too, also when they are not UTF-8.
    assert serialize_stream(via_cassette_json(events), framing) == raw
    # And a decoder fed one byte at a time finds the same events and framing.
    assert decode_chunks(rechunk([raw], "bytes:1"), exact=True) == (events, framing)


def test_non_exact_round_trip_openai() -> None:
    events, framing = parse_stream(OPENAI)
    assert framing == Framing(space_after_colon=True, line_ending="\n")
    assert [e.event for e in events] == ["thread.run.created", "thread.message.delta", "thread.run.completed", "done"]
    assert events[0].data == {"id": "run_1", "object": "thread.run", "status": "queued"} and events[0].data_is_json
    assert events[1].data["delta"]["content"][0]["text"]["value"] == "café 你"
    assert (events[-1].data, events[-1].data_is_json) == ("[DONE]", False)  # [DONE] is not JSON: kept as text
    assert all(e.raw is None for e in events)
    assert serialize_stream(events, framing) == OPENAI
    assert serialize_stream(via_cassette_json(events), framing) == OPENAI
    assert events[-1].to_json() == {"event": "done", "data_text": "[DONE]", "at_ms": 0}


def test_non_exact_round_trip_coze() -> None:
    events, framing = parse_stream(COZE)
    assert framing == Framing(space_after_colon=False, line_ending="\n")
    assert events[1].data == {"id": "m1", "content": "你好", "content_type": "text"}
    assert (events[-1].event, events[-1].data, events[-1].data_is_json) == ("done", "[DONE]", True)  # a JSON string
    assert serialize_stream(events, framing) == COZE
    assert serialize_stream(via_cassette_json(events), framing) == COZE
    assert events[-1].to_json() == {"event": "done", "data": "[DONE]", "at_ms": 0}


def test_non_exact_framing_written_from_fields() -> None:
    openai, coze = Framing(), Framing(space_after_colon=False, line_ending="\n")
    event = SSEEvent(event="x", data={"a": "é", "b": [1, 2]}, data_is_json=True)
    assert serialize_event(event, openai) == 'event: x\ndata: {"a":"é","b":[1,2]}\n\n'.encode()
    assert serialize_event(event, coze) == 'event:x\ndata:{"a":"é","b":[1,2]}\n\n'.encode()
    crlf = Framing(space_after_colon=True, line_ending="\r\n")
    full = SSEEvent(event="e", data="l1\nl2", id="7", retry=10, comments=["ping"])
    assert serialize_event(full, crlf) == b": ping\r\nevent: e\r\nid: 7\r\nretry: 10\r\ndata: l1\r\ndata: l2\r\n\r\n"


@pytest.mark.parametrize(
    "framing",
    [Framing(), Framing(space_after_colon=False), Framing(line_ending="\r\n"), Framing(False, "\r")],
    ids=["openai", "coze", "crlf", "cr-no-space"],
)
def test_json_events_written_per_name_read_back_as_stored(framing: Framing) -> None:
    # The per-name prefix path must write what the field-by-field writer writes, and read back.
    names: list[str | None] = [None, "", "x", " spaced", "thread.message.delta", "two\nlines", "cr\rname"]
    events = [SSEEvent(event=name, data={"n": n, "t": "a\nb\r"}, data_is_json=True) for n, name in enumerate(names)]
    events.insert(3, SSEEvent(event="x", data="plain", id="1"))  # general path between fast ones
    chunks = encode_events(events, framing)
    for event, chunk in zip(events, chunks, strict=True):
        assert chunk == _serialize_fields(event, framing)
        assert chunk.count(framing.line_ending.encode() * 2) == 1 and chunk.endswith(framing.line_ending.encode() * 2)
    readable = [e for e in events if "\n" not in (e.event or "") and "\r" not in (e.event or "")]
    assert parse_stream(serialize_stream(readable, framing))[0] == readable


def test_non_exact_keeps_leading_spaces_and_empty_values() -> None:
    coze = Framing(space_after_colon=False)
    # The reader eats one space after the colon, so a value starting with one needs another.
    events = [SSEEvent(data=" indented"), SSEEvent(data=""), SSEEvent(data="x", comments=[" spaced", ""])]
    for framing in (coze, Framing()):
        written = serialize_stream(events, framing)
        assert parse_stream(written)[0] == events
    assert serialize_event(SSEEvent(data=""), Framing()) == b"data:\n\n"


def test_exact_event_json_keys() -> None:
    (event,), _ = parse_stream(b"event: a\ndata: 1\n\n", exact=True)
    assert event.to_json() == {"event": "a", "data": 1, "at_ms": 0, "raw": "event: a\ndata: 1\n\n"}
    (binary,), _ = parse_stream(b"data: \xff\n\n", exact=True)
    stored = binary.to_json()
    assert "raw" not in stored and base64.b64decode(stored["raw_b64"]) == b"data: \xff\n\n"
    assert binary.raw_bytes == b"data: \xff\n\n"
    assert "raw" not in parse_stream(b"data: 1\n\n")[0][0].to_json()


def test_edited_event_is_not_written_from_stale_raw() -> None:
    raw = b'event: a\ndata: {"secret":"sk-123"}\n\n'
    (event,), framing = parse_stream(raw, exact=True)
    assert serialize_event(event, framing) == raw
    event.data = {"secret": "<scrubbed>"}
    assert serialize_event(event, framing) == b'event: a\ndata: {"secret":"<scrubbed>"}\n\n'
    event.data, event.event = {"secret": "sk-123"}, "b"
    assert b"sk-123" in serialize_event(event, framing) and serialize_event(event, framing) != raw


# --------------------------------------------------------------------------- what each case parses to


def events_of(name: str) -> list[SSEEvent]:
    events, _ = parse_stream(CASES[name])
    return events


def fields(events: list[SSEEvent]) -> list[tuple[Any, ...]]:
    return [(e.event, e.data, e.data_is_json) for e in events]


def test_parse_crlf_and_cr() -> None:
    assert fields(events_of("crlf")) == [("a", 1, True), ("b", {"x": 2}, True)]
    assert parse_stream(CASES["crlf"])[1] == Framing(space_after_colon=True, line_ending="\r\n")
    assert fields(events_of("cr_only")) == [("a", 1, True), ("b", 2, True)]
    assert parse_stream(CASES["cr_only"])[1].line_ending == "\r"
    # "\n\r" is two line ends: the end of "data: 1" and a blank line.
    assert fields(events_of("mixed_line_endings")) == [("a", 1, True), ("b", 2, True)]


def test_parse_spacing_and_framing() -> None:
    (event,) = events_of("no_space_after_colon")
    assert (event.event, event.data, event.id) == ("a", {"k": 1}, "9")
    assert parse_stream(CASES["no_space_after_colon"])[1].space_after_colon is False
    # Framing comes from the first field line, even when later lines differ.
    assert parse_stream(CASES["mixed_spacing"])[1].space_after_colon is True
    assert fields(events_of("mixed_spacing")) == [("a", 1, True), ("b", 2, True)]
    assert parse_stream(b"data:\nevent:x\n\n")[1].space_after_colon is False  # an empty value says nothing
    # Unknown fields and comments say nothing either: a doc's "note:x" is not the server's framing.
    assert parse_stream(b": c\r\nnote:x\r\nevent: a\ndata: 1\n\n")[1] == Framing(
        space_after_colon=True, line_ending="\n"
    )


def test_parse_last_event_is_never_dropped() -> None:
    assert fields(events_of("missing_final_blank_line")) == [("a", 1, True), ("b", 2, True)]
    assert fields(events_of("missing_final_line_end")) == [("a", 1, True), ("b", 2, True)]
    assert fields(events_of("truncated_mid_line")) == [("a", {"x": 1}, True), ("b", '{"y"', False)]
    assert fields(events_of("truncated_mid_event")) == [("a", 1, True), ("b", None, False)]


def test_parse_comments_and_events_after_done() -> None:
    events = events_of("keep_alive_comments")
    assert [(e.event, e.comments) for e in events] == [
        (None, ["ping"]),
        ("a", ["inline"]),
        (None, [""]),
        (None, ["no-space"]),
    ]
    assert fields(events_of("events_after_done")) == [
        ("done", "[DONE]", False),
        ("late", {}, True),
        ("done", "[DONE]", True),
    ]


def test_parse_non_utf8_is_replaced_in_fields() -> None:
    events = events_of("non_utf8")
    assert [(e.event, e.data) for e in events] == [("a", "caf\ufffd"), ("\ufffd\ufffd", "x")]


def test_parse_retry_and_id_rules() -> None:
    # retry that is not all ASCII digits is ignored ("²" passes str.isdigit but is no number).
    assert [(e.data, e.retry) for e in events_of("retry")] == [("x", 3000), ("y", None), ("z", None)]
    # An id containing NUL is ignored: the earlier id of the same event stands.
    assert [(e.data, e.id) for e in events_of("id_with_nul")] == [("x", "ok"), ("y", None)]


def test_parse_lines_without_colon_leading_spaces_multiline() -> None:
    # A line without a colon is a field named by the whole line with an empty value.
    assert [(e.event, e.data) for e in events_of("line_without_colon")] == [("", ""), (None, "\n")]
    (event,) = events_of("leading_spaces")
    assert event.data == "  three spaces\n two"  # only the first space after the colon goes
    first, second = events_of("multi_line_data")
    assert (first.data, first.data_is_json) == ({"a": 1}, True)
    assert (second.data, second.data_is_json) == ("line1\nline2\n", False)


def test_parse_any_order_unknown_fields_bom_blank_lines() -> None:
    (event,) = events_of("any_order_unknown_fields")
    assert (event.event, event.data, event.id, event.retry) == ("y", "x", "7", 5)
    assert fields(events_of("bom")) == [("a", 1, True)]  # not a field named "\ufeffevent"
    assert parse_stream("\ufeffdata: 1\n\n")[0][0].data == 1
    assert fields(events_of("extra_blank_lines")) == [("a", 1, True), ("b", 2, True)]
    assert [e.event for e in events_of("utf8_multibyte")] == ["你好"]
    assert events_of("utf8_multibyte")[0].data == {"t": "héllo 你好 🎉"}
    assert parse_stream(b"data: NaN\n\ndata: [Infinity]\n\n")[0][1].data_is_json is False  # not JSON


# --------------------------------------------------------------------------- incremental decoding


SMALL = {
    "crlf": b"event: a\r\ndata: 1\r\n\r\n: c\r\ndata: x\r\n\r\n",
    "cr_only": b"data: a\r\rdata: b\r\r",
    "utf8": 'event:é\ndata:"你🎉"\n\ndata:ü'.encode(),
    "bom_and_blanks": b"\xef\xbb\xbf\r\ndata: 1\r\n\r\n\r\n",
    "truncated": b'data: {"a":1}\n\nevent: b\ndata: {"y',
    "non_utf8": b"data: \xe4\xbd\n\nid: \xff\r\n\r\n",
}


def splits(n: int) -> Iterator[list[int]]:
    for i in range(n + 1):
        yield [i]
        for j in range(i, n + 1):
            yield [i, j]


@pytest.mark.parametrize("exact", [False, True], ids=["fields", "exact"])
@pytest.mark.parametrize("name", sorted(SMALL))
def test_incremental_equals_whole_at_every_split(name: str, exact: bool) -> None:
    raw = SMALL[name]
    whole = parse_stream(raw, exact=exact)
    assert whole[0], "the stream has events"
    for cuts in splits(len(raw)):
        bounds = [0, *cuts, len(raw)]
        chunks = [raw[a:b] for a, b in itertools.pairwise(bounds)]
        assert decode_chunks(chunks, exact=exact) == whole, f"cut at {cuts}: {chunks}"
    assert decode_chunks(rechunk([raw], "bytes:1"), exact=exact) == whole


@pytest.mark.parametrize("name", ["openai", "coze", "crlf", "non_utf8", "utf8_multibyte", "events_after_done"])
def test_incremental_equals_whole_for_larger_streams(name: str) -> None:
    raw = CASES[name]
    whole = parse_stream(raw, exact=True)
    for mode in ("bytes:1", "bytes:2", "bytes:3", "bytes:7", "split"):
        assert decode_chunks(rechunk([raw], mode), exact=True) == whole, mode
    # Every single cut position, also through multi-byte characters.
    for i in range(len(raw) + 1):
        assert decode_chunks([raw[:i], raw[i:]], exact=True) == whole, i


def test_event_completes_at_its_blank_line() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"event: a\ndata: 1\n") == []
    (event,) = decoder.feed(b"\nevent: b\n")
    assert event.event == "a"
    assert decoder.close()[0].event == "b"


def test_lone_cr_at_chunk_end_waits_for_next_byte() -> None:
    decoder = SSEDecoder()
    # A naive reader ends the line at "\r" and takes the "\n" as a blank line: event a without data.
    assert decoder.feed(b"event: a\r") == []
    assert decoder.feed(b"\ndata: 1\r\n\r") == []  # the last CR may still be half a CRLF
    (event,) = decoder.feed(b"\n")
    assert (event.event, event.data) == ("a", 1)
    assert decoder.feed(b"data: 2\r\r") == []
    assert decoder.feed(b"d")[0].data == 2  # the next byte is not "\n": the CR was a line end
    decoder.feed(b"ata: 3")
    assert decoder.close()[0].data == 3
    cr_only = SSEDecoder()
    assert cr_only.feed(b"data: 3\r\r") == []
    assert cr_only.close()[0].data == 3


def test_clock_stamps_events_when_they_complete() -> None:
    now = [0]
    decoder = SSEDecoder(clock=lambda: now[0])
    now[0] = 5
    assert decoder.feed(b"data: 1\n") == []
    now[0] = 12
    (first,) = decoder.feed(b"\ndata: 2")
    now[0] = 30
    (last,) = decoder.close()
    assert (first.at_ms, last.at_ms) == (12, 30)
    assert parse_stream(b"data: 1\n\n")[0][0].at_ms == 0  # no clock, no stamp


def test_decoder_lifecycle() -> None:
    decoder = SSEDecoder()
    assert decoder.framing == Framing()  # nothing seen yet: the default
    decoder.feed(b"event:a\r\n")
    assert decoder.framing == Framing(space_after_colon=False, line_ending="\r\n")
    assert [e.event for e in decoder.close()] == ["a"]
    assert decoder.close() == []
    with pytest.raises(RuntimeError, match="after close"):
        decoder.feed(b"data: x\n\n")


def test_trailing_blank_lines_join_the_last_event_raw() -> None:
    decoder = SSEDecoder(exact=True)
    (event,) = decoder.feed(b"data: 1\n\n\n")
    assert event.raw == "data: 1\n\n"
    assert decoder.close() == []
    assert event.raw == "data: 1\n\n\n"


# --------------------------------------------------------------------------- real traffic


# Events per raw Coze file. Doc streams count their annotation blocks too: a block of lines
# with no known field (e.g. "//省略…event:…" then "......") is kept as an event without a name,
# and the submit_tool_outputs schematic has no blank line at all, so it is one event.
COZE_FILES = {
    "auto-dev__coze_v3_chat_stream_fragment.sse.txt": 4,
    "coze-py__chat_audio_stream_resp.txt": 8,
    "coze-py__chat_error_resp.txt": 1,
    "coze-py__chat_failed_resp.txt": 1,
    "coze-py__chat_text_stream_resp.txt": 9,
    "documented__chat_submit_tool_outputs__stream_schematic.response.sse.txt": 1,
    "documented__chat_v3__stream_basic.response.sse.txt": 11,
    "documented__chat_v3__stream_image.response.sse.txt": 13,
    "documented__chat_v3__stream_schematic_all_event_types.response.sse.txt": 18,
    "documented_localplugin__03_submit_tool_outputs_stream.response.sse.txt": 20,
}


def test_every_raw_coze_file_is_listed() -> None:
    folder = TRAFFIC / "coze"
    found = {p.name for p in folder.glob("*.sse.txt")} | {p.name for p in folder.glob("coze-py__chat_*_resp.txt")}
    assert found == set(COZE_FILES)


@pytest.mark.parametrize("name", sorted(COZE_FILES))
def test_real_coze_streams(name: str) -> None:
    raw = (TRAFFIC / "coze" / name).read_bytes()
    events, framing = parse_stream(raw, exact=True)
    assert len(events) == COZE_FILES[name]
    assert serialize_stream(events, framing) == raw
    assert serialize_stream(via_cassette_json(events), framing) == raw
    assert decode_chunks(rechunk([raw], "bytes:5"), exact=True) == (events, framing)
    if "schematic" not in name:  # real output or clean doc streams: Coze framing, JSON data
        named = [e for e in events if e.event is not None]
        assert len(named) == len(re.findall(rb"^event:", raw, re.MULTILINE))
        assert framing.space_after_colon is False and all(e.data_is_json for e in named)
        if raw.rstrip().endswith(b'data:"[DONE]"'):
            assert (events[-1].event, events[-1].data, events[-1].data_is_json) == ("done", "[DONE]", True)


def test_schematic_doc_stream_keeps_invalid_json_as_text() -> None:
    raw = (TRAFFIC / "coze" / "documented__chat_v3__stream_schematic_all_event_types.response.sse.txt").read_bytes()
    events, _ = parse_stream(raw)
    first = events[0]
    assert first.event == "conversation.chat.created" and not first.data_is_json
    assert "compleated_at:null" in first.data  # doc annotation, not JSON: kept as text
    assert [e.event for e in events[-2:]] == ["done \uff08stream流结束\uff09", "conversation.chat.failed"]
    assert events[-1].data == "{"  # the next lines ("    \"code\":701231,") are fields without a known name


def openai_raw_streams() -> Iterator[tuple[Path, str]]:
    """(file, raw SSE text) of every event-stream response, read with plain json/yaml."""
    for path in sorted([*(TRAFFIC / "openai-assistants").iterdir(), *(TRAFFIC / "openai-responses").iterdir()]):
        if path.suffix == ".json":
            for entry in json.loads(path.read_text(encoding="utf-8"))["Entries"]:
                ctype = {k.lower(): v for k, v in entry["ResponseHeaders"].items()}.get("content-type", "")
                if "text/event-stream" in ctype:
                    body = entry["ResponseBody"]
                    yield path, "".join(body) if isinstance(body, list) else body
        else:
            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
            for item in doc.get("interactions") or doc.get("http_interactions") or []:
                headers = {k.lower(): v for k, v in (item["response"].get("headers") or {}).items()}
                ctype = headers.get("content-type") or ""
                if "text/event-stream" in (ctype[0] if isinstance(ctype, list) else ctype):
                    yield path, item["response"]["body"]["string"]


OPENAI_STREAMS = list(openai_raw_streams())


def test_openai_recordings_hold_the_expected_streams() -> None:
    files = sorted({path.name for path, _ in OPENAI_STREAMS})
    assert len(OPENAI_STREAMS) == 17 and len(files) == 12, files


@pytest.mark.parametrize(
    "number", range(len(OPENAI_STREAMS)), ids=[f"{p.stem}-{i}" for i, (p, _) in enumerate(OPENAI_STREAMS)]
)
def test_real_openai_streams(number: int) -> None:
    path, text = OPENAI_STREAMS[number]
    raw = text.encode("utf-8")
    events, framing = parse_stream(raw, exact=True)
    assert len(events) == len(re.findall(rb"^event: ", raw, re.MULTILINE)) > 0
    assert framing == Framing(space_after_colon=True, line_ending="\n")
    assert serialize_stream(events, framing) == raw
    assert serialize_stream(via_cassette_json(events), framing) == raw
    assert decode_chunks(rechunk([raw], "split"), exact=True) == (events, framing)
    assert all(e.data_is_json for e in events[:-1])
    last = events[-1]
    if path.parent.name == "openai-assistants":
        assert (last.event, last.data, last.data_is_json) == ("done", "[DONE]", False)
    else:  # the Responses API ends without a terminator
        assert last.event == "response.completed" and last.data_is_json


@pytest.mark.parametrize("path", sorted({path for path, _ in OPENAI_STREAMS}), ids=lambda p: p.stem)
def test_imported_openai_streams_have_the_same_events(path: Path) -> None:
    bodies = [i.response.body for i in import_file(path) if i.response.body.kind == "sse"]
    raws = [text for p, text in OPENAI_STREAMS if p == path]
    assert len(bodies) == len(raws)
    for body, text in zip(bodies, raws, strict=True):
        expected, _ = parse_stream(text)
        assert [(e.event, e.data_text) for e in body.events] == [(e.event, e.data_text) for e in expected]
        assert encode_body(body) == encode_body(decode_body(text, "text/event-stream"))


# --------------------------------------------------------------------------- cassette checks


WHERE = "$.interactions[2].response.body.sse.events[3]"


@pytest.mark.parametrize(
    ("obj", "key", "message"),
    [
        ({"data": {}, "data_text": "x"}, None, "both `data`"),
        ({"retry": "5"}, "retry", "`retry` must be a non-negative integer"),
        ({"retry": True}, "retry", "`retry` must be a non-negative integer"),
        ({"retry": -1}, "retry", "`retry` must be a non-negative integer"),
        ({"event": 5}, "event", "`event` must be a string"),
        ({"event": "a\nb"}, "event", "line break"),
        ({"id": "a\x00b"}, "id", "NUL"),
        ({"at_ms": -1}, "at_ms", "`at_ms` must be a non-negative integer"),
        ({"at_ms": 1.5}, "at_ms", "`at_ms` must be a non-negative integer"),
        ({"data_text": 3}, "data_text", "`data_text` must be a string"),
        ({"data_text": "a\rb"}, "data_text", "line break"),
        ({"comments": "ping"}, "comments", "`comments` must be a list"),
        ({"comments": ["ok", 1]}, "comments[1]", "`comments[1]` must be a string"),
        ({"raw": "x", "raw_b64": "eA=="}, None, "both `raw`"),
        ({"raw_b64": "not base64!"}, "raw_b64", "not valid base64"),
        ({"raw": "\udc80"}, "raw", "raw_b64"),
        ({"data_txt": "x"}, None, "unknown keys ['data_txt']"),
    ],
)
def test_from_json_errors_name_event_and_place(obj: dict[str, Any], key: str | None, message: str) -> None:
    with pytest.raises(CassetteError) as info:
        event_from_json(obj, WHERE)
    assert info.value.location == (f"{WHERE}.{key}" if key else WHERE)
    assert "SSE event 3" in str(info.value) and message in str(info.value)


def test_from_json_rejects_a_non_object() -> None:
    with pytest.raises(CassetteError, match="SSE event 0 must be an object") as info:
        event_from_json(["event", "x"], "$.sse.events[0]")
    assert info.value.location == "$.sse.events[0]"
    with pytest.raises(CassetteError) as default:
        event_from_json({"retry": "x"})
    assert default.value.location == "$.retry"


def test_from_json_accepts_old_and_new_events() -> None:
    assert event_from_json({"event": "a", "data_text": "[DONE]", "at_ms": 9}) == SSEEvent(
        event="a", data="[DONE]", at_ms=9
    )
    assert event_from_json({"data": None}) == SSEEvent(data=None, data_is_json=True)
    assert event_from_json({"raw_b64": "ZGF0YTog/w0KDQo="}).raw_bytes == b"data: \xff\r\n\r\n"
    assert event_from_json({}) == SSEEvent()


def test_cassette_body_keeps_exact_events() -> None:
    raw = CASES["keep_alive_comments"] + CASES["non_utf8"]
    events, framing = parse_stream(raw, exact=True)
    stored = json.loads(json.dumps(Body.sse(events, framing).to_json()))
    assert encode_body(body_from_json(stored, "$.body")) == raw


# --------------------------------------------------------------------------- rechunk


def test_rechunk_modes() -> None:
    chunks = [b"event: a\ndata: 1\n\n", b"event: b\ndata: 2\n\n"]
    assert rechunk(chunks, "event") == chunks
    ones = rechunk(chunks, "bytes:1")
    assert all(len(c) == 1 for c in ones) and b"".join(ones) == b"".join(chunks)
    fives = rechunk(chunks, "bytes:5")
    assert [len(c) for c in fives] == [5] * 7 + [1] and b"".join(fives) == b"".join(chunks)  # across events
    split = rechunk(chunks, "split")
    assert split == [b"even", b"t: a\ndata: 1\n\n", b"even", b"t: b\ndata: 2\n\n"]  # mid first line


def test_rechunk_split_is_awkward() -> None:
    (first, second) = rechunk([b"event: a\r\ndata: 1\r\n\r\n"], "split")
    assert first.endswith(b"\r") and second.startswith(b"\n")  # between CR and LF
    utf8 = 'data: "你"\n\n'.encode()
    head, tail = rechunk([utf8], "split")
    with pytest.raises(UnicodeDecodeError):
        head.decode("utf-8")  # inside the character
    assert head + tail == utf8
    assert rechunk([b"x", b""], "split") == [b"x"]  # nothing to split, no empty chunk


@pytest.mark.parametrize(
    "mode", ["bytes", "bytes:0", "bytes:-1", "bytes:x", "bytes:1.5", "byte:1", "Event", "", " split"]
)
def test_rechunk_rejects_unknown_modes(mode: str) -> None:
    with pytest.raises(ConfigError, match="unknown chunking mode") as info:
        rechunk([b"data: x\n\n"], mode)
    assert repr(mode) in str(info.value) and "bytes:N" in str(info.value)


def test_encode_events_one_chunk_per_event() -> None:
    events, framing = parse_stream(COZE)
    chunks = encode_events(events, framing)
    assert len(chunks) == len(events) == 4
    assert chunks[-1] == b'event:done\ndata:"[DONE]"\n\n'
    for mode in ("event", "bytes:1", "split"):
        assert decode_chunks(rechunk(chunks, mode)) == (events, framing)
