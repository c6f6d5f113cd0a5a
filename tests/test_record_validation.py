"""Recording checks every payload against its documented schema; replay can, too."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from _servers import Handler, serve

from runreplay import SchemaViolationWarning, use_cassette
from runreplay.cassette import load
from runreplay.errors import SchemaViolationError

pytest_plugins = ["pytester"]

RUN = {
    "id": "run_1",
    "object": "thread.run",
    "created_at": 1714255664,
    "assistant_id": "asst_1",
    "thread_id": "thread_1",
    "status": "paused",  # not a documented run status
    "model": "gpt-4o",
    "instructions": "",
    "tools": [],
    "metadata": {},
}


class _Vendor(Handler):
    def do_GET(self) -> None:
        self.reply("application/json", json.dumps(RUN).encode())


@pytest.fixture
def vendor() -> Iterator[str]:
    with serve(_Vendor) as url:
        yield url + "/v1"


def _retrieve(base_url: str) -> str:
    client = openai.OpenAI(api_key="sk-test", base_url=base_url, max_retries=0)
    return client.beta.threads.runs.retrieve("run_1", thread_id="thread_1").status


def test_recording_a_violating_payload_fails_with_the_violation(tmp_path: Path, vendor: str) -> None:
    path = tmp_path / "c.json"
    with pytest.raises(SchemaViolationError) as info, use_cassette(path, record_mode="once"):
        assert _retrieve(vendor) == "paused"
    message = str(info.value)
    assert str(path) in message
    assert "interaction #0" in message
    assert "$.interactions[0].response.body.json.status" in message
    assert "new enum value" in message and '"paused"' in message
    assert load(path).interactions[0].response.body.value["status"] == "paused", "the cassette says what happened"


def test_warn_policy_records_and_warns(tmp_path: Path, vendor: str) -> None:
    with (
        pytest.warns(SchemaViolationWarning, match="new enum value"),
        use_cassette(tmp_path / "c.json", record_mode="once", validate="warn"),
    ):
        _retrieve(vendor)


def test_replayed_payloads_are_checked_unless_switched_off(tmp_path: Path, vendor: str) -> None:
    path = tmp_path / "c.json"
    with use_cassette(path, record_mode="once", validate="off"):
        _retrieve(vendor)
    with pytest.raises(SchemaViolationError, match="status"), use_cassette(path):
        _retrieve("http://127.0.0.1:9/v1")
    with use_cassette(path, validate_replay=False):
        _retrieve("http://127.0.0.1:9/v1")


def test_the_plugin_fails_a_test_that_records_a_violation(
    pytester: pytest.Pytester, vendor: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VENDOR", vendor)
    pytester.makepyfile(
        test_vendor=textwrap.dedent(
            """
            import os
            import openai
            import pytest

            @pytest.mark.runreplay(record_mode="once")
            def test_run():
                client = openai.OpenAI(api_key="sk-test", base_url=os.environ["VENDOR"], max_retries=0)
                client.beta.threads.runs.retrieve("run_1", thread_id="thread_1")
            """
        )
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*payloads break their documented schema*", "*response.body.json.status*new enum*"])
