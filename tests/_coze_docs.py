"""Turn the Coze examples in tests/data/real-traffic/coze/ into interactions runreplay can check.

Those files are raw payloads (JSON, JSON with ``//`` comments, SSE text), not cassettes.
Each reply is paired with its request: the documented curl command of the same page
where there is one, otherwise a minimal request to the endpoint its file name names.
Documentation annotations (``//`` comment lines, ``......`` elisions) are removed first;
nothing else is touched.
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import Any

from _paths import TRAFFIC

from runreplay.cassette import Body, Headers, Interaction, Request, Response
from runreplay.sse import parse_stream

COZE = TRAFFIC / "coze"

BASE = "https://api.coze.cn"
IDS = "?conversation_id=7381473525342978089&chat_id=7382159487131697202"
CHAT = {"bot_id": "7379462189365198898", "user_id": "123456789"}
LOCALPLUGIN_REQUEST = "documented_localplugin__02_submit_tool_outputs_stream.request.json"
OUTPUTS = {"tool_outputs": [{"tool_call_id": "call_1", "output": "ok"}]}

#: File name fragment -> the request an example without a documented request answers.
DEFAULT_REQUESTS: tuple[tuple[str, str, str, dict[str, Any] | None], ...] = (
    ("submit_tool_outputs", "POST", f"/v3/chat/submit_tool_outputs{IDS}", OUTPUTS),
    ("chat_retrieve", "GET", f"/v3/chat/retrieve{IDS}", None),
    ("message_list", "GET", f"/v3/chat/message/list{IDS}", None),
    ("nonstream", "POST", "/v3/chat", {**CHAT, "stream": False}),
    ("", "POST", "/v3/chat", {**CHAT, "stream": True}),  # the streams
)


def strip_annotations(text: str) -> str:
    """Drop documentation-only lines: ``// comment`` lines and ``......`` elisions."""
    kept = [line for line in text.splitlines() if not line.lstrip().startswith(("//", "......"))]
    return "\n".join(kept) + "\n"


def curl_request(path: Path) -> Request:
    """The request of a documented ``curl`` command (method, URL and JSON body)."""
    text = path.read_text(encoding="utf-8")
    found = re.search(r"--request (\w+) '([^']+)'", text)
    assert found, f"{path.name}: no --request METHOD 'URL'"
    raw = re.search(r"--data-raw '(.*)'", text, re.S) or re.search(r"^(\{.*\})\s*$", text, re.S | re.M)
    body = Body.json(json.loads(raw.group(1))) if raw else Body.empty()
    return Request(found.group(1), found.group(2), Headers([("content-type", "application/json")]), body)


def request_for(path: Path) -> Request:
    stem = path.name.split(".response")[0]
    while True:  # documented__page__variant -> documented__page.request.curl.txt
        curl = path.with_name(f"{stem}.request.curl.txt")
        if curl.exists():
            return curl_request(curl)
        if "__" not in stem.removeprefix("documented__"):
            break
        stem = stem.rsplit("__", 1)[0]
    if "localplugin__03" in path.name:  # the guide prints this stream's request as JSON
        body = json.loads(path.with_name(LOCALPLUGIN_REQUEST).read_text(encoding="utf-8"))
        return Request("POST", f"{BASE}/v3/chat/submit_tool_outputs{IDS}", Headers(), Body.json(body))
    method, target, body = next((m, t, b) for frag, m, t, b in DEFAULT_REQUESTS if frag in path.name)
    return Request(method, BASE + target, Headers(), Body.json(body) if body is not None else Body.empty())


def interaction(path: Path) -> Interaction:
    """The example as the reply to its request (SSE files as streams)."""
    text = strip_annotations(path.read_text(encoding="utf-8"))
    if path.suffix in (".json", ".jsonc"):
        body, ctype = Body.json(json.loads(text)), "application/json"
    else:
        events, framing = parse_stream(text)
        body, ctype = Body.sse(events, framing), "text/event-stream"
    return Interaction(request_for(path), Response(200, Headers([("content-type", ctype)]), body))


def response_files() -> list[Path]:
    """Every reply example of the HTTP chat API (requests, the Chat object alone, the
    requires_action event data and the WebSocket transcript are read separately)."""
    skip = ("request", "chat_object_example", "01_chat_stream", "websocket")
    return sorted(p for p in COZE.iterdir() if p.is_file() and not any(s in p.name for s in skip))


def jsonc(path: Path) -> Any:
    return json.loads(strip_annotations(path.read_text(encoding="utf-8")))


def websocket_events(path: Path) -> list[tuple[str, Any]]:
    """``(event_type, data)`` of every received event of coze-go's WebSocket transcript."""
    lines = path.read_text(encoding="utf-8").splitlines()
    out = []
    for previous, line in itertools.pairwise(lines):
        if previous.strip() == "receive":
            event = json.loads(line)
            out.append((event["event_type"], event.get("data")))
    return out
