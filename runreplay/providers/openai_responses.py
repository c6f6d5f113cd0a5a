"""OpenAI Responses, background mode included: the live successor of Assistants runs.

``POST /responses`` creates a response (``background: true`` returns at once, ``queued``;
``stream: true`` answers with events, each with a ``sequence_number``); ``GET
/responses/{id}`` polls it; ``GET /responses/{id}?stream=true&starting_after=N`` resumes its
event stream after event N; ``POST /responses/{id}/cancel`` cancels a background response.
A response is the lifecycle: ``queued -> in_progress -> completed | failed | cancelled |
incomplete``. Function calls are answered by the next create: ``function_call_output``
input items for the previous response's ``call_id`` s, with ``previous_response_id``.
"""

from __future__ import annotations

from typing import Any

from runreplay.cassette import Request
from runreplay.providers.base import (
    Lifecycle,
    Provider,
    Role,
    SpecPair,
    VendorSpec,
    body,
    component,
    path,
    query_parameters,
    route,
)
from runreplay.providers.openai_assistants import PROVIDER as ASSISTANTS
from runreplay.providers.openai_assistants import client as openai_client
from runreplay.providers.openai_assistants import error_type
from runreplay.sse import SSEEvent

_RESPONSE = "/responses/{response_id}"
_ID = path("response_id")

ROUTES = (
    route(
        "POST",
        "/responses",
        "create_response",
        "Response",
        Role.CREATE,
        request="CreateResponse",
        stream=True,
        resource="response",
    ),
    route(
        "GET",
        _RESPONSE,
        "retrieve_response",
        "Response",
        Role.POLL,
        query="RetrieveResponseQuery",
        resource="response",
        resource_id=_ID,
    ),
    route(
        "GET",
        _RESPONSE,
        "resume_response_stream",
        "Response",
        Role.STREAM_RESUME,
        query="RetrieveResponseQuery",
        stream=True,
        when=(("stream", "true"),),
        resource="response",
        resource_id=_ID,
        cursor="starting_after",
    ),
    route(
        "POST", f"{_RESPONSE}/cancel", "cancel_response", "Response", Role.MUTATE, resource="response", resource_id=_ID
    ),
    route("DELETE", _RESPONSE, "delete_response", "ResponseDeleted"),
    route(
        "GET",
        f"{_RESPONSE}/input_items",
        "list_input_items",
        "ResponseItemList",
        Role.LIST,
        query="InputItemListParams",
    ),
)


def answered_calls(create: Any) -> dict[str, str]:
    """``{call_id: output}`` of the ``function_call_output`` items a create's ``input`` carries."""
    items = create.get("input") if isinstance(create, dict) else None
    if not isinstance(items, list):
        return {}
    return {
        str(item.get("call_id")): str(item.get("output"))
        for item in items
        if isinstance(item, dict) and item.get("type") == "function_call_output"
    }


def requested_calls(response: Any) -> list[str]:
    """The ``call_id`` s of the ``function_call`` items a response's output asks the client to run."""
    output = response.get("output") if isinstance(response, dict) else None
    return [
        str(item.get("call_id"))
        for item in output or []
        if isinstance(item, dict) and item.get("type") == "function_call"
    ]


def event_resource(event: SSEEvent) -> Any:
    """The response a lifecycle event (``response.created``, ``response.completed``, ...) carries."""
    data = event.data if event.data_is_json else None
    return data.get("response") if isinstance(data, dict) else None


def event_position(event: SSEEvent) -> int | None:
    """An event's ``sequence_number``: what ``starting_after`` counts."""
    data = event.data if event.data_is_json else None
    number = data.get("sequence_number") if isinstance(data, dict) else None
    return number if isinstance(number, int) and not isinstance(number, bool) else None


RESPONSE_LIFECYCLE = Lifecycle(
    kind="response",
    terminal=frozenset({"completed", "failed", "cancelled", "incomplete"}),
    submit="create_response",
    answers=body("previous_response_id"),
    tool_outputs=answered_calls,
    required_calls=requested_calls,
    event_resource=event_resource,
    event_position=event_position,
)


def api_version(request: Request) -> str:
    return "v1"


def stream_error(message: str) -> SSEEvent:
    """What the API sends when a response stream fails: an ``error`` event (a Responses stream
    names each event by its ``type``)."""
    data = {"type": "error", "code": "server_error", "message": message, "param": None, "sequence_number": 0}
    return SSEEvent(event="error", data=data, data_is_json=True)


#: Stream event types, named as the spec's components (``ResponseStreamEvent`` lists them).
_EVENT_TYPES = (
    "ResponseCreatedEvent",
    "ResponseQueuedEvent",
    "ResponseInProgressEvent",
    "ResponseCompletedEvent",
    "ResponseFailedEvent",
    "ResponseIncompleteEvent",
    "ResponseErrorEvent",
    "ResponseOutputItemAddedEvent",
    "ResponseOutputItemDoneEvent",
    "ResponseContentPartAddedEvent",
    "ResponseContentPartDoneEvent",
    "ResponseTextDeltaEvent",
    "ResponseTextDoneEvent",
    "ResponseOutputTextAnnotationAddedEvent",
    "ResponseRefusalDeltaEvent",
    "ResponseRefusalDoneEvent",
    "ResponseFunctionCallArgumentsDeltaEvent",
    "ResponseFunctionCallArgumentsDoneEvent",
    "ResponseCustomToolCallInputDeltaEvent",
    "ResponseCustomToolCallInputDoneEvent",
    "ResponseReasoningSummaryPartAddedEvent",
    "ResponseReasoningSummaryPartDoneEvent",
    "ResponseReasoningSummaryTextDeltaEvent",
    "ResponseReasoningSummaryTextDoneEvent",
    "ResponseReasoningTextDeltaEvent",
    "ResponseReasoningTextDoneEvent",
    "ResponseFileSearchCallInProgressEvent",
    "ResponseFileSearchCallSearchingEvent",
    "ResponseFileSearchCallCompletedEvent",
    "ResponseWebSearchCallInProgressEvent",
    "ResponseWebSearchCallSearchingEvent",
    "ResponseWebSearchCallCompletedEvent",
    "ResponseCodeInterpreterCallInProgressEvent",
    "ResponseCodeInterpreterCallInterpretingEvent",
    "ResponseCodeInterpreterCallCompletedEvent",
    "ResponseCodeInterpreterCallCodeDeltaEvent",
    "ResponseCodeInterpreterCallCodeDoneEvent",
    "ResponseImageGenCallInProgressEvent",
    "ResponseImageGenCallGeneratingEvent",
    "ResponseImageGenCallCompletedEvent",
    "ResponseImageGenCallPartialImageEvent",
    "ResponseMCPCallInProgressEvent",
    "ResponseMCPCallCompletedEvent",
    "ResponseMCPCallFailedEvent",
    "ResponseMCPCallArgumentsDeltaEvent",
    "ResponseMCPCallArgumentsDoneEvent",
    "ResponseMCPListToolsInProgressEvent",
    "ResponseMCPListToolsCompletedEvent",
    "ResponseMCPListToolsFailedEvent",
    "ResponseShellCallCommandAddedStreamingEvent",
    "ResponseShellCallCommandDeltaStreamingEvent",
    "ResponseShellCallCommandDoneStreamingEvent",
    "ResponseShellCallOutputContentDeltaStreamingEvent",
    "ResponseShellCallOutputContentDoneStreamingEvent",
    "ResponseAudioDeltaEvent",
    "ResponseAudioDoneEvent",
    "ResponseAudioTranscriptDeltaEvent",
    "ResponseAudioTranscriptDoneEvent",
)

SPEC = VendorSpec(
    file="openai-openapi.yaml",
    pairs=(
        *(
            SpecPair(f"openai/responses/{ours}", component(theirs))
            for ours, theirs in (
                ("Response", "Response"),
                ("CreateResponse", "CreateResponse"),
                ("ResponseItemList", "ResponseItemList"),
                ("ErrorResponse", "ErrorResponse"),
                *((name, name) for name in _EVENT_TYPES),
            )
        ),
        SpecPair("openai/responses/RetrieveResponseQuery", query_parameters(_RESPONSE, "get"), parameters=True),
        SpecPair(
            "openai/responses/InputItemListParams",
            query_parameters(f"{_RESPONSE}/input_items", "get"),
            parameters=True,
        ),
    ),
    # Responses events name themselves in their ``type`` (the SSE ``event:`` line repeats it).
    event_lists=(("openai/responses", component("ResponseStreamEvent")),),
)

PROVIDER = Provider(
    name="openai-responses",
    title="OpenAI Responses",
    # The same API host, path prefix, SDK and environment as the Assistants family.
    hosts=ASSISTANTS.hosts,
    prefix=ASSISTANTS.prefix,
    routes=ROUTES,
    namespaces={"v1": "openai/responses"},
    version_of=api_version,
    error_of=error_type,
    stream_error=stream_error,
    # openai-node sends a query parameter set to null as ``name=``; openai-python leaves it out.
    blank_query_absent=True,
    lifecycles=(RESPONSE_LIFECYCLE,),
    id_prefixes={"response": "resp", "message": "msg", "function_call": "fc", "call": "call", "reasoning": "rs"},
    client_of=openai_client,
    volatile_headers=ASSISTANTS.volatile_headers,
    spec=SPEC,
    emulator_mount=ASSISTANTS.emulator_mount,
    base_url_env=ASSISTANTS.base_url_env,
    api_key_env=ASSISTANTS.api_key_env,
)
