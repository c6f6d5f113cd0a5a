"""Real vendor traffic, imported from another project's VCR.py cassette, replays through the SDK.

openllmetry recorded this create-and-poll against api.openai.com with openai-python 1.99.7
(assistants=v2): 19 polls from queued through in_progress to completed. Replaying it with
today's openai 3.x SDK (httpx2 transport, other headers, another base URL) must walk the
same states and end in the same run.
"""

from __future__ import annotations

from pathlib import Path

import openai
import pytest
from _paths import TRAFFIC

from runreplay import use_cassette
from runreplay.cassette import save
from runreplay.importers import import_file

SHARED = TRAFFIC / "openai-assistants"
SOURCE = SHARED / "openllmetry_v2__test_new_assistant_with_polling.yaml"
THREAD = "thread_erGl66dVoAO1EY2Mp3lvn9JB"
ASSISTANT = "asst_Leo2sRC1zfL8826tvsgfhKJ4"


@pytest.fixture
def imported(tmp_path: Path) -> Path:
    return save(import_file(SOURCE), tmp_path / "polling.json")


def _client() -> openai.OpenAI:
    # Nothing listens on this port: every response must come from the cassette.
    return openai.OpenAI(api_key="sk-test", base_url="http://127.0.0.1:9/v1")


def test_imported_create_and_poll_replays_through_the_openai_sdk(imported: Path) -> None:
    client = _client()
    with use_cassette(imported) as session:
        assistant = client.beta.assistants.create(
            model="gpt-4o-mini",
            name="Math Tutor",
            instructions="You are a personal math tutor. Write and run code to answer math questions.",
            tools=[{"type": "code_interpreter"}],
        )
        thread = client.beta.threads.create()
        client.beta.threads.messages.create(
            thread_id=thread.id, role="user", content="I need to solve the equation `3x + 11 = 14`. Can you help me?"
        )
        run = client.beta.threads.runs.create_and_poll(
            thread_id=thread.id,
            assistant_id=assistant.id,
            instructions="Please address the user as Jane Doe. The user has a premium account.",
            poll_interval_ms=500,
        )
        messages = client.beta.threads.messages.list(thread_id=thread.id, order="asc")
        again = client.beta.assistants.retrieve(assistant.id)

    assert (assistant.id, thread.id) == (ASSISTANT, THREAD)
    assert run.status == "completed"
    assert run.usage is not None and run.usage.total_tokens > 0
    assert next(m.role for m in messages.data) == "user"
    assert messages.data[-1].role == "assistant"
    assert again.id == ASSISTANT
    assert session.unused() == [], "every recorded poll was replayed or skipped past"
    (replayed_run,) = session.resources
    assert replayed_run.states == ["queued", "in_progress", "completed"]
    # the recording polled for about 12 s (Date headers); the replay took as long, virtually
    assert 10_000 <= replayed_run.virtual_ms <= 14_000
    assert 20 <= replayed_run.polls <= 30


def test_imported_polls_walk_the_recorded_states_in_order(imported: Path) -> None:
    client = _client()
    with use_cassette(imported, replay_mode="sequence", unused="ignore"):
        statuses = [
            client.beta.threads.runs.retrieve("run_31fgVjfVXHHOJZbQnBWJXhlN", thread_id=THREAD).status
            for _ in range(22)
        ]
    # 19 recorded polls (the create returned queued): in_progress x18, then completed;
    # polling more often than that keeps returning the final state
    assert statuses[:18] == ["in_progress"] * 18
    assert statuses[18:] == ["completed"] * 4
