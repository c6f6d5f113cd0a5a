"""Importers: every real recording in tests/data/real-traffic converts without loss.

Expected values are computed from the source documents with plain ``json``/``yaml``,
never through the importer under test.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
import shutil
from collections import Counter
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from _paths import TRAFFIC

import runreplay
from runreplay.cassette import Cassette, load, save
from runreplay.errors import CassetteError
from runreplay.importers import FORMATS, detect_format, import_file, import_many

REAL_FILES = sorted(
    p for folder in ("openai-assistants", "openai-responses") for p in (TRAFFIC / folder).glob("*") if p.is_file()
)
HAR_FIXTURE = Path(__file__).parent / "data" / "openai_run_poll_stream.har"


# --------------------------------------------------------------------------- the source, read independently


def source_doc(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)


def source_items(doc: Any) -> list[dict[str, Any]]:
    """Each recorded exchange as {method, url, status, req_headers, resp_headers, req_body, resp_body}."""
    if "Entries" in doc:
        return [
            {
                "method": e["RequestMethod"],
                "url": e["RequestUri"],
                "status": e["StatusCode"],
                "req_headers": e["RequestHeaders"],
                "resp_headers": e["ResponseHeaders"],
                "req_body": e["RequestBody"],
                "resp_body": "".join(e["ResponseBody"]) if isinstance(e["ResponseBody"], list) else e["ResponseBody"],
            }
            for e in doc["Entries"]
        ]
    items = doc.get("interactions") or doc.get("http_interactions")
    out = []
    for it in items:
        req, resp = it["request"], it["response"]
        status = resp["status"]
        out.append(
            {
                "method": req["method"],
                "url": req["uri"],
                "status": int(status.get("code", status.get("status_code"))),
                "req_headers": req.get("headers") or {},
                "resp_headers": resp.get("headers") or {},
                "req_body": req["body"]["string"] if isinstance(req.get("body"), dict) else req.get("body"),
                "resp_body": resp["body"]["string"],
            }
        )
    return out


def header(headers: dict[str, Any], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return str(value[0] if isinstance(value, list) else value)
    return None


def header_count(headers: dict[str, Any]) -> int:
    return sum(len(v) if isinstance(v, list) else 1 for v in headers.values())


def sse_blocks(text: str) -> list[str]:
    """Blank-line separated blocks of an event stream."""
    return [b for b in re.split(r"\n\n+", text.replace("\r\n", "\n")) if b.strip()]


def block_fields(block: str) -> tuple[str | None, str | None]:
    event = re.search(r"^event: ?(.*)$", block, re.MULTILINE)
    data = [m.group(1) for m in re.finditer(r"^data: ?(.*)$", block, re.MULTILINE)]
    return (event.group(1) if event else None, "\n".join(data) if data else None)


def source_json(body: Any, headers: dict[str, Any]) -> Any:
    """The JSON value of a source body, gunzipping wire bytes as the headers say."""
    if isinstance(body, (dict, list)):
        return body
    if isinstance(body, bytes) and (header(headers, "content-encoding") or "").lower() == "gzip":
        body = gzip.decompress(body)
    return json.loads(body)


def is_json_type(headers: dict[str, Any]) -> bool:
    return "json" in (header(headers, "content-type") or "")


def is_sse_type(headers: dict[str, Any]) -> bool:
    return "text/event-stream" in (header(headers, "content-type") or "")


def has_body(body: Any) -> bool:
    return body not in (None, "", b"")


# --------------------------------------------------------------------------- every real file


def test_real_traffic_is_present() -> None:
    # The recordings are copied into tests/data; without them the parametrized tests would silently vanish.
    assert len(REAL_FILES) >= 28, f"expected the real-traffic recordings under {TRAFFIC}"


@pytest.fixture(params=REAL_FILES, ids=lambda p: p.name)
def real(request: pytest.FixtureRequest) -> tuple[Path, list[dict[str, Any]], Cassette]:
    path: Path = request.param
    return path, source_items(source_doc(path)), import_file(path)


def test_same_exchanges_in_order(real: tuple[Path, list[dict[str, Any]], Cassette]) -> None:
    _, items, cassette = real
    assert len(cassette) == len(items)
    for src, got in zip(items, cassette, strict=True):
        assert got.request.method == src["method"].upper()
        assert got.request.url == src["url"]
        assert got.response.status == src["status"]
        assert len(got.request.headers.items()) == header_count(src["req_headers"])
        assert len(got.response.headers.items()) == header_count(src["resp_headers"])
        assert {k for k, _ in got.response.headers.items()} == {k.lower() for k in src["resp_headers"]}


def test_json_bodies_equal_the_source(real: tuple[Path, list[dict[str, Any]], Cassette]) -> None:
    _, items, cassette = real
    checked = 0
    for src, got in zip(items, cassette, strict=True):
        for side, headers, body in (
            ("request", src["req_headers"], src["req_body"]),
            ("response", src["resp_headers"], src["resp_body"]),
        ):
            stored = getattr(got, side).body
            if not has_body(body):
                assert stored.kind == "empty"
            elif is_json_type(headers):
                assert stored.kind == "json", (side, stored.kind)
                assert stored.value == source_json(body, headers)
                checked += 1
    assert checked > 0


def test_gzip_bodies_become_json(real: tuple[Path, list[dict[str, Any]], Cassette]) -> None:
    _, items, cassette = real
    for src, got in zip(items, cassette, strict=True):
        if isinstance(src["resp_body"], bytes):  # vcrpy's !!binary: the gzip wire bytes
            assert header(src["resp_headers"], "content-encoding") == "gzip"
            assert got.response.body.kind == "json"
            assert got.response.body.decoded_from == "gzip"
            assert got.response.body.value == json.loads(gzip.decompress(src["resp_body"]))


def test_sse_bodies_become_one_event_per_block(real: tuple[Path, list[dict[str, Any]], Cassette]) -> None:
    _, items, cassette = real
    for src, got in zip(items, cassette, strict=True):
        if not is_sse_type(src["resp_headers"]):
            continue
        blocks = sse_blocks(src["resp_body"])
        events = got.response.body.events
        assert len(events) == len(blocks)
        for block, event in zip(blocks, events, strict=True):
            name, data = block_fields(block)
            assert event.event == name
            assert event.data_text is not None and data is not None
            if event.data_is_json:
                assert event.data == json.loads(data)
            else:
                assert event.data == data
        path = str(got.request.url)
        if "/threads" in path:  # Assistants streams end with `done` / `[DONE]`, which is not JSON
            assert (events[-1].event, events[-1].data, events[-1].data_is_json) == ("done", "[DONE]", False)
        else:  # Responses API streams end with the terminal response event instead
            assert events[-1].event == "response.completed"


def test_meta_and_timing(real: tuple[Path, list[dict[str, Any]], Cassette]) -> None:
    path, _, cassette = real
    meta = cassette.meta
    assert meta["runreplay"] == runreplay.__version__
    assert meta["provider"] == {"openai-assistants": "openai", "openai-responses": "openai-responses"}[path.parent.name]
    assert meta["source"] == {"format": detect_format(path), "file": path.name}
    at = [i.at_ms for i in cassette]
    assert at[0] == 0
    assert at == sorted(at)


def test_round_trip_through_a_saved_cassette(real: tuple[Path, list[dict[str, Any]], Cassette], tmp_path: Path) -> None:
    path, _, cassette = real
    saved = save(cassette, tmp_path / f"{path.stem}.json")
    assert load(saved) == cassette


# --------------------------------------------------------------------------- specific recordings


def assistants(name: str) -> Path:
    return TRAFFIC / "openai-assistants" / name


def test_openllmetry_v1_stream_has_every_delta() -> None:
    cassette = import_file(assistants("openllmetry_v1__test_streaming_new_assistant.yaml"))
    (stream,) = [i.response.body for i in cassette if i.response.body.kind == "sse"]
    names = Counter(e.event for e in stream.events)
    assert names["thread.message.delta"] == 199
    assert names["thread.run.step.delta"] == 18
    assert len(stream.events) == 237
    assert cassette.meta["client"] == {"name": "openai", "version": "1.14.3"}
    assert cassette.meta["recorded_at"] == "2024-03-27T20:47:05Z"


def test_dotnet_streaming_tool_call_has_two_streams() -> None:
    cassette = import_file(assistants("openai-dotnet__StreamingToolCall.json"))
    streams = [i.response.body.events for i in cassette if i.response.body.kind == "sse"]
    assert len(streams) == 2
    assert [e.event for e in streams[0][-2:]] == ["thread.run.requires_action", "done"]
    assert streams[0][-2].data["status"] == "requires_action"
    assert Counter(e.event for e in streams[1])["thread.message.delta"] == 40
    assert streams[1][-1].data == "[DONE]"
    assert cassette.meta["client"] == {"name": "openai-dotnet", "version": "2.5.0"}
    assert cassette.interactions[1].request.body.value["stream"] is True


@pytest.mark.parametrize("name", ["lemur_v1__runs.yml", "lemur_v2__runs.yml"])
def test_lemur_r_vcr_status_and_timing(name: str) -> None:
    path = assistants(name)
    raw = yaml.safe_load(path.read_text())["http_interactions"]
    cassette = import_file(path)
    assert detect_format(path) == "r-vcr"
    assert [i.response.status for i in cassette] == [it["response"]["status"]["status_code"] for it in raw]
    assert {i.response.reason for i in cassette} == {"OK"}
    # recorded_at is the same for every interaction here, so the Date headers give the timing.
    assert len({it["recorded_at"] for it in raw}) == 1
    assert cassette.interactions[-1].at_ms > 0
    # The bodies are stored decoded although the header still says gzip.
    assert cassette.interactions[0].response.headers.get("content-encoding") == "gzip"
    assert cassette.interactions[0].response.body.kind == "json"


@pytest.mark.parametrize(
    ("name", "expected_400"),
    [
        ("ruby-openai__runs_create.yml", 2),
        ("ruby-openai__runs_streamed_create.yml", 2),
        ("ruby-openai__runs_submit_tool_outputs.yml", 4),
    ],
)
def test_ruby_openai_keeps_error_responses(name: str, expected_400: int) -> None:
    path = assistants(name)
    raw = yaml.safe_load(path.read_text())["http_interactions"]
    cassette = import_file(path)
    assert detect_format(path) == "ruby-vcr"
    statuses = [i.response.status for i in cassette]
    assert statuses == [it["response"]["status"]["code"] for it in raw]
    assert statuses.count(400) == expected_400
    failed = next(i for i in cassette if i.response.status == 400)
    assert failed.response.reason == "Bad Request"
    assert "error" in failed.response.body.value
    # Ruby VCR stamps each interaction; the stamps drive recorded_at and at_ms.
    first, last = (parsedate_to_datetime(raw[i]["recorded_at"]) for i in (0, -1))
    assert cassette.meta["recorded_at"] == first.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert cassette.interactions[-1].at_ms == (last - first).total_seconds() * 1000


# --------------------------------------------------------------------------- HAR


def test_har_fixture() -> None:
    cassette = import_file(HAR_FIXTURE)
    assert detect_format(HAR_FIXTURE) == "har"
    raw = json.loads(HAR_FIXTURE.read_text())["log"]["entries"]
    assert len(cassette) == len(raw) == 4
    assert [i.at_ms for i in cassette] == [0, 1535, 2751, 4282]
    assert cassette.meta["recorded_at"] == "2024-05-02T10:15:01.120Z"
    assert cassette.meta["client"] == {"name": "openai", "version": "1.30.5"}
    assert cassette.meta["source"] == {"format": "har", "file": HAR_FIXTURE.name}
    create, poll, done, stream = cassette.interactions
    assert create.request.body.value == {"assistant_id": "asst_Qm4Zt8RkVn2cXy6LpWd1Hs0B", "instructions": None}
    # HAR text is already decoded even though Content-Encoding: gzip is kept.
    assert create.response.body.value["status"] == "queued"
    assert create.response.headers.get_all("set-cookie")[1].startswith("_cfuvid=")
    encoded = raw[1]["response"]["content"]["text"]
    assert poll.response.body.value == json.loads(base64.b64decode(encoded))
    assert poll.request.body.kind == "empty"
    assert done.response.body.value["status"] == "completed"
    events = stream.response.body.events
    assert len(events) == len(sse_blocks(raw[3]["response"]["content"]["text"])) == 12
    assert [e.event for e in events].count("thread.message.delta") == 3
    assert (events[-1].event, events[-1].data_text) == ("done", "[DONE]")


# --------------------------------------------------------------------------- smaller variants, written here


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


COZE_STREAM = (
    'event:conversation.message.delta\ndata:{"id":"1","content":"Hi"}\n\n'
    'event:conversation.chat.completed\ndata:{"id":"c1","status":"completed"}\n\n'
    'event:done\ndata:"[DONE]"\n\n'
)


def test_vcrpy_coze_stream_keeps_done_as_a_json_string(tmp_path: Path) -> None:
    doc = {
        "interactions": [
            {
                "request": {
                    "method": "POST",
                    "uri": "https://api.coze.cn/v3/chat",
                    "body": '{"bot_id": "73", "stream": true}',
                    "headers": {"Content-Type": ["application/json"], "User-Agent": ["cozepy/0.20.0 python/3.11"]},
                },
                "response": {
                    "status": {"code": 200, "message": "OK"},
                    "headers": {"Content-Type": ["text/event-stream"]},
                    "body": {"string": COZE_STREAM},
                },
            }
        ],
        "version": 1,
    }
    cassette = import_file(write(tmp_path, "coze.yaml", yaml.safe_dump(doc)))
    assert cassette.meta["provider"] == "coze"
    assert cassette.meta["client"] == {"name": "cozepy", "version": "0.20.0"}
    events = cassette.interactions[0].response.body.events
    assert len(events) == 3
    assert (events[-1].event, events[-1].data, events[-1].data_is_json) == ("done", "[DONE]", True)
    framing = cassette.interactions[0].response.body.framing
    assert framing is not None and framing.space_after_colon is False


def test_vcrpy_json_and_old_httpx_form(tmp_path: Path) -> None:
    doc = {
        "interactions": [
            {
                "request": {"method": "GET", "uri": "https://api.openai.com/v1/models", "body": None, "headers": {}},
                "response": {"status_code": 503, "headers": {"content-type": ["text/plain"]}, "content": "busy"},
            }
        ]
    }
    # Named .txt on purpose: the format is recognised from the content.
    path = write(tmp_path, "old_httpx.txt", json.dumps(doc))
    assert detect_format(path) == "vcrpy"
    (interaction,) = import_file(path).interactions
    assert interaction.response.status == 503
    assert (interaction.response.body.kind, interaction.response.body.value) == ("text", "busy")


def test_ruby_vcr_base64_gzip_body(tmp_path: Path) -> None:
    wire = gzip.compress(b'{"object":"thread.run","status":"queued"}')
    text = f"""---
http_interactions:
- request:
    method: get
    uri: https://api.openai.com/v1/threads/t/runs/r
    body:
      encoding: US-ASCII
      string: ''
    headers:
      User-Agent:
      - Ruby
  response:
    status:
      code: 200
      message: OK
    headers:
      Content-Encoding: gzip
      Content-Type: application/json
      Openai-Version: 2020-10-01
    body:
      encoding: ASCII-8BIT
      base64_string: |
        {base64.b64encode(wire).decode()}
  recorded_at: Sat, 27 Apr 2024 22:07:46 GMT
recorded_with: VCR 6.1.0
"""
    (interaction,) = import_file(write(tmp_path, "ruby.yml", text)).interactions
    assert interaction.response.body.value == {"object": "thread.run", "status": "queued"}
    assert interaction.response.body.decoded_from == "gzip"
    # Plain scalars stay text: this header is not turned into a date.
    assert interaction.response.headers.get("openai-version") == "2020-10-01"


def test_import_many_writes_each_cassette(tmp_path: Path) -> None:
    sources = [assistants("ruby-openai__runs_cancel.yml"), HAR_FIXTURE]
    written = import_many(sources, tmp_path / "out")
    assert written == [
        tmp_path / "out" / "ruby-openai__runs_cancel.json",
        tmp_path / "out" / f"{HAR_FIXTURE.stem}.json",
    ]
    assert [len(load(p)) for p in written] == [4, 4]


def test_import_many_refuses_two_sources_with_one_stem(tmp_path: Path) -> None:
    copy = tmp_path / "src" / HAR_FIXTURE.name
    copy.parent.mkdir()
    shutil.copy(HAR_FIXTURE, copy)
    with pytest.raises(CassetteError, match="would write"):
        import_many([HAR_FIXTURE, copy], tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_formats_are_named() -> None:
    assert set(FORMATS) == {"vcrpy", "ruby-vcr", "r-vcr", "azure-test-proxy", "har"}
    assert {detect_format(p) for p in REAL_FILES} == {"vcrpy", "ruby-vcr", "r-vcr", "azure-test-proxy"}


# --------------------------------------------------------------------------- errors name the file and the place


def error_for(path: Path) -> str:
    with pytest.raises(CassetteError) as info:
        import_file(path)
    text = str(info.value)
    assert str(path) in text
    return text


def test_truncated_yaml_reports_line_and_column(tmp_path: Path) -> None:
    source = assistants("openllmetry_v1__test_new_assistant.yaml").read_text()
    cut = source[: source.index("tutor. Write") + 5]  # inside a quoted scalar
    text = error_for(write(tmp_path, "cut.yaml", cut))
    assert re.search(r"line 4, column \d+: invalid YAML", text)


def test_yaml_cut_between_keys_names_the_missing_field_and_line(tmp_path: Path) -> None:
    source = assistants("openllmetry_v1__test_new_assistant.yaml").read_text()
    text = error_for(write(tmp_path, "cut.yaml", source[: source.index("  response:")]))
    assert "$.interactions[0].response (line 2, column 3)" in text
    assert "required field 'response' is missing" in text


def test_json_of_unknown_shape(tmp_path: Path) -> None:
    text = error_for(write(tmp_path, "other.json", json.dumps({"records": [{"url": "https://x"}]})))
    assert " at $: unrecognised recording" in text
    assert "'records'" in text


def test_invalid_json_reports_line_and_column(tmp_path: Path) -> None:
    text = error_for(write(tmp_path, "broken.json", '{"Entries": [\n  {"RequestUri": }\n]}'))
    assert "line 2, column 18: invalid JSON" in text


def test_har_with_a_missing_field(tmp_path: Path) -> None:
    doc = json.loads(HAR_FIXTURE.read_text())
    del doc["log"]["entries"][2]["response"]
    text = error_for(write(tmp_path, "broken.har", json.dumps(doc)))
    assert "$.log.entries[2].response: required field 'response' is missing" in text


def test_azure_body_lines_must_be_text(tmp_path: Path) -> None:
    doc = source_doc(assistants("openai-dotnet__StreamingToolCall.json"))
    doc["Entries"][2]["ResponseBody"][3] = 7
    text = error_for(write(tmp_path, "bad.json", json.dumps(doc)))
    assert "$.Entries[2].ResponseBody[3]: expected a line of text, found 7" in text


def test_gzip_body_that_does_not_decode(tmp_path: Path) -> None:
    text = """interactions:
- request: {method: GET, uri: "https://api.openai.com/v1/models", body: null, headers: {}}
  response:
    status: {code: 200, message: OK}
    headers: {Content-Encoding: [gzip], Content-Type: [application/json]}
    body: {string: !!binary "aGVsbG8="}
"""
    message = error_for(write(tmp_path, "gz.yaml", text))
    assert "$.interactions[0].response.body (line 6, column 11)" in message
    assert "content-encoding 'gzip'" in message


def test_missing_and_empty_files(tmp_path: Path) -> None:
    assert "file not found" in error_for(tmp_path / "nope.yaml")
    assert "file is empty" in error_for(write(tmp_path, "empty.yaml", "\n"))
