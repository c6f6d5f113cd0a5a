"""A stream's ``error`` event in the shape the API sends (``{"error": {...}}``) validates and
replays: openai-python raises ``APIError`` with its message, no SchemaViolationError."""

from __future__ import annotations

from pathlib import Path

import openai
import pytest
from _paths import TRAFFIC

from runreplay import SSEEvent, load, save, use_cassette, validate_cassette
from runreplay.importers import import_file

ERROR = {"error": {"message": "The server had an error", "type": "server_error", "param": None, "code": None}}


def _with_error_event(tmp_path: Path, data: object) -> Path:
    cassette = import_file(TRAFFIC / "openai-assistants" / "openai-dotnet__StreamingRunWorks.json")
    (stream,) = [i for i in cassette.interactions if i.response.body.kind == "sse"]
    events = stream.response.body.events
    at = events[2].at_ms
    events[3:] = [SSEEvent(event="error", data=data, data_is_json=True, at_ms=at)]
    return save(cassette, tmp_path / "with_error.json")


@pytest.mark.parametrize("data", [ERROR, ERROR["error"]], ids=["as-sent", "as-the-spec-documents"])
def test_a_stream_error_event_validates(tmp_path: Path, data: object) -> None:
    assert validate_cassette(load(_with_error_event(tmp_path, data))) == []


def test_a_stream_error_event_replays_as_the_sdks_api_error(tmp_path: Path) -> None:
    path = _with_error_event(tmp_path, ERROR)
    client = openai.OpenAI(api_key="sk-test", base_url="http://127.0.0.1:9/v1", max_retries=0)
    stream_request = next(i.request for i in load(path) if i.request.method == "POST" and "/runs" in i.request.url)
    body = stream_request.body.json_value
    with pytest.raises(openai.APIError, match="The server had an error"), use_cassette(path, unused="ignore"):
        thread_id = stream_request.path.split("/")[3]
        include = [v for k, v in stream_request.query() if k == "include[]"]
        for _ in client.beta.threads.runs.create(thread_id=thread_id, include=include, **body):
            pass


def test_a_bad_error_event_is_still_a_violation(tmp_path: Path) -> None:
    found = validate_cassette(load(_with_error_event(tmp_path, {"error": {"message": 5}})))
    assert found and all(v.category in ("type_change", "missing_required") for v in found)
