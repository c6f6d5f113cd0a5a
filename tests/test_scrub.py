"""Scrubbing: secrets never reach disk, pseudonyms stay stable, and cassettes still replay."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cozepy
import httpx
import pytest
from _servers import Handler, serve
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runreplay import use_cassette
from runreplay.cassette import Body, Cassette, Headers, Interaction, Request, Response, dumps, load, save
from runreplay.cli import main
from runreplay.emulator import Emulator
from runreplay.engine.scrub import Scrubber, find_secrets
from runreplay.errors import ConfigError
from runreplay.scrub_rules import PSEUDONYM, ScrubRules, load_rules
from runreplay.sse import SSEEvent

KEY = "sk-proj-Zq8Lr2Xw9Vb4Nc7Md1Fg6Hj3Kp5Tt0Yy"


class _Echo(Handler):
    """A vendor that echoes the key back in JSON and in an SSE event (as a leaky API might)."""

    def _reply(self, ctype: str, body: bytes) -> None:
        self.reply(ctype, body, ("set-cookie", f"session={KEY}; Path=/; HttpOnly"))

    def do_GET(self) -> None:
        if self.path.startswith("/stream"):
            event = json.dumps({"id": "run_1", "status": "completed", "note": f"key was {KEY}"})
            self._reply("text/event-stream", f"event: thread.run.completed\ndata: {event}\n\n".encode())
        else:
            self._reply("application/json", json.dumps({"seen": self.headers.get("authorization")}).encode())

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        self._reply("application/json", json.dumps({"echo": json.loads(body)}).encode())


@pytest.fixture
def echo() -> Iterator[str]:
    with serve(_Echo) as url:
        yield url


def _leaky_calls(base: str) -> list[Any]:
    with httpx.Client(headers={"Authorization": f"Bearer {KEY}"}) as client:
        header = client.get(f"{base}/v1/me").json()
        query = client.get(f"{base}/v1/files", params={"api_key": KEY, "limit": "2"}).json()
        body = client.post(f"{base}/v1/notes", json={"text": f"my key is {KEY}", "n": 1}).json()
        with client.stream("GET", f"{base}/stream") as response:
            stream = [line for line in response.iter_lines() if line]
    return [header, query, body, stream]


def test_a_key_in_header_query_body_and_sse_never_reaches_disk_and_still_replays(tmp_path: Path, echo: str) -> None:
    path = tmp_path / "leaky.json"
    with use_cassette(path, record_mode="once"):
        live = _leaky_calls(echo)
    assert KEY in json.dumps(live), "the vendor really echoed the key"
    raw = path.read_bytes()
    assert KEY.encode() not in raw
    assert KEY[3:].encode() not in raw  # not even the part after the prefix
    assert find_secrets(load(path)) == []
    with use_cassette(path) as session:  # the client sends the real key again: still matches
        replayed = _leaky_calls("http://127.0.0.1:9")
    assert session.unused() == []
    assert KEY not in json.dumps(replayed)
    pseudonyms = set(PSEUDONYM.findall(json.dumps(replayed)))
    assert len(pseudonyms) == 1, f"one key, one pseudonym everywhere: {pseudonyms}"


def test_pseudonyms_are_stable_across_headers_urls_and_bodies_and_ids_still_link(tmp_path: Path) -> None:
    rules = ScrubRules(json_paths=("$..user_id", "$..conversation_id", "$..id"))
    path = tmp_path / "coze.json"

    def flow(base_url: str) -> dict[str, Any]:
        coze = cozepy.Coze(auth=cozepy.TokenAuth("pat_" + "Q" * 40), base_url=base_url)
        question = [cozepy.Message.build_user_question_text("Hello")]
        polled = coze.chat.create_and_poll(
            bot_id="7350000000000plain", user_id="alice@example.com", additional_messages=question
        )
        return {"chat": polled.chat.model_dump(), "messages": [m.model_dump() for m in polled.messages or []]}

    with Emulator(port=0, phase_seconds=0.2) as emulator, use_cassette(path, record_mode="once", scrub=rules):
        recorded = flow(emulator.url("coze"))
    text = path.read_text()
    real_chat, real_conversation = recorded["chat"]["id"], recorded["chat"]["conversation_id"]
    for secret in (real_chat, real_conversation, "alice@example.com", "pat_QQQQ"):
        assert secret not in text, f"{secret} reached the cassette"
    cassette = load(path)
    create, retrieve = cassette.interactions[0], cassette.interactions[1]
    chat = create.response.body.value["data"]
    assert PSEUDONYM.fullmatch(chat["id"]) and PSEUDONYM.fullmatch(chat["conversation_id"])
    # the same pseudonym in the next request's URL, in the reply, and the user id in the request body
    assert f"chat_id={chat['id']}" in retrieve.request.url
    assert f"conversation_id={chat['conversation_id']}" in retrieve.request.url
    # a value gets the same pseudonym in every place and from every scrubber
    assert create.request.body.value["user_id"] == Scrubber(rules).pseudonym("alice@example.com", "user_id")
    tokens = {i.request.headers.get("authorization") for i in cassette}
    assert len(tokens) == 1 and PSEUDONYM.search(tokens.pop() or "")
    with use_cassette(path, scrub=rules) as session:
        replayed = flow("http://127.0.0.1:9")
    assert replayed["chat"]["id"] == chat["id"], "replay links the scrubbed ids"
    assert replayed["chat"]["status"] == "completed"
    assert session.unused() == []


# ---------------------------------------------------------------------------- --check on a corpus

SECRETS = {
    "openai_key": st.text(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=24, max_size=40
    ).map(lambda s: f"sk-proj-{s}"),
    "coze_token": st.text(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=24, max_size=40
    ).flatmap(lambda s: st.sampled_from([f"pat_{s}", f"sat_{s}"])),
    "jwt": st.tuples(*(st.binary(min_size=12, max_size=30) for _ in range(3))).map(
        lambda parts: (
            "eyJ"
            + ".eyJ".join(base64.urlsafe_b64encode(p).decode().rstrip("=") for p in parts[:2])
            + "."
            + base64.urlsafe_b64encode(parts[2]).decode().rstrip("=")
        )
    ),
    "aws_key": st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", min_size=16, max_size=16).map(lambda s: f"AKIA{s}"),
}
PLACES = ("authorization", "x-api-key", "query", "json", "nested_json", "tool_arguments", "sse", "text")


def _plant(secret: str, place: str) -> Interaction:
    url = "https://api.openai.com/v1/threads/thread_1/runs"
    req_headers = [("content-type", "application/json")]
    request_body = Body.json({"assistant_id": "asst_1"})
    response_body: Body = Body.json({"id": "run_1", "status": "queued"})
    ctype = "application/json"
    if place == "authorization":
        req_headers.append(("authorization", f"Bearer {secret}"))
    elif place == "x-api-key":
        req_headers.append(("x-api-key", secret))
    elif place == "query":
        url += f"?api_key={secret}"
    elif place == "json":
        request_body = Body.json({"assistant_id": "asst_1", "instructions": f"use {secret} please"})
    elif place == "nested_json":
        response_body = Body.json({"id": "run_1", "metadata": {"deep": [{"k": secret}]}})
    elif place == "tool_arguments":
        args = json.dumps({"token": secret})
        response_body = Body.json(
            {"required_action": {"submit_tool_outputs": {"tool_calls": [{"id": "c", "function": {"arguments": args}}]}}}
        )
    elif place == "sse":
        ctype = "text/event-stream"
        response_body = Body.sse([SSEEvent(event="thread.message.delta", data={"delta": secret}, data_is_json=True)])
    else:
        ctype = "text/plain"
        response_body = Body.text(f"token: {secret}")
    return Interaction(
        Request("POST", url, Headers(req_headers), request_body),
        Response(200, Headers([("content-type", ctype)]), response_body),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    plants=st.lists(
        st.tuples(st.sampled_from(sorted(SECRETS)).flatmap(lambda k: SECRETS[k]), st.sampled_from(PLACES)),
        min_size=1,
        max_size=6,
    )
)
def test_check_finds_every_planted_secret_and_none_after_scrubbing(plants: list[tuple[str, str]]) -> None:
    cassette = Cassette([_plant(secret, place) for secret, place in plants])
    findings = find_secrets(cassette)
    found_in = {f.interaction for f in findings}
    assert found_in == set(range(len(plants))), f"missed: {set(range(len(plants))) - found_in}"
    scrubbed = Scrubber().cassette(cassette)
    assert find_secrets(scrubbed) == []
    assert not any(secret in dumps(scrubbed) for secret, _ in plants)


def test_scrub_check_cli_lists_findings_and_exit_codes(tmp_path: Path) -> None:
    folder = tmp_path / "cassettes"
    for n, place in enumerate(PLACES):
        save(Cassette([_plant(f"sk-proj-{'A1b2C3d4' * 4}{n}", place)]), folder / f"c{n}.json")
    runner = CliRunner()
    result = runner.invoke(main, ["scrub", "--check", str(folder)])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if "interaction 0 at $.interactions[0]" in line]
    assert len({line.split(":")[0] for line in lines}) == len(PLACES), result.output
    assert "request.headers.authorization" in result.output
    assert "sse.events[0].data.delta" in result.output
    assert "A1b2C3d4A1b2C3d4" not in result.output, "reports never print a whole secret"

    dry = runner.invoke(main, ["scrub", "--dry-run", str(folder / "c0.json")])
    assert dry.exit_code == 0 and "+++" in dry.output and "scrubbed-" in dry.output
    assert runner.invoke(main, ["scrub", "--check", str(folder)]).exit_code == 1, "dry run changed nothing"

    assert runner.invoke(main, ["scrub", str(folder)]).exit_code == 0
    clean = runner.invoke(main, ["scrub", "--check", str(folder)])
    assert clean.exit_code == 0, clean.output
    assert not list(folder.glob("*.runreplay-tmp"))


def test_rule_files_are_validated_with_clear_errors(tmp_path: Path) -> None:
    project = tmp_path / "pyproject.toml"
    project.write_text('[tool.runreplay.scrub]\njson_path = ["user_id"]\n')
    with pytest.raises(
        ConfigError,
        match=r"pyproject.toml: \[tool.runreplay.scrub\]: unknown key 'json_path' \(did you mean 'json_paths'\?\)",
    ):
        load_rules(search_from=tmp_path)
    project.write_text('[tool.runreplay.scrub]\npatterns = { internal = "tok_[a-z" }\n')
    with pytest.raises(ConfigError, match="pattern 'internal' is not a valid regular expression"):
        load_rules(search_from=tmp_path)
    project.write_text(
        '[tool.runreplay.scrub]\njson_paths = ["$..user_id"]\npatterns = { internal = "tok_[a-z0-9]{16}" }\n'
    )
    rules = load_rules(search_from=tmp_path)
    assert rules.json_paths == ("$..user_id",)
    scrubbed = Scrubber(rules).text("use tok_abcdefghij012345 now")
    assert "tok_abcdefghij012345" not in scrubbed and "scrubbed-internal-" in scrubbed
    rule_file = tmp_path / "rules.toml"
    rule_file.write_text("high_entropy = 'yes'\n")
    result = CliRunner().invoke(main, ["scrub", "--check", "--rules", str(rule_file), str(tmp_path)])
    assert result.exit_code == 2
    assert "rules.toml: 'high_entropy' must be true or false" in result.output
