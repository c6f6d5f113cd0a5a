"""Request matching: what counts, what does not, and the order repeated requests are served in."""

from __future__ import annotations

import pytest

from runreplay.cassette import Body, Headers, Interaction, Request, Response
from runreplay.engine.matching import Matcher, make_key
from runreplay.errors import ConfigError
from runreplay.options import MatchConfig
from runreplay.providers import check_match_headers


def _req(method: str, url: str, body: Body | None = None, headers: list[tuple[str, str]] | None = None) -> Request:
    return Request(method, url, Headers(headers or []), body or Body.empty())


def _key(request: Request, config: MatchConfig | None = None):  # type: ignore[no-untyped-def]
    return make_key(request, config or MatchConfig())


def _matcher(*pairs: tuple[Request, dict], config: MatchConfig | None = None) -> Matcher:  # type: ignore[type-arg]
    items = [Interaction(req, Response(200, body=Body.json(resp))) for req, resp in pairs]
    return Matcher(items, config or MatchConfig())


def test_host_port_and_volatile_headers_do_not_count() -> None:
    recorded = _req(
        "GET",
        "https://api.openai.com/v1/threads/t/runs/r",
        headers=[("User-Agent", "OpenAI/Python 1.14.3"), ("X-Stainless-Retry-Count", "0"), ("Authorization", "x")],
    )
    replayed = _req(
        "get",
        "http://127.0.0.1:5555/v1/threads/t/runs/r",
        headers=[("User-Agent", "OpenAI/Python 3.54.0"), ("X-Stainless-Retry-Count", "2"), ("X-Stainless-Os", "Linux")],
    )
    assert _key(recorded) == _key(replayed)
    assert _key(recorded, MatchConfig(match_host=True)) != _key(replayed, MatchConfig(match_host=True))


def test_query_is_decoded_and_sorted() -> None:
    a = _req("GET", "/v3/chat/retrieve?conversation_id=c%201&chat_id=x")
    b = _req("GET", "/v3/chat/retrieve?chat_id=x&conversation_id=c+1")
    assert _key(a) == _key(b)
    assert _key(a) != _key(_req("GET", "/v3/chat/retrieve?chat_id=y&conversation_id=c+1"))


def test_json_body_key_order_nulls_and_stream_false_are_normalised() -> None:
    recorded = _req("POST", "/v3/chat", Body.json({"bot_id": "b", "user_id": "u", "stream": False}))
    cozepy_style = _req(
        "POST", "/v3/chat", Body.text('{"user_id": "u", "bot_id": "b", "custom_variables": null, "meta_data": null}')
    )
    assert _key(recorded) == _key(cozepy_style)
    streamed = _req("POST", "/v3/chat", Body.json({"bot_id": "b", "user_id": "u", "stream": True}))
    assert _key(recorded) != _key(streamed)


def test_a_text_body_of_json_too_deep_to_parse_matches_as_text() -> None:
    # Recording stores JSON nested past the body limit as text; matching must not recurse into it.
    deep = "[" * 3000 + "]" * 3000
    key = _key(_req("POST", "/v1/x", Body.text(deep)))
    assert key.body == deep
    assert key != _key(_req("POST", "/v1/x", Body.text("[" * 2999 + "]" * 2999)))


def test_ignored_json_paths_with_wildcards() -> None:
    config = MatchConfig(ignore_json_paths=("$.metadata.trace", "$.messages[*].id"))
    a = _req("POST", "/v1/x", Body.json({"metadata": {"trace": 1, "k": "v"}, "messages": [{"id": 1, "t": "hi"}]}))
    b = _req("POST", "/v1/x", Body.json({"metadata": {"trace": 2, "k": "v"}, "messages": [{"id": 9, "t": "hi"}]}))
    c = _req("POST", "/v1/x", Body.json({"metadata": {"trace": 2, "k": "w"}, "messages": [{"id": 9, "t": "hi"}]}))
    assert _key(a, config) == _key(b, config)
    assert _key(a, config) != _key(c, config)
    assert _key(a) != _key(b)


def test_match_headers_option_and_refusal_of_volatile_ones() -> None:
    config = MatchConfig(match_headers=("openai-beta",))
    v1 = _req("GET", "/v1/threads/t/runs", headers=[("OpenAI-Beta", "assistants=v1")])
    v2 = _req("GET", "/v1/threads/t/runs", headers=[("OpenAI-Beta", "assistants=v2")])
    assert _key(v1, config) != _key(v2, config)
    assert _key(v1) == _key(v2)
    with pytest.raises(ConfigError, match="volatile"):
        MatchConfig(match_headers=("User-Agent",))
    with pytest.raises(ConfigError, match=r"'x-stainless-os' is volatile \(OpenAI Assistants SDKs vary it\)"):
        check_match_headers(["x-stainless-os"])
    with pytest.raises(ConfigError, match="volatile"):
        check_match_headers(["X-Coze-Client-User-Agent"])
    check_match_headers(["openai-beta"])


def test_repeated_requests_are_served_in_order_then_the_last_repeats() -> None:
    poll = _req("GET", "/v1/threads/t/runs/r")
    matcher = _matcher((poll, {"status": "queued"}), (poll, {"status": "in_progress"}), (poll, {"status": "completed"}))
    key = _key(poll)
    served = [matcher.interactions[matcher.take(key)].response.body.value["status"] for _ in range(5)]  # type: ignore[index]
    assert served == ["queued", "in_progress", "completed", "completed", "completed"]
    assert matcher.used == {0, 1, 2}


def test_miss_explanation_shows_the_request_and_a_diff_of_the_closest() -> None:
    matcher = _matcher(
        (_req("POST", "/v1/threads/t/runs", Body.json({"assistant_id": "asst_1"})), {}),
        (_req("GET", "/v1/threads/t/runs/r"), {}),
    )
    message = matcher.explain_miss(
        _key(_req("POST", "/v1/threads/t/runs", Body.json({"assistant_id": "asst_2"}))), "c.json"
    )
    assert "no recorded interaction in c.json" in message
    assert '-  "assistant_id": "asst_1"' in message
    assert '+  "assistant_id": "asst_2"' in message
    # the closest candidate (same method and path) is listed first
    assert message.index("interaction #0") < message.index("interaction #1")
