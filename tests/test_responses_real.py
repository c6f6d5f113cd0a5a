"""Every real Responses recording imports, validates and replays through openai-python with the
results it recorded: the SDK's parse of each replayed reply equals its parse of the recorded one.

The recordings are the openai-dotnet and ruby-openai test cassettes in
tests/data/real-traffic/openai-responses/ (see tests/data/PROVENANCE.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openai
import pytest
from _paths import TRAFFIC
from openai._models import construct_type
from openai.types.responses import Response, ResponseStreamEvent

from runreplay import BodyKind, Interaction, save, use_cassette, validate_cassette
from runreplay.importers import import_file
from runreplay.providers import find

FILES = sorted((TRAFFIC / "openai-responses").iterdir())


def _parse(kind: Any, value: Any) -> Any:
    # What the SDK does with a reply it receives (lenient: it validates nothing).
    return construct_type(type_=kind, value=value).model_dump()


def _recorded(interaction: Interaction) -> Any:
    """What the SDK makes of the recorded reply."""
    body = interaction.response.body
    if body.kind is BodyKind.SSE:
        return [_parse(ResponseStreamEvent, e.data) for e in body.events if e.data_is_json]
    return _parse(Response, body.json_value)


def _replayed(client: openai.OpenAI, interaction: Interaction) -> Any:
    """The same request sent through the SDK, and what it made of the replayed reply."""
    request = interaction.request
    routed = find(request)
    assert routed is not None, request.url
    name, response_id = routed.route.name, routed.params.get("response_id", "")
    query = dict(request.query())
    if name == "create_response":
        body = request.body.json_value
        if body.get("stream"):
            stream_cls = openai.Stream[ResponseStreamEvent]
            stream = client.post("/responses", body=body, cast_to=Response, stream=True, stream_cls=stream_cls)
            return [event.model_dump() for event in stream]
        return client.post("/responses", body=body, cast_to=Response).model_dump()
    if name == "resume_response_stream":
        stream = client.responses.retrieve(response_id, stream=True, starting_after=int(query["starting_after"]))
        return [event.model_dump() for event in stream]
    if name == "retrieve_response":
        return client.responses.retrieve(response_id).model_dump()
    assert name == "cancel_response", name
    return client.responses.cancel(response_id).model_dump()


def test_the_real_recordings_cover_the_background_lifecycle() -> None:
    routes = {find(i.request).route.name for path in FILES for i in import_file(path)}  # type: ignore[union-attr]
    assert routes == {"create_response", "retrieve_response", "resume_response_stream", "cancel_response"}


@pytest.mark.parametrize("source", FILES, ids=[p.stem for p in FILES])
def test_a_real_recording_replays_through_the_sdk_as_recorded(source: Path, tmp_path: Path) -> None:
    cassette = import_file(source)
    assert validate_cassette(cassette) == []
    path = save(cassette, tmp_path / "real.json")
    client = openai.OpenAI(api_key="sk-test", base_url="http://127.0.0.1:9/v1", max_retries=0)
    with use_cassette(path, unused="error") as session:
        for interaction in cassette.interactions:
            assert _replayed(client, interaction) == _recorded(interaction), interaction.request.url
    assert session.replayed_count == len(cassette.interactions)


def test_a_real_resume_replays_from_the_recorded_stream_alone(tmp_path: Path) -> None:
    """Drop the recorded resume: the create's recorded stream is enough to answer it."""
    cassette = import_file(TRAFFIC / "openai-responses" / "openai-dotnet__CanStreamBackgroundResponses.json")
    create, _, resume = cassette.interactions
    cassette.interactions = [create]
    path = save(cassette, tmp_path / "no_resume.json")
    client = openai.OpenAI(api_key="sk-test", base_url="http://127.0.0.1:9/v1", max_retries=0)
    response_id = find(resume.request).params["response_id"]  # type: ignore[union-attr]
    with use_cassette(path):
        assert _replayed(client, create) == _recorded(create)
        resumed = [e.model_dump() for e in client.responses.retrieve(response_id, stream=True, starting_after=1)]
    assert resumed == _recorded(resume)
    assert [e["sequence_number"] for e in resumed][:2] == [2, 3]
