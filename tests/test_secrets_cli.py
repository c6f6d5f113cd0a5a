"""Secrets and the command line: `import` scrubs by default, `scrub --check` and `show` read every
format `import` reads, `scrub` refuses to rewrite another tool's file, and what the scrubber does
with URL passwords, binary bodies, meta and timelines, named values and short secrets."""

from __future__ import annotations

import base64
import gzip
import json
import random
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from _paths import DATA, TRAFFIC
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from runreplay.cassette import Body, Cassette, Headers, Interaction, Request, Response, dumps, load, save
from runreplay.cli import main
from runreplay.engine.scrub import Scrubber, find_secrets
from runreplay.scrub_rules import PSEUDONYM, secret_name

ASSISTANTS = TRAFFIC / "openai-assistants"
#: Real values the recorders left in clear (a Cloudflare cookie, an organization id).
COOKIE = "_cxjcKYtdaecwRr3184IZ.gWiSG5ORk6GgMa1tjp2pc-1711572391"
#: Planted secrets are built from pieces, so that no whole credential-shaped literal sits in the source.
KEY = "sk-proj-" + "Zq8Lr2Xw9Vb4Nc7Md1Fg6Hj3Kp5Tt0Yy"


def _vcr_yaml(tmp_path: Path, body: dict[str, Any], url: str = "https://api.openai.com/v1/threads") -> Path:
    """A VCR.py cassette holding ``body`` as its request."""
    doc = {
        "version": 1,
        "interactions": [
            {
                "request": {
                    "method": "POST",
                    "uri": url,
                    "body": json.dumps(body),
                    "headers": {"Content-Type": ["application/json"], "Authorization": [f"Bearer {KEY}"]},
                },
                "response": {
                    "status": {"code": 200, "message": "OK"},
                    "headers": {"Content-Type": ["application/json"]},
                    "body": {"string": json.dumps({"id": "thread_abc123", "object": "thread"})},
                },
            }
        ],
    }
    path = tmp_path / "vcr" / "leaky.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc))
    return path


# ---------------------------------------------------------------------------- import


def test_import_scrubs_by_default(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["import", str(ASSISTANTS), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "scrubbed" in result.output and "WARNING" not in result.output
    written = "".join(p.read_text() for p in (tmp_path / "out").glob("*.json"))
    for real in (COOKIE, "user-xzxbylwbsz2obysv34wdfreh", "traceloop"):
        assert real not in written
    assert "Sanitized" in written, "placeholders the recorders wrote are left as they are"
    check = CliRunner().invoke(main, ["scrub", "--check", str(tmp_path / "out")])
    assert check.exit_code == 0, check.output


def test_import_no_scrub_keeps_secrets_and_warns_loudly(tmp_path: Path) -> None:
    source = ASSISTANTS / "openllmetry_v1__test_new_assistant.yaml"
    result = CliRunner().invoke(main, ["import", "--no-scrub", str(source), "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "WARNING" in result.stderr and "--no-scrub" in result.stderr and "runreplay scrub" in result.stderr
    assert "NOT scrubbed" in result.stdout
    assert COOKIE in (tmp_path / f"{source.stem}.json").read_text()
    assert CliRunner().invoke(main, ["scrub", "--check", str(tmp_path)]).exit_code == 1


def test_import_scrubs_a_planted_key_in_every_part(tmp_path: Path) -> None:
    source = _vcr_yaml(tmp_path, {"messages": [{"role": "user", "content": f"my key {KEY}"}], "password": "hunter2x"})
    result = CliRunner().invoke(main, ["import", str(source), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "out" / "leaky.json").read_text()
    assert KEY not in text and KEY[8:] not in text and "hunter2x" not in text
    assert "scrubbed-password-" in text and "scrubbed-openai_key-" in text


# ---------------------------------------------------------------------------- other tools' recordings


@pytest.mark.parametrize(
    "source",
    [
        ASSISTANTS / "openllmetry_v1__test_new_assistant.yaml",  # VCR.py
        ASSISTANTS / "ruby-openai__runs_create.yml",  # Ruby vcr
        ASSISTANTS / "lemur_v1__runs.yml",  # R vcr
        ASSISTANTS / "openai-dotnet__StreamingToolCall.json",  # Azure test-proxy
        DATA / "openai_run_poll_stream.har",  # HAR
    ],
    ids=lambda p: p.name,
)
def test_check_and_show_read_every_format_import_reads(source: Path) -> None:
    runner = CliRunner()
    shown = runner.invoke(main, ["show", str(source)])
    assert shown.exit_code == 0, shown.output
    check = runner.invoke(main, ["scrub", "--check", str(source)])
    assert check.exit_code in (0, 1), check.output
    assert "Traceback" not in check.output


def test_check_finds_a_secret_in_a_vcr_cassette_and_scrub_refuses_to_rewrite_it(tmp_path: Path) -> None:
    source = _vcr_yaml(tmp_path, {"note": f"key {KEY}"})
    before = source.read_bytes()
    runner = CliRunner()
    check = runner.invoke(main, ["scrub", "--check", str(source.parent)])
    assert check.exit_code == 1
    assert "request.body.json.note: openai_key" in check.output
    assert "request.headers.authorization: secret header authorization" in check.output
    assert KEY not in check.output
    refused = runner.invoke(main, ["scrub", str(source.parent)])
    assert refused.exit_code == 2
    assert "vcrpy recording, not a runreplay cassette" in refused.output and "runreplay import" in refused.output
    assert len(refused.output.strip().splitlines()) == 1, "one paragraph"
    assert source.read_bytes() == before


def test_scrub_of_a_mixed_folder_writes_nothing_when_it_refuses(tmp_path: Path) -> None:
    leaky = Cassette([Interaction(Request("GET", f"https://api.example.com/v1/x?token={KEY}"), Response(200))])
    cassette = save(leaky, tmp_path / "a.json")
    before = cassette.read_bytes()
    shutil.copy(DATA / "openai_run_poll_stream.har", tmp_path / "z.har")
    result = CliRunner().invoke(main, ["scrub", str(tmp_path)])
    assert result.exit_code == 2 and "z.har" in result.output
    assert cassette.read_bytes() == before


# ---------------------------------------------------------------------------- places and encodings


def _cassette(*interactions: Interaction, **kw: Any) -> Cassette:
    return Cassette(list(interactions), **kw)


def test_url_userinfo_is_scrubbed_so_the_pre_commit_hook_can_go_green(tmp_path: Path) -> None:
    url = "https://deploy:Sup3rS3cretPassw0rd@git.example.com/v1/x?password=hunter2xyz&client_secret=cs_abc123def"
    path = save(_cassette(Interaction(Request("GET", url), Response(200))), tmp_path / "u.json")
    runner = CliRunner()
    check = runner.invoke(main, ["scrub", "--check", str(path)])
    assert check.exit_code == 1
    assert check.output.count("request.url") == 3, check.output
    assert runner.invoke(main, ["scrub", str(path)]).exit_code == 0
    assert runner.invoke(main, ["scrub", "--check", str(path)]).exit_code == 0
    stored = load(path).interactions[0].request.url
    for secret in ("Sup3rS3cretPassw0rd", "hunter2xyz", "cs_abc123def"):
        assert secret not in stored
    assert stored.startswith("https://deploy:scrubbed-password-") and "@git.example.com/v1/x?" in stored
    assert "password=scrubbed-password-" in stored and "client_secret=scrubbed-client_secret-" in stored


def test_binary_bodies_text_like_get_pseudonyms_opaque_get_masked_compressed_get_recompressed() -> None:
    opaque = b"\x00\x01\x02PNG\xff\xfe" * 40 + KEY.encode() + b"\x00\x9c" * 40
    text_like = f"Caf\xe9: {KEY}\n".encode("latin-1")
    packed = gzip.compress(json.dumps({"note": KEY}).encode(), mtime=99)
    bodies = [Body.binary(opaque), Body.binary(text_like), Body.binary(packed)]
    cassette = _cassette(*(Interaction(Request("POST", "https://x.example/v1", body=b), Response(200)) for b in bodies))
    kinds = [f.kind for f in find_secrets(cassette)]
    assert kinds == [
        "openai_key in opaque binary body",
        "openai_key in text-like binary body",
        "openai_key in gzip-compressed text-like binary body",
    ]
    Scrubber().cassette(cassette)
    masked, named, recompressed = (bytes(i.request.body.value) for i in cassette)
    assert len(masked) == len(opaque) and b"scrubbed-" + b"*" * (len(KEY) - 9) in masked
    assert KEY.encode() not in masked
    assert b"scrubbed-openai_key-" in named and named.startswith(b"Caf\xe9: ")
    assert KEY.encode() not in gzip.decompress(recompressed) and b"scrubbed-openai_key-" in gzip.decompress(
        recompressed
    )
    assert find_secrets(cassette) == []
    again = Scrubber().cassette(cassette)
    assert [bytes(i.request.body.value) for i in again] == [masked, named, recompressed], "stable, idempotent"


def test_meta_and_timelines_are_checked_and_scrubbed(tmp_path: Path) -> None:
    cassette = _cassette(
        Interaction(Request("GET", "https://api.example.com/v1/models"), Response(200)),
        meta={"command": f"deploy --token {KEY}", "env": {"GITHUB_TOKEN": "ghp_" + "a1B2c3D4e5" * 4}},
        timelines=[{"key": "run_1", "states": ["queued"], "note": {"client_secret": "abcdefgh12345678"}}],
    )
    path = save(cassette, tmp_path / "m.json")
    check = CliRunner().invoke(main, ["scrub", "--check", str(path)])
    assert check.exit_code == 1
    assert "at $.meta.command: openai_key" in check.output
    assert "at $.meta.env.GITHUB_TOKEN: github_token" in check.output
    assert "at $.timelines[0].note.client_secret: client_secret" in check.output
    assert CliRunner().invoke(main, ["scrub", str(path)]).exit_code == 0
    text = path.read_text()
    assert KEY not in text and "a1B2c3D4e5" not in text and "abcdefgh12345678" not in text
    assert find_secrets(load(path)) == []


def test_named_values_and_what_is_not_a_secret() -> None:
    body = {
        "password": "hunter22",
        "clientSecret": "cs-123456789",
        "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY",
        "headers": {"X-Auth-Token": "tok-0123456789"},
        "usage": {"total_tokens": 19, "max_tokens": 100},
        "next_page_token": "CiAKGjBpNDd2",
        "password_required": True,
        "token_type": "bearer",
        "publishable": "pk_live_51Habcdefghijklmnopqrstuv",
        "api_key": "<OPENAI_API_KEY>",
    }
    scrubbed = Scrubber().json(body)
    for key in ("password", "clientSecret", "AWS_SECRET_ACCESS_KEY"):
        assert PSEUDONYM.fullmatch(scrubbed[key]), key
    assert PSEUDONYM.fullmatch(scrubbed["headers"]["X-Auth-Token"])
    for key in ("usage", "next_page_token", "password_required", "token_type", "publishable", "api_key"):
        assert scrubbed[key] == body[key], key
    assert secret_name("max_tokens") is None and secret_name("x-ratelimit-remaining-tokens") is None
    assert secret_name("Ocp-Apim-Subscription-Key") == "ocp_apim_subscription_key"
    for name in ("AZURE_OPENAI_KEY", "AZURE_STORAGE_KEY", "AccountKey", "x-functions-key", "private-token"):
        assert secret_name(name), name
    for name in ("cache_key", "idempotency_key", "keyword", "monkey", "sort_key", "tokenizer", "token_count"):
        assert secret_name(name) is None, name


def test_the_same_value_gets_the_same_pseudonym_in_every_place() -> None:
    secret = "s3cr3t-Value-0123456789"
    request = Request(
        "POST",
        f"https://api.example.com/oauth?client_secret={secret}",
        Headers([("x-client-secret", secret), ("content-type", "application/x-www-form-urlencoded")]),
        Body.text(f"grant_type=client_credentials&client_secret={secret}"),
    )
    first = Scrubber().request(request)
    second = Scrubber().for_matching(request)  # at replay: a fresh scrubber, headers left out
    made = Scrubber().pseudonym(secret, "client_secret")
    assert first.url.endswith(f"client_secret={made}") and first.url == second.url
    assert first.headers.get("x-client-secret") == made
    assert first.body.value == second.body.value == f"grant_type=client_credentials&client_secret={made}"


def test_reports_never_print_a_secret_in_full(tmp_path: Path) -> None:
    short = "hunter22"
    cassette = _cassette(
        Interaction(Request("POST", "https://x.example/v1", body=Body.json({"pwd": short})), Response(200))
    )
    path = save(cassette, tmp_path / "s.json")
    result = CliRunner().invoke(main, ["scrub", "--check", str(path)])
    assert result.exit_code == 1 and "request.body.json.pwd: pwd 'hu...2'" in result.output
    assert short not in result.output


# ---------------------------------------------------------------------------- idempotence

_SECRETS = st.sampled_from(
    [
        KEY,
        "ghp_" + "Ab3" * 12,
        "xoxb-" + "1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUvWx",
        "AKIA" + "ABCDEFGHIJKLMNOP",
        "AIza" + "Xy9_" * 8 + "abc",
        "sk_live_" + "a1" * 12,
        "hf_" + "AbCd" * 9,
        "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEI" + "Qk" * 30 + "\n-----END EC PRIVATE KEY-----",
        "password=Tr0ub4dor!x",
        "https://u:p4ssw0rd!x@h.example/",
    ]
)
_FILLER = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20)
_TEXTS = st.builds(lambda a, s, b: f"{a} {s}\n{b}", _FILLER, _SECRETS, _FILLER)
_JSON = st.recursive(
    _TEXTS | _FILLER | st.integers(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["a", "token", "note"]), inner),
    max_leaves=6,
)


@settings(max_examples=150, deadline=None)
@given(value=_JSON)
def test_scrubbing_is_idempotent_and_leaves_nothing_to_find(value: Any) -> None:
    body = Body.json(value)
    cassette = _cassette(Interaction(Request("POST", "https://x.example/v1", body=body), Response(200)))
    once = dumps(Scrubber().cassette(cassette))
    assert find_secrets(cassette) == [], once
    assert dumps(Scrubber().cassette(cassette)) == once
    for secret in ("Zq8Lr2Xw9Vb4Nc7Md1Fg6Hj3Kp5Tt0Yy", "Ab3Ab3Ab3Ab3", "AbCdEfGhIjKlMnOp", "Tr0ub4dor", "p4ssw0rd"):
        assert secret not in once
    encoded = base64.b64encode(json.dumps(value).encode()).decode()
    assert encoded not in once


def test_exact_streams_keep_their_bytes_scrubbed(tmp_path: Path) -> None:
    """`import --exact` keeps each SSE event's bytes: they are scrubbed like its fields, so the event
    still replays from them when nothing else changed."""
    event = json.dumps(
        {"id": "msg_1", "delta": {"content": [{"text": {"value": f"key {KEY}"}}]}, "password": "pw12345678"}
    )
    stream = f"event: thread.message.delta\ndata: {event}\n\nevent: done\ndata: [DONE]\n\n"
    doc = {
        "interactions": [
            {
                "request": {
                    "method": "POST",
                    "uri": "https://api.openai.com/v1/threads/runs",
                    "body": "{}",
                    "headers": {},
                },
                "response": {
                    "status": {"code": 200, "message": "OK"},
                    "headers": {"Content-Type": ["text/event-stream"]},
                    "body": {"string": stream},
                },
            }
        ]
    }
    source = tmp_path / "stream.yaml"
    source.write_text(yaml.safe_dump(doc))
    result = CliRunner().invoke(main, ["import", "--exact", str(source), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "out" / "stream.json").read_text()
    assert KEY not in text and "pw12345678" not in text
    (interaction,) = load(tmp_path / "out" / "stream.json").interactions
    first = interaction.response.body.events[0]
    assert first.raw is not None and "scrubbed-openai_key-" in first.raw and "scrubbed-password-" in first.raw
    assert first.data["password"] in first.raw, "the bytes and the fields carry the same pseudonyms"


@pytest.mark.parametrize(
    "text",
    [
        "password=" * 30000,
        "max_tokens=" * 30000,
        'name="' * 30000,
        '-----BEGIN PRIVATE KEY-----\n"' * 10000,
        "aws secret" + " " * 100000 + "x",
        "://a:" * 50000,
        "a=b&" + "&".join("c" * 20 for _ in range(5000)) + " x",
    ],
    ids=["password", "max_tokens", "multipart", "pem", "aws", "userinfo", "form"],
)
def test_no_input_makes_scrubbing_quadratic(text: str) -> None:
    """Text a server sends can repeat what the rules look for; each rule stays linear (a quadratic
    one takes minutes on these)."""
    start = time.perf_counter()
    Scrubber().text_body(text)
    assert time.perf_counter() - start < 5


def test_a_long_named_value_is_scrubbed_to_its_end() -> None:
    long = "".join(random.Random(3).choice("abcdefXYZ0123456789") for _ in range(5000))
    out = Scrubber().text_body(f"aws_session_token={long} next=1")
    assert long[-40:] not in out and out.endswith(" next=1")
