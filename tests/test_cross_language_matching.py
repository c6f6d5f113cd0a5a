"""The same call made by SDKs in different languages matches one recording (docs/matching.md).

The table runs each difference through the real matcher with the providers' rules; the end-to-end
tests record a Coze chat with cozepy and replay it to a request shaped the way coze-js sends it
(and the reverse), through ``use_cassette``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cozepy
import httpx
import pytest

from runreplay import use_cassette
from runreplay.cassette import Body, Headers, Request
from runreplay.emulator import Emulator
from runreplay.engine.matching import RequestKey, make_key
from runreplay.options import MatchConfig
from runreplay.providers import call_rules

RULES = MatchConfig(call_rules=call_rules)
OFFLINE = "http://127.0.0.1:9"  # nothing listens there: replay must not need a server
BOT = "7350000000000plain"


def _key(method: str, url: str, body: Any = None, headers: list[tuple[str, str]] | None = None) -> RequestKey:
    shaped = Body.empty() if body is None else Body.text(body) if isinstance(body, str) else Body.json(body)
    return make_key(Request(method, url, Headers(headers or []), shaped), RULES)


COZE_MESSAGE = {"role": "user", "type": "question", "content": "Hi", "content_type": "text"}

SAME = [
    pytest.param(
        ("POST", "http://h/v3/chat?conversation_id=", {"bot_id": "b"}),
        ("POST", "http://h/v3/chat", {"bot_id": "b"}),
        id="coze: empty conversation_id equals none",
    ),
    pytest.param(
        ("POST", "http://h/v3/chat", {"bot_id": "b", "auto_save_history": True, "additional_messages": []}),
        ("POST", "http://h/v3/chat", {"bot_id": "b"}),
        id="coze: chat body fields at their documented default",
    ),
    pytest.param(
        ("POST", "http://h/v3/chat", {"bot_id": "b", "additional_messages": [COZE_MESSAGE], "stream": False}),
        (
            "POST",
            "http://h/v3/chat",
            '{"additional_messages":[{"content_type":"text","content":"Hi","type":'
            '"question","role":"user","meta_data":null}],"bot_id":"b"}',
        ),
        id="coze: stream false, nulls and key order",
    ),
    pytest.param(
        ("GET", "http://h/v1/threads/t/runs?after=&limit=20", None),
        ("GET", "http://h/v1/threads/t/runs?limit=20", None),
        id="openai: a null query parameter sent empty equals none",
    ),
    pytest.param(
        ("POST", "http://h/v1/responses?include=", {"model": "m", "background": True}),
        ("POST", "http://h/v1/responses", {"model": "m", "background": True}),
        id="openai responses: empty query parameter",
    ),
    pytest.param(
        ("POST", "http://h/v1/threads/t/runs", '{"assistant_id":"a","temperature":1.0,"top_p":5e-1}'),
        ("POST", "http://h/v1/threads/t/runs", '{"top_p":0.5,"temperature":1,"assistant_id":"a"}'),
        id="number forms: 1.0 and 1, 5e-1 and 0.5",
    ),
    pytest.param(
        ("POST", "http://h/v1/threads/t/runs", '{"assistant_id":"a","n":[1e0,{"x":2.0}]}'),
        ("POST", "http://h/v1/threads/t/runs", '{"assistant_id":"a","n":[1,{"x":2}]}'),
        id="number forms: nested",
    ),
]

DIFFERENT = [
    pytest.param(
        ("POST", "http://h/v3/chat?conversation_id=c1", {"bot_id": "b"}),
        ("POST", "http://h/v3/chat", {"bot_id": "b"}),
        id="coze: a real conversation_id counts",
    ),
    pytest.param(
        ("POST", "http://h/v3/chat", {"bot_id": "b", "auto_save_history": False}),
        ("POST", "http://h/v3/chat", {"bot_id": "b"}),
        id="coze: a field away from its default counts",
    ),
    pytest.param(
        ("POST", "http://h/v3/chat", {"bot_id": "b", "auto_save_history": 1}),
        ("POST", "http://h/v3/chat", {"bot_id": "b"}),
        id="coze: 1 is not the boolean default",
    ),
    pytest.param(
        ("POST", "http://h/v3/chat", {"bot_id": "b", "additional_messages": [COZE_MESSAGE]}),
        ("POST", "http://h/v3/chat", {"bot_id": "b"}),
        id="coze: messages count",
    ),
    pytest.param(
        ("POST", "http://h/v1/conversation/create", {"auto_save_history": True}),
        ("POST", "http://h/v1/conversation/create", {}),
        id="coze: defaults are per route",
    ),
    pytest.param(
        ("GET", "http://h/some/other/api?x=", None),
        ("GET", "http://h/some/other/api", None),
        id="no provider: an empty query value still counts",
    ),
    pytest.param(
        ("POST", "http://h/v1/threads/t/runs", '{"assistant_id":"a","temperature":1.5}'),
        ("POST", "http://h/v1/threads/t/runs", '{"assistant_id":"a","temperature":1}'),
        id="number forms: different numbers",
    ),
    pytest.param(
        ("POST", "http://h/v1/threads/t/runs", '{"assistant_id":"a","parallel_tool_calls":true}'),
        ("POST", "http://h/v1/threads/t/runs", '{"assistant_id":"a","parallel_tool_calls":1}'),
        id="number forms: true is not 1",
    ),
]


@pytest.mark.parametrize(("one", "other"), SAME)
def test_the_same_call_from_two_languages_has_one_key(one: tuple[Any, ...], other: tuple[Any, ...]) -> None:
    assert _key(*one) == _key(*other)


@pytest.mark.parametrize(("one", "other"), DIFFERENT)
def test_different_calls_keep_different_keys(one: tuple[Any, ...], other: tuple[Any, ...]) -> None:
    assert _key(*one) != _key(*other)


def test_matched_header_names_are_case_insensitive() -> None:
    config = MatchConfig(match_headers=("OpenAI-Beta",), call_rules=call_rules)
    python = make_key(Request("GET", "http://h/v1/threads/t", Headers([("OpenAI-Beta", "assistants=v2")])), config)
    node = make_key(Request("GET", "http://h/v1/threads/t", Headers([("openai-beta", "assistants=v2")])), config)
    older = make_key(Request("GET", "http://h/v1/threads/t", Headers([("OPENAI-BETA", "assistants=v1")])), config)
    assert python == node != older


# ---------------------------------------------------------------------------- end to end


def _cozepy_create(base_url: str) -> dict[str, Any]:
    coze = cozepy.Coze(auth=cozepy.TokenAuth("pat_test"), base_url=base_url)
    chat = coze.chat.create(
        bot_id=BOT,
        user_id="u1",
        additional_messages=[cozepy.Message.build_user_question_text("Hello there")],
        parameters={"temperature": 1.0},
    )
    return chat.model_dump()


def _coze_js_create(base_url: str) -> dict[str, Any]:
    # What coze-js 1.3.9 sends for chat.create: no ?conversation_id= for a new conversation, no
    # auto_save_history, its own key order, and 1.0 written as 1 (JavaScript numbers).
    body = (
        '{"user_id":"u1","bot_id":"' + BOT + '","additional_messages":[{"content":"Hello there",'
        '"content_type":"text","role":"user","type":"question"}],"parameters":{"temperature":1},"stream":false}'
    )
    reply = httpx.post(
        f"{base_url}/v3/chat",
        content=body,
        headers={"Content-Type": "application/json", "Authorization": "Bearer pat_test"},
    )
    reply.raise_for_status()
    data: dict[str, Any] = json.loads(reply.text)["data"]
    return data


@pytest.mark.parametrize(
    ("record", "replay"), [(_cozepy_create, _coze_js_create), (_coze_js_create, _cozepy_create)], ids=["py-js", "js-py"]
)
def test_a_coze_chat_recorded_in_one_language_replays_to_the_other(tmp_path: Path, record: Any, replay: Any) -> None:
    cassette = tmp_path / "chat.json"
    with Emulator(port=0, phase_seconds=0.05) as emulator, use_cassette(cassette, record_mode="once") as rec:
        recorded = record(emulator.url("coze"))
    assert len(rec.recorded) == 1
    with use_cassette(cassette, record_mode="none") as session:
        replayed = replay(OFFLINE)
    assert session.replayed_count == 1
    assert replayed["id"] == recorded["id"]
    assert replayed["conversation_id"] == recorded["conversation_id"]
