"""The shortcuts replay takes for speed must give exactly what the slow paths give."""

from __future__ import annotations

import json
import math
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from runreplay import Session, _json
from runreplay.cassette import (
    Body,
    Cassette,
    Headers,
    Interaction,
    Request,
    Response,
    encode_body,
    load,
    save,
    split_url,
)
from runreplay.engine._recent import Recent
from runreplay.engine.scrub import Scrubber
from runreplay.scrub_rules import ScrubRules, rules_from_table

# ---------------------------------------------------------------------------- JSON


@pytest.mark.parametrize("large", [False, True])
def test_values_orjson_cannot_carry_round_trip_through_a_cassette(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, large: bool
) -> None:
    if large:  # read as a big file is: by the standard library, from text
        monkeypatch.setattr(_json, "LARGE", 10)
    # Beyond 64 bits orjson reads floats; NaN it writes as null. Both must come back as they were.
    huge = 2**70 + 1
    path = tmp_path / "c.json"
    path.write_text(
        json.dumps(
            {
                "format": 1,
                "interactions": [
                    {
                        "request": {"method": "GET", "url": "https://x/v1/a", "headers": {}, "body": None},
                        "response": {
                            "status": 200,
                            "headers": {"content-type": "application/json"},
                            "body": {"json": {"big": huge, "nan": "SENTINEL", "ok": 1.5}},
                        },
                    }
                ],
            }
        ).replace('"SENTINEL"', "NaN"),
        encoding="utf-8",
    )
    body = load(path).interactions[0].response.body
    assert body.value["big"] == huge and isinstance(body.value["big"], int)
    assert math.isnan(body.value["nan"])
    served = encode_body(body)
    assert served == f'{{"big":{huge},"nan":NaN,"ok":1.5}}'.encode()


@given(
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers(-(2**80), 2**80)
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
        max_leaves=20,
    )
)
def test_fast_json_reads_back_what_the_standard_library_reads(value: object) -> None:
    encoded = _json.dumps(value)
    assert json.loads(encoded) == json.loads(json.dumps(value))
    assert _json.loads(encoded) == json.loads(encoded)


def test_json_errors_keep_the_standard_librarys_wording_and_place(tmp_path: Path) -> None:
    with pytest.raises(json.JSONDecodeError) as caught:
        _json.loads(b'{"a": 1,\n "b": }')
    assert (caught.value.msg, caught.value.lineno, caught.value.colno) == ("Expecting value", 2, 7)
    with pytest.raises(ValueError, match="NaN is not JSON"):
        _json.loads("NaN", nonfinite=False)


# ---------------------------------------------------------------------------- URLs


@pytest.mark.parametrize(
    "url",
    [
        "https://api.openai.com/v1/threads/thread_1/runs/run_1",
        "http://127.0.0.1:8000/v3/chat/retrieve?chat_id=1&conversation_id=2",
        "https://api.openai.com",
        "https://[::1]:8080/v1/x",
        "HTTPS://API.openai.com/v1/x",
        "https://host/a b",
        "https://host/p#frag",
        "ftp://host/file",
        "/relative/path",
        "https://host/caf\u00e9",
    ],
)
def test_split_url_equals_urlsplit(url: str) -> None:
    assert split_url(url) == urlsplit(url)
    assert split_url(url) == urlsplit(url)  # the memoised answer too


@given(st.text(alphabet=st.sampled_from("ab/:?#[]%. \t\u00e9"), max_size=30))
def test_split_url_equals_urlsplit_for_any_text(tail: str) -> None:
    for url in ("https://h/" + tail, "http://" + tail):
        try:
            expected = urlsplit(url)
        except ValueError:
            with pytest.raises(ValueError):
                split_url(url)
            continue
        assert split_url(url) == expected


# ---------------------------------------------------------------------------- the memo


def test_recent_forgets_everything_when_full() -> None:
    memo: Recent[str, int] = Recent(limit=2)
    memo.put("a", 1)
    memo.put("b", 2)
    assert (memo.get("a"), len(memo)) == (1, 2)
    memo.put("c", 3)
    assert (memo.get("a"), memo.get("c"), len(memo)) == (None, 3, 1)


# ---------------------------------------------------------------------------- scrubbing


@pytest.mark.parametrize(
    "text",
    [
        "Bearer sk-proj-abcdefghijklmnopqrstuvwx1234",
        "token=pat_abcdefghijklmnopqrstuvwxyz and sat_ABCDEFGHIJKLMNOPQRSTUVWX",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "AKIAIOSFODNN7EXAMPLE in a log line",
        "Bearer abcdefghijklmnopqrstuvwx",
        "/v1/threads/thread_abc/runs/run_abc",
    ],
)
def test_skipping_shapes_by_their_literals_scrubs_exactly_as_every_pattern_would(text: str) -> None:
    rules = ScrubRules()
    skipping = Scrubber(rules).text(text)
    every = text
    slow = Scrubber(rules)
    for kind, pattern in rules.patterns:
        import re

        every = re.sub(pattern, lambda m, kind=kind: slow.pseudonym(m.group(0), kind), every)
    assert skipping == every


def test_configured_patterns_are_always_applied() -> None:
    rules = rules_from_table({"patterns": {"ticket": r"TCK-\d{6}"}}, "test")
    assert "TCK-123456" not in Scrubber(rules).text("see TCK-123456")


def test_a_learnt_value_refreshes_what_replay_remembered_of_a_request(tmp_path: Path) -> None:
    # A scrubbed JSON path teaches the scrubber a value; the same URL seen before and after
    # must be matched in its new, scrubbed form, not the remembered one.
    rules = rules_from_table({"json_paths": ["$..user_id"]}, "test")
    scrubber = Scrubber(rules)
    learn = Request(
        "POST",
        "https://api.coze.com/v3/chat",
        Headers([("content-type", "application/json")]),
        Body.json({"user_id": "alice-1234", "bot_id": "b"}),
    )
    url = "https://api.coze.com/v1/users/alice-1234"
    recorded_url = scrubber.url(scrubber.request(learn).url) and scrubber.url(url)
    assert "alice-1234" not in recorded_url

    def ok(request: Request) -> Interaction:
        return Interaction(request, Response(200, Headers([("content-type", "application/json")]), Body.json({})))

    cassette = Cassette(
        interactions=[
            ok(Request("GET", "https://api.coze.com/v1/users/alice-1234")),
            ok(scrubber.request(learn)),
            ok(Request("GET", recorded_url)),
        ]
    )
    path = tmp_path / "learn.json"
    save(cassette, path)
    session = Session(path, scrub=rules, unused="ignore", virtual_clock=False)
    with session, httpx.Client(transport=httpx.HTTPTransport()) as client:
        client.get(url)  # before the value is known: served the raw-looking recording
        client.post("https://api.coze.com/v3/chat", json={"user_id": "alice-1234", "bot_id": "b"})
        client.get(url)  # now it must be matched in its scrubbed form
    assert sorted(session.matcher.used) == [0, 1, 2]


@pytest.mark.parametrize(
    ("text", "huge"),
    [
        (b'{"a": 123456789012345678901}', True),
        (b"[1, -123456789012345678901]", True),
        (b"123456789012345678901", True),
        (b'{"id": "req_b7b16ecf8ca53723593894116071700c"}', False),
        (b'{"a": 1234567890123456789}', False),  # 19 digits: within 64 bits
        (b'{"a": "x", "b": [12345678901234567890123, 1]}', True),
    ],
)
def test_documents_that_may_hold_huge_integers_are_told_apart(text: bytes, huge: bool) -> None:
    assert _json._may_hold_huge_integer(text) is huge
    assert _json.loads(text) == json.loads(text)


def test_requests_are_scrubbed_for_matching_only_when_the_cassette_holds_pseudonyms(tmp_path: Path) -> None:
    url = "https://api.openai.com/v1/files?api_key=raw-secret-value"

    def cassette(recorded_url: str) -> Path:
        path = tmp_path / f"{len(list(tmp_path.iterdir()))}.json"
        reply = Response(200, Headers([("content-type", "application/json")]), Body.json({"object": "list"}))
        return save(Cassette(interactions=[Interaction(Request("GET", recorded_url), reply)]), path)

    # Recorded without scrubbing: the request matches as it is.
    with Session(cassette(url), validate="off"), httpx.Client() as client:
        assert client.get(url).json() == {"object": "list"}
    # Recorded scrubbed: the request matches once scrubbed the same way.
    scrubbed = Scrubber().url(url)
    assert "raw-secret-value" not in scrubbed
    with Session(cassette(scrubbed), validate="off"), httpx.Client() as client:
        assert client.get(url).json() == {"object": "list"}
