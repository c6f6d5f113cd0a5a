"""The OpenAI Responses emulator, driven over real 127.0.0.1 sockets by openai-python (sync and async)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator, Sequence
from typing import Any

import httpx
import openai
import pytest
from openai.types.responses import FunctionToolParam, Response, ResponseStreamEvent

from runreplay.emulator import Emulator
from runreplay.sse import parse_stream

PHASE = 0.03
WEATHER: FunctionToolParam = {
    "type": "function",
    "name": "get_weather",
    "description": "the current weather at a place",
    "parameters": {
        "type": "object",
        "properties": {"location": {"type": "string"}, "unit": {"type": "string", "enum": ["C", "F"]}},
        "required": ["location"],
    },
    "strict": False,
}
QUESTION = "What is the weather in Paris in F?"
ACTIVE = {"queued", "in_progress"}
TEXT_EVENTS = [
    "response.output_item.added",
    "response.content_part.added",
    "response.output_text.delta",
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.completed",
]
FUNCTION_EVENTS = [
    "response.output_item.added",
    "response.function_call_arguments.delta",
    "response.function_call_arguments.done",
    "response.output_item.done",
    "response.completed",
]


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(port=0, phase_seconds=PHASE) as emulator:
        yield emulator


def client_for(emulator: Emulator) -> openai.OpenAI:
    return openai.OpenAI(base_url=emulator.url("openai-responses"), api_key="test-key", max_retries=0)


def async_client_for(emulator: Emulator) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=emulator.url("openai-responses"), api_key="test-key", max_retries=0)


def collapse(names: Sequence[str]) -> list[str]:
    """Event names with runs of the same name folded into one (deltas come in any number)."""
    out: list[str] = []
    for name in names:
        if not out or out[-1] != name:
            out.append(name)
    return out


def poll(client: openai.OpenAI, response: Response) -> tuple[Response, list[str]]:
    seen = [response.status or ""]
    deadline = time.monotonic() + 5
    while response.status in ACTIVE:
        assert time.monotonic() < deadline, "the response never finished"
        time.sleep(PHASE / 6)
        response = client.responses.retrieve(response.id)
        seen.append(response.status or "")
    return response, seen


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def raw_events(url: str, **kwargs: Any) -> list[tuple[str, dict[str, Any]]]:
    """(event name, data) of a whole SSE answer, read with plain httpx."""
    with httpx.Client(timeout=10) as http:
        reply = http.request(url=url, **kwargs)
    assert reply.headers["content-type"].startswith("text/event-stream"), reply.text
    events, framing = parse_stream(reply.content)
    assert framing.space_after_colon  # "event: x", as the real API writes
    return [(e.event or "", e.data) for e in events]


# --- background mode -----------------------------------------------------------------------------


def test_background_create_then_poll_until_completed(emu: Emulator) -> None:
    client = client_for(emu)
    response = client.responses.create(model="gpt-4o", input=QUESTION, background=True)
    assert response.status == "queued" and response.background is True
    assert response.output == [] and response.usage is None
    final, seen = poll(client, response)
    assert final.status == "completed"
    assert collapse(seen) in (["queued", "in_progress", "completed"], ["queued", "completed"])
    assert final.output_text == f"This is the emulated answer to: {QUESTION}"
    assert final.output[0].type == "message" and final.output[0].status == "completed"
    assert final.usage is not None and final.usage.total_tokens == final.usage.input_tokens + final.usage.output_tokens
    assert final.completed_at is not None and final.completed_at >= final.created_at


def test_background_lifecycle_moves_one_phase_at_a_time() -> None:
    clock = ManualClock()
    with Emulator(phase_seconds=1.0, clock=clock) as emulator:
        client = client_for(emulator)
        response = client.responses.create(model="gpt-4o", input="Hello", background=True)
        clock.advance(0.5)
        assert client.responses.retrieve(response.id).status == "queued"
        clock.advance(0.5)
        running = client.responses.retrieve(response.id)
        assert running.status == "in_progress"
        assert [(i.type, i.status) for i in running.output] == [("message", "in_progress")]
        clock.advance(1.0)
        done = client.responses.retrieve(response.id)
        assert done.status == "completed" and done.service_tier == "default"
        assert done.completed_at == done.created_at + 2
        clock.advance(5.0)
        assert client.responses.retrieve(response.id) == done


def test_background_non_stream_and_foreground_responses_cannot_be_streamed_again(emu: Emulator) -> None:
    client = client_for(emu)
    background = client.responses.create(model="gpt-4o", input="Hi", background=True)
    with pytest.raises(openai.BadRequestError, match="not created with stream=true") as exc:
        client.responses.retrieve(background.id, stream=True)
    assert exc.value.param == "stream"
    foreground = client.responses.create(model="gpt-4o", input="Hi")
    with pytest.raises(openai.BadRequestError, match="not created with background=true"):
        client.responses.retrieve(foreground.id, stream=True, starting_after=0)


# --- streams -------------------------------------------------------------------------------------


def test_foreground_stream_matches_the_real_event_sequence(emu: Emulator) -> None:
    events = raw_events(
        f"{emu.url('openai-responses')}/responses",
        method="POST",
        json={"model": "gpt-4o-mini", "input": QUESTION, "stream": True},
    )
    names = [name for name, _ in events]
    assert collapse(names) == ["response.created", "response.in_progress", *TEXT_EVENTS]
    assert [data["sequence_number"] for _, data in events] == list(range(len(events)))
    assert all(data["type"] == name for name, data in events)
    created, completed = events[0][1]["response"], events[-1][1]["response"]
    assert created["status"] == "in_progress" and created["background"] is False and created["output"] == []
    assert completed["status"] == "completed" and completed["usage"]["output_tokens"] > 0
    deltas = [data for name, data in events if name == "response.output_text.delta"]
    assert "".join(d["delta"] for d in deltas) == completed["output"][0]["content"][0]["text"]
    # Real foreground streams pad each delta with an obfuscation field, to 16 characters.
    assert all(len(d["delta"] + d["obfuscation"]) == 16 for d in deltas if len(d["delta"]) < 16)
    plain = raw_events(
        f"{emu.url('openai-responses')}/responses",
        method="POST",
        json={"model": "gpt-4o-mini", "input": "Hi", "stream": True, "stream_options": {"include_obfuscation": False}},
    )
    assert not any("obfuscation" in data for _, data in plain)


def test_background_stream_resumes_after_a_sequence_number(emu: Emulator) -> None:
    client = client_for(emu)
    first: list[ResponseStreamEvent] = []
    stream = client.responses.create(model="gpt-4o", input=QUESTION, background=True, stream=True)
    for event in stream:
        first.append(event)
        if event.sequence_number == 2:
            break
    stream.close()
    assert [e.type for e in first] == ["response.created", "response.queued", "response.in_progress"]
    created = first[0]
    assert created.type == "response.created" and created.response.status == "queued"
    response_id = created.response.id

    resumed = list(client.responses.retrieve(response_id, stream=True, starting_after=2))
    assert resumed[0].sequence_number == 3
    assert [e.sequence_number for e in resumed] == list(range(3, 3 + len(resumed)))
    assert collapse([e.type for e in resumed]) == TEXT_EVENTS
    last = resumed[-1]
    assert last.type == "response.completed" and last.response.output_text.startswith("This is the emulated")
    assert not any("obfuscation" in e.model_dump() for e in resumed)  # background streams have none

    # The SDK helper reads the stream from the start and drops what it was told it had seen.
    with client.responses.stream(response_id=response_id, starting_after=4) as helper:
        helped = list(helper)
        final = helper.get_final_response()
    assert helped[0].sequence_number == 5 and helped[-1].type == "response.completed"
    assert final.output_text == last.response.output_text

    # GET /responses/{id} and GET /responses/{id}?stream=true share a path: the query picks.
    url = f"{emu.url('openai-responses')}/responses/{response_id}"
    assert httpx.get(url).json()["status"] == "completed"
    tail = raw_events(f"{url}?stream=true&starting_after={last.sequence_number - 1}", method="GET")
    assert [(name, data["sequence_number"]) for name, data in tail] == [("response.completed", last.sequence_number)]


def test_streamed_function_call_matches_the_real_event_sequence(emu: Emulator) -> None:
    client = client_for(emu)
    with client.responses.stream(model="gpt-4o-mini", input=QUESTION, tools=[WEATHER]) as stream:
        events = list(stream)
        final = stream.get_final_response()
    names = collapse([e.type for e in events])
    assert names == ["response.created", "response.in_progress", *FUNCTION_EVENTS]
    call = final.output[0]
    assert call.type == "function_call" and call.status == "completed"
    assert call.call_id.startswith("call_") and call.id is not None and call.id.startswith("fc_")
    assert json.loads(call.arguments) == {"location": "Paris", "unit": "F"}


# --- function calls ------------------------------------------------------------------------------


def test_function_call_answered_with_previous_response_id(emu: Emulator) -> None:
    client = client_for(emu)
    asked = client.responses.create(model="gpt-4o", input=QUESTION, tools=[WEATHER])
    assert asked.status == "completed"
    assert [item.type for item in asked.output] == ["function_call"]
    call = asked.output[0]
    assert call.type == "function_call" and call.name == "get_weather"

    with pytest.raises(openai.BadRequestError, match="No tool call found for function call output") as wrong:
        client.responses.create(
            model="gpt-4o",
            previous_response_id=asked.id,
            input=[{"type": "function_call_output", "call_id": "call_wrong", "output": "18C"}],
            tools=[WEATHER],
        )
    assert wrong.value.status_code == 400 and wrong.value.body is not None
    with pytest.raises(openai.BadRequestError, match=f"No tool output found for function call {call.call_id}"):
        client.responses.create(model="gpt-4o", previous_response_id=asked.id, input="never mind", tools=[WEATHER])

    answered = client.responses.create(
        model="gpt-4o",
        previous_response_id=asked.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "18C and sunny"}],
        tools=[WEATHER],
    )
    assert answered.status == "completed" and answered.previous_response_id == asked.id
    assert [item.type for item in answered.output] == ["message"]
    assert "The get_weather tool returned: 18C and sunny." in answered.output_text


def test_unknown_previous_response_is_refused(emu: Emulator) -> None:
    with pytest.raises(openai.BadRequestError) as exc:
        client_for(emu).responses.create(model="gpt-4o", input="Hi", previous_response_id="resp_nope")
    assert exc.value.code == "previous_response_not_found"


# --- cancel, failure, delete, input items, unknown ids ------------------------------------------


def test_cancel_background_response(emu: Emulator) -> None:
    clock = ManualClock()
    with Emulator(phase_seconds=1.0, clock=clock) as emulator:
        client = client_for(emulator)
        queued = client.responses.create(model="gpt-4o", input="Write a long story", background=True)
        cancelled = client.responses.cancel(queued.id)
        assert cancelled.status == "cancelled" and cancelled.id == queued.id and cancelled.output == []
        running = client.responses.create(model="gpt-4o", input="Write a long story", background=True)
        clock.advance(1.0)
        assert client.responses.cancel(running.id).status == "cancelled"
        clock.advance(10.0)
        assert client.responses.retrieve(queued.id).status == "cancelled"
        after = client.responses.retrieve(running.id)
        assert after.status == "cancelled" and after.usage is None and after.completed_at is None
        assert client.responses.cancel(queued.id).status == "cancelled"  # cancelling twice returns it again

    client = client_for(emu)
    finished = client.responses.create(model="gpt-4o", input="Hi")
    with pytest.raises(openai.BadRequestError, match="Cannot cancel a synchronous response"):
        client.responses.cancel(finished.id)
    done, _ = poll(client, client.responses.create(model="gpt-4o", input="Hi", background=True))
    with pytest.raises(openai.BadRequestError, match="terminal state"):
        client.responses.cancel(done.id)


def test_cancel_ends_a_background_stream() -> None:
    clock = ManualClock()
    with Emulator(phase_seconds=1.0, clock=clock) as emulator:
        client = client_for(emulator)
        stream = client.responses.create(model="gpt-4o", input="Hi", background=True, stream=True)
        seen = []
        for event in stream:
            seen.append(event.type)
            if event.type == "response.queued":
                client.responses.cancel(event.response.id)
                clock.advance(5.0)  # every phase is due now: only the cancel stops the stream
        # The streaming API has no cancelled event: the stream just ends.
        assert seen == ["response.created", "response.queued"]


def test_failing_model_fails_in_progress(emu: Emulator) -> None:
    client = client_for(emu)
    final, seen = poll(client, client.responses.create(model="gpt-4o-fail", input="Hi", background=True))
    assert final.status == "failed" and seen[0] == "queued"
    assert final.error is not None and final.error.code == "server_error" and final.error.message
    assert final.output == [] and final.completed_at is None

    events = list(client.responses.create(model="gpt-4o-fail", input="Hi", background=True, stream=True))
    assert [e.type for e in events] == [
        "response.created",
        "response.queued",
        "response.in_progress",
        "response.failed",
    ]
    last = events[-1]
    assert last.type == "response.failed" and last.response.error is not None
    assert last.response.error.code == "server_error"


def test_input_items_are_listed_as_pages(emu: Emulator) -> None:
    client = client_for(emu)
    response = client.responses.create(
        model="gpt-4o",
        input=[
            {"role": "developer", "content": "Be brief."},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "One"}]},
            {"role": "user", "content": "Two"},
        ],
    )
    assert response.output_text == "This is the emulated answer to: Two"
    items = list(client.responses.input_items.list(response.id, order="asc"))
    assert [(i.type, getattr(i, "role", None)) for i in items] == [
        ("message", "developer"),
        ("message", "user"),
        ("message", "user"),
    ]
    assert all(i.id.startswith("msg_") for i in items)
    newest_first = client.responses.input_items.list(response.id, limit=2)
    assert [i.id for i in newest_first.data] == [items[2].id, items[1].id] and newest_first.has_more
    rest = client.responses.input_items.list(response.id, limit=2, after=items[1].id)
    assert [i.id for i in rest.data] == [items[0].id] and not rest.has_more
    assert [i.id for i in client.responses.input_items.list(response.id, limit=1)] == [i.id for i in reversed(items)]

    answered_call = client.responses.create(model="gpt-4o", input="Weather?", tools=[WEATHER])
    call = answered_call.output[0]
    assert call.type == "function_call"
    output = client.responses.create(
        model="gpt-4o",
        previous_response_id=answered_call.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "rain"}],
    )
    (item,) = client.responses.input_items.list(output.id)
    assert item.type == "function_call_output" and item.call_id == call.call_id and item.output == "rain"


def test_delete_then_unknown(emu: Emulator) -> None:
    client = client_for(emu)
    response = client.responses.create(model="gpt-4o", input="Hi")
    url = f"{emu.url('openai-responses')}/responses/{response.id}"
    assert client.responses.delete(response.id) is None
    assert httpx.delete(url).status_code == 404
    for call in (
        lambda: client.responses.retrieve(response.id),
        lambda: client.responses.cancel(response.id),
        lambda: client.responses.delete("resp_missing"),
        lambda: client.responses.input_items.list("resp_missing"),
    ):
        with pytest.raises(openai.NotFoundError) as exc:
            call()
        assert exc.value.body is not None and "not found" in exc.value.message
    body = httpx.get(f"{emu.url('openai-responses')}/responses/resp_missing").json()
    assert body == {
        "error": {
            "message": "Response with id 'resp_missing' not found.",
            "type": "invalid_request_error",
            "param": None,
            "code": None,
        }
    }


def test_missing_model_is_an_openai_error(emu: Emulator) -> None:
    with pytest.raises(openai.BadRequestError) as exc:
        client_for(emu).responses.create(model="", input="Hi")
    assert exc.value.code == "missing_required_parameter" and exc.value.param == "model"


def test_ids_are_deterministic_and_shaped_like_real_ones() -> None:
    def run() -> list[str]:
        with Emulator(phase_seconds=0.0) as emulator:
            client = client_for(emulator)
            asked = client.responses.create(model="gpt-4o", input=QUESTION, tools=[WEATHER])
            call = asked.output[0]
            assert call.type == "function_call" and call.id is not None
            return [asked.id, call.id, call.call_id]

    first = run()
    assert first == run()
    response_id, item_id, call_id = first
    assert response_id.startswith("resp_emu") and len(response_id) == len("resp_") + 50
    assert item_id.startswith("fc_emu") and len(item_id) == len("fc_") + 50
    assert call_id.startswith("call_emu") and len(call_id) == len("call_") + 24


def test_other_families_still_answer(emu: Emulator) -> None:
    assistants = openai.OpenAI(base_url=emu.url("openai"), api_key="test-key", max_retries=0)
    assistant = assistants.beta.assistants.create(model="gpt-4o")
    assert assistant.id.startswith("asst_")
    response = client_for(emu).responses.create(model="gpt-4o", input="Hi")
    assert response.status == "completed"


# --- async ---------------------------------------------------------------------------------------


def test_async_background_poll_and_resume(emu: Emulator) -> None:
    async def scenario() -> None:
        client = async_client_for(emu)
        response = await client.responses.create(model="gpt-4o", input=QUESTION, background=True)
        assert response.status == "queued"
        while response.status in ACTIVE:
            await asyncio.sleep(PHASE / 6)
            response = await client.responses.retrieve(response.id)
        assert response.status == "completed" and response.output_text.endswith(QUESTION)

        stream = await client.responses.create(model="gpt-4o", input=QUESTION, background=True, stream=True)
        first = [event async for event in stream]
        created = first[0]
        assert created.type == "response.created"
        resumed = await client.responses.retrieve(created.response.id, stream=True, starting_after=1)
        rest = [event async for event in resumed]
        assert [e.sequence_number for e in rest] == [e.sequence_number for e in first[2:]]
        assert [e.type for e in rest] == [e.type for e in first[2:]] and rest[-1].type == "response.completed"

        cancelled = await client.responses.cancel(
            (await client.responses.create(model="gpt-4o", input="Hi", background=True)).id
        )
        assert cancelled.status == "cancelled"
        with pytest.raises(openai.NotFoundError):
            await client.responses.retrieve("resp_missing")

        async with client.responses.stream(model="gpt-4o", input=QUESTION, tools=[WEATHER]) as helper:
            names = [event.type async for event in helper]
            final = await helper.get_final_response()
        assert collapse(names) == ["response.created", "response.in_progress", *FUNCTION_EVENTS]
        call = final.output[0]
        assert call.type == "function_call"
        answered = await client.responses.create(
            model="gpt-4o",
            previous_response_id=final.id,
            input=[{"type": "function_call_output", "call_id": call.call_id, "output": "snow"}],
        )
        assert "The get_weather tool returned: snow." in answered.output_text
        with pytest.raises(openai.BadRequestError):
            await client.responses.create(
                model="gpt-4o",
                previous_response_id=final.id,
                input=[{"type": "function_call_output", "call_id": "call_nope", "output": "snow"}],
            )
        await client.close()

    asyncio.run(scenario())
