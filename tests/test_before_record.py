"""``before_record_request`` / ``before_record_response``: the user's redaction and normalisation,
applied to each interaction after runreplay's scrubbing and before it is written."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from _servers import Handler, serve

from runreplay import ConfigError, Request, Response, load, use_cassette

SECRET = "sk-proj-" + "Z4k" * 12


class _Echo(Handler):
    """Answers a POST with a status, the customer's e-mail and the fields it was sent."""

    def do_POST(self) -> None:
        sent = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)))
        body = {"status": "in_progress", "email": "ada@example.com", "fields": sorted(sent)}
        self.reply("application/json", json.dumps(body).encode())


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serve(_Echo) as url:
        yield url


def _post(url: str, **body: object) -> dict[str, object]:
    headers = {"x-trace-id": "trace-123", "authorization": f"Bearer {SECRET}"}
    return dict(httpx.post(url + "/v1/things", json=body, headers=headers).json())


def normalise_request(request: Request) -> Request:
    assert SECRET not in json.dumps(request.to_json())  # hooks see the scrubbed interaction
    request.headers.remove("x-trace-id")
    request.body.value["nonce"] = "<nonce>"
    return request


def redact_response(response: Response) -> Response:
    response.body.value["email"] = "<email>"
    return response


def test_hooks_change_what_is_written_and_the_test_sees_the_real_reply(tmp_path: Path, server: str) -> None:
    path = tmp_path / "hooked.json"
    with use_cassette(
        path, record_mode="once", before_record_request=normalise_request, before_record_response=redact_response
    ):
        assert _post(server, nonce="n-4711")["email"] == "ada@example.com"
    (interaction,) = load(path).interactions
    assert interaction.request.body.value["nonce"] == "<nonce>"
    assert "x-trace-id" not in interaction.request.headers
    assert interaction.response.body.value["email"] == "<email>"
    assert interaction.response.body.value["status"] == "in_progress"  # untouched fields stay
    on_disk = path.read_text(encoding="utf-8")
    assert "n-4711" not in on_disk and "ada@example.com" not in on_disk and SECRET not in on_disk


def test_none_leaves_an_interaction_out(tmp_path: Path, server: str) -> None:
    path = tmp_path / "dropped.json"

    def skip_health(request: Request) -> Request | None:
        return None if request.body.value.get("kind") == "health" else request

    with use_cassette(path, record_mode="once", before_record_request=skip_health):
        _post(server, kind="health")
        _post(server, kind="work")
    assert [i.request.body.value["kind"] for i in load(path).interactions] == ["work"]


def test_a_secret_a_hook_puts_back_is_scrubbed(tmp_path: Path, server: str) -> None:
    path = tmp_path / "leaky.json"

    def leak(response: Response) -> Response:
        response.body.value["note"] = f"key {SECRET}"
        return response

    with use_cassette(path, record_mode="once", before_record_response=leak):
        _post(server)
    note = load(path).interactions[0].response.body.value["note"]
    assert note.startswith("key scrubbed-") and SECRET not in path.read_text(encoding="utf-8")


def test_a_hook_must_return_the_same_kind_or_none(tmp_path: Path, server: str) -> None:
    wrong = r"before_record_response must return a runreplay\.Response or None, not dict"
    hooked = use_cassette(tmp_path / "bad.json", record_mode="once", before_record_response=lambda r: r.to_json())
    with pytest.raises(ConfigError, match=wrong), hooked:
        _post(server)
    with pytest.raises(ConfigError, match="before_record_request must be a function"):
        use_cassette(tmp_path / "bad.json", record_mode="once", before_record_request="redact").__enter__()
