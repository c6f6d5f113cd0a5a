"""Azure: subscription and resource-group ids as pseudonyms, and test-proxy imports that link.

Recordings are made through requests (the transport of the Azure SDK's sync client) and
httpx against a real server on 127.0.0.1 shaped like a hub-based Azure AI Agents endpoint;
the imports read the Azure SDKs' own recordings in tests/data/real-traffic/azure-agents/.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
from _paths import TRAFFIC
from _servers import Handler, serve
from click.testing import CliRunner

from runreplay import SanitizedIdWarning, use_cassette
from runreplay.cassette import Cassette, load
from runreplay.cli import main
from runreplay.engine.scrub import Scrubber, find_secrets
from runreplay.errors import ConfigError, UnmatchedRequestError
from runreplay.importers import import_file
from runreplay.scrub_rules import PSEUDONYM, ScrubRules, load_rules

SUB = "3F2B8C1E-9D4A-4E7B-8F6C-2A1B3C4D5E6F"
RG = "rg-agents-prod-westus"
WS = "ws-contoso-agents"
PREFIX = (
    f"/agents/v1.0/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.MachineLearningServices/workspaces/{WS}"
)
#: An ARM resource id as an Azure tool definition carries it, in lower case as the service writes it.
CONNECTION = (
    f"/subscriptions/{SUB.lower()}/resourcegroups/{RG}/providers/Microsoft.CognitiveServices/accounts/a/connections/b"
)
VERSION = "api-version=2025-05-15-preview"
RULES = ScrubRules(path_ids=("subscriptions", "resourceGroups", "workspaces"))


class _Foundry(Handler):
    """Creates a thread and answers for it, echoing the tool's connection id."""

    def do_POST(self) -> None:
        sent = json.loads(self.rfile.read(int(self.headers["content-length"])))
        thread = {"id": "thread_Q7v2Lr8Xw9Vb4Nc7", "object": "thread", "tool_resources": sent["tool_resources"]}
        self.reply("application/json", json.dumps(thread).encode())

    def do_GET(self) -> None:
        thread = {"id": "thread_Q7v2Lr8Xw9Vb4Nc7", "object": "thread", "metadata": {"workspace": f"{PREFIX}"}}
        self.reply("application/json", json.dumps(thread).encode())


@pytest.fixture
def foundry() -> Iterator[str]:
    with serve(_Foundry) as url:
        yield url


def _body() -> dict[str, Any]:
    tools = {"bing_grounding": {"connection_id": CONNECTION}, "subscription_id": SUB}
    return {"tool_resources": tools}


def _with_requests(base: str) -> list[Any]:
    with requests.Session() as session:
        created = session.post(f"{base}{PREFIX}/threads?{VERSION}", json=_body(), timeout=10).json()
        polled = session.get(f"{base}{PREFIX}/threads/{created['id']}?{VERSION}", timeout=10).json()
    return [created, polled]


def _with_httpx(base: str) -> list[Any]:
    with httpx.Client(timeout=10) as client:
        created = client.post(f"{base}{PREFIX}/threads?{VERSION}", json=_body()).json()
        polled = client.get(f"{base}{PREFIX}/threads/{created['id']}?{VERSION}").json()
    return [created, polled]


CLIENTS: dict[str, Callable[[str], list[Any]]] = {"requests": _with_requests, "httpx": _with_httpx}


def _rules_file(tmp_path: Path) -> ScrubRules:
    path = tmp_path / "rules.toml"
    path.write_text('path_ids = ["subscriptions", "resourceGroups", "workspaces"]\n')
    return load_rules(path)


@pytest.mark.parametrize("client", sorted(CLIENTS))
@pytest.mark.parametrize("configured", ["rules file", "options"])
def test_subscription_and_group_ids_become_pseudonyms_that_link_and_replay(
    foundry: str, tmp_path: Path, client: str, configured: str
) -> None:
    rules = _rules_file(tmp_path) if configured == "rules file" else RULES
    assert rules == RULES
    path = tmp_path / "azure.json"
    with use_cassette(path, record_mode="once", scrub=rules, validate="off"):
        live = CLIENTS[client](foundry)
    assert CONNECTION in json.dumps(live), "the server really echoed the resource id"
    text = path.read_text()
    for value in (SUB, SUB.lower(), RG, WS):
        assert value not in text, f"{value} reached the cassette"

    create, poll = load(path).interactions
    url_ids = dict(re.findall(r"/(subscriptions|resourceGroups|workspaces)/([^/?]+)", create.request.url))
    assert all(PSEUDONYM.fullmatch(v) for v in url_ids.values()), create.request.url
    assert poll.request.url.startswith(create.request.url.split("/threads")[0]), "one prefix in every URL"
    # The same ids in the bodies carry the same pseudonyms: the ARM id (lower case there), the
    # bare subscription id, and the prefix the reply echoes.
    sent = create.request.body.value["tool_resources"]
    assert sent["bing_grounding"]["connection_id"].startswith(
        f"/subscriptions/{url_ids['subscriptions']}/resourcegroups/{url_ids['resourceGroups']}/"
    )
    assert sent["subscription_id"] == url_ids["subscriptions"]
    assert poll.response.body.value["metadata"]["workspace"] in create.request.url
    assert "thread_Q7v2Lr8Xw9Vb4Nc7" in poll.request.url, "run and thread ids are no secret: they stay"

    # Replay: the client sends the real ids again; they are scrubbed the same way and match.
    with use_cassette(path, scrub=rules, validate="off") as session:
        replayed = CLIENTS[client]("http://127.0.0.1:9")
    assert session.unused() == []
    assert replayed[0]["tool_resources"] == sent
    # Without the setting the live-shaped request holds ids the cassette does not: no match.
    with pytest.raises(UnmatchedRequestError), use_cassette(path, validate="off"):
        CLIENTS[client]("http://127.0.0.1:9")


def test_check_reports_configured_path_ids_and_refuses_bad_ones(tmp_path: Path) -> None:
    cassettes = tmp_path / "cassettes"
    cassettes.mkdir()
    raw = {
        "format": 1,
        "interactions": [
            {
                "request": {"method": "GET", "url": f"https://x.api.azureml.ms{PREFIX}/threads?{VERSION}"},
                "response": {"status": 200, "body": {"json": {"connection_id": CONNECTION}}},
            }
        ],
    }
    (cassettes / "hand.json").write_text(json.dumps(raw))
    rules = tmp_path / "rules.toml"
    rules.write_text('path_ids = ["subscriptions", "resourceGroups"]\n')
    runner = CliRunner()
    plain = runner.invoke(main, ["scrub", "--check", "--rules", str(tmp_path / "none.toml"), str(cassettes)])
    assert plain.exit_code == 2, "a missing rules file is a usage error"
    assert runner.invoke(main, ["scrub", "--check", str(cassettes)]).exit_code == 0, "ids are no secret by default"
    found = runner.invoke(main, ["scrub", "--check", "--rules", str(rules), str(cassettes)])
    assert found.exit_code == 1, found.output
    assert "request.url: subscriptions" in found.output and "request.url: resourcegroups" in found.output
    assert "response.body.json.connection_id: subscriptions" in found.output
    assert SUB not in found.output and RG not in found.output, "never the whole id in a report"

    bad = tmp_path / "bad.toml"
    bad.write_text('path_ids = ["subscriptions/x"]\n')
    with pytest.raises(ConfigError, match=r"bad\.toml: path_ids: 'subscriptions/x' must be one path segment"):
        load_rules(bad)


# ---------------------------------------------------------------------------- importing the Azure SDKs' recordings

AZURE = sorted((TRAFFIC / "azure-agents").glob("*.json"))
#: The interactions whose URL the Python SDK's sanitizer gave ``runs/Sanitized``, by file.
SANITIZED_RUN_URLS = {
    "azure-sdk-assets-py__test_bing_grounding_tool.json": ("run_E7vMNnjyGcOJJlJNHptEMRYO", [4, 5, 6, 9, 10]),
    "azure-sdk-assets-py__test_submit_tool_outputs_to_stream.json": ("run_7wOy3dKJ4VhKMlNrVWcls19N", [4]),
}
_ID = re.compile(r"\b(?:asst|thread|run|msg|step|call)_[A-Za-z0-9]{24}\b")


def _import(path: Path) -> tuple[Cassette, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cassette = import_file(path)
    return cassette, [str(w.message) for w in caught if issubclass(w.category, SanitizedIdWarning)]


def _ids_in_urls_and_replies(cassette: Cassette) -> tuple[set[str], set[str]]:
    in_urls = {m for i in cassette for m in _ID.findall(i.request.url)}
    replies = json.dumps([i.response.body.to_json() for i in cassette])
    return in_urls, set(_ID.findall(replies))


@pytest.mark.parametrize("path", AZURE, ids=lambda p: p.name)
def test_an_azure_recording_imports_with_linked_ids_and_no_secrets(path: Path, tmp_path: Path) -> None:
    assert len(AZURE) == 4
    cassette, said = _import(path)
    in_urls, in_replies = _ids_in_urls_and_replies(cassette)
    assert in_urls and in_urls <= in_replies, f"ids in URLs that no reply gave: {in_urls - in_replies}"
    for interaction in cassette:  # no id left a sanitizer's placeholder after a collection
        assert not re.search(r"/(?:runs|threads|assistants|messages|steps)/Sanitized\b", interaction.request.url)
    expected = SANITIZED_RUN_URLS.get(path.name)
    if expected is None:
        assert said == [], "the JS SDK's sanitizer left the URL ids alone: nothing to say"
    else:
        run, numbers = expected
        (message,) = said
        assert message.startswith(f"{path}: interaction"), message
        assert f"interaction{'s' if len(numbers) > 1 else ''} {', '.join(map(str, numbers))} " in message
        assert f"$.Entries[{numbers[0]}]" in message and f"restored it as {run!r}" in message
        assert {i for i, x in enumerate(cassette) if f"/runs/{run}" in x.request.url} >= set(numbers)

    # Scrubbed as `runreplay import` writes it: the organization ids the headers kept become
    # pseudonyms, the recorder's placeholders and every id stay; nothing is left to find.
    organizations = {i.response.headers.get("openai-organization") for i in cassette} - {None}
    assert organizations, "the Azure service sends its organization id"
    Scrubber().cassette(cassette)
    assert find_secrets(cassette) == []
    text = json.dumps(cassette.to_json())
    assert not any(org in text for org in organizations if org)
    assert _ids_in_urls_and_replies(cassette) == (in_urls, in_replies), "scrubbing keeps every id"
    if path.name.startswith("azure-sdk-assets-js"):
        assert {i.request.headers.get("authorization") for i in cassette} == {"Sanitized"}


def test_import_command_names_the_file_and_interactions_it_relinked(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["import", str(TRAFFIC / "azure-agents"), "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    warned = [line for line in result.stderr.splitlines() if line.startswith("runreplay: WARNING:")]
    assert len(warned) == 2, result.stderr
    assert any("test_bing_grounding_tool.json: interactions 4, 5, 6, 9, 10 (" in w for w in warned)
    bing = load(tmp_path / "azure-sdk-assets-py__test_bing_grounding_tool.json")
    assert [i.request.url.split("/runs/")[1].split("?")[0] for i in bing if "/runs/" in i.request.url] == [
        *["run_E7vMNnjyGcOJJlJNHptEMRYO"] * 3,
        *["run_E7vMNnjyGcOJJlJNHptEMRYO/steps"] * 2,
    ]


def _entry(method: str, url: str, status: int, body: Any) -> dict[str, Any]:
    headers = {"Content-Type": "application/json"}
    return {
        "RequestUri": f"https://Sanitized.services.ai.azure.com/api/projects/00000{url}?api-version=v1",
        "RequestMethod": method,
        "RequestHeaders": {"Authorization": "Sanitized"},
        "RequestBody": None,
        "StatusCode": status,
        "ResponseHeaders": headers,
        "ResponseBody": body,
    }


def test_a_sanitized_url_id_the_bodies_cannot_settle_is_left_and_said(tmp_path: Path) -> None:
    """Hand-made (no real file shows it): cancels whose error replies name no run. In the first
    thread one run was created, so the id is known; in the second two were: it cannot link."""
    error = {"error": {"message": "Cannot cancel run with status 'completed'.", "type": "invalid_request_error"}}
    run = {"object": "thread.run", "status": "queued"}
    entries = [
        _entry("POST", "/threads/thread_one/runs", 200, {**run, "id": "run_A", "thread_id": "thread_one"}),
        _entry("POST", "/threads/thread_one/runs/Sanitized/cancel", 400, error),
        _entry("POST", "/threads/thread_two/runs", 200, {**run, "id": "run_B", "thread_id": "thread_two"}),
        _entry("POST", "/threads/thread_two/runs", 200, {**run, "id": "run_C", "thread_id": "thread_two"}),
        _entry("POST", "/threads/thread_two/runs/Sanitized/cancel", 400, error),
        _entry("POST", "/threads/thread_two/runs/Sanitized/cancel", 400, error),
    ]
    path = tmp_path / "recording_cancels.json"
    path.write_text(json.dumps({"Entries": entries, "Variables": {}}))
    cassette, said = _import(path)
    assert "/threads/thread_one/runs/run_A/cancel" in cassette.interactions[1].request.url
    assert "runs/Sanitized/cancel" in cassette.interactions[4].request.url
    restored, unlinked = said
    assert restored.startswith(f"{path}: interaction 1 ($.Entries[1]): ")
    assert "restored it as 'run_A' (named by the reply to interaction 0)" in restored
    assert unlinked.startswith(f"{path}: interactions 4, 5 ($.Entries[4], $.Entries[5]): ")
    assert "more than one fits ('run_B', 'run_C')" in unlinked and "cannot be linked" in unlinked
