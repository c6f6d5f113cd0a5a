"""OpenAI Assistants (v1 and v2): threads, runs, run steps, messages, assistants.

The version comes from the ``OpenAI-Beta: assistants=v1|v2`` request header (v2 when it
is absent, as the API itself did). Paths are routed after the base URL's ``/v1``. A run
is the lifecycle: created by ``create_run`` / ``create_thread_and_run``, polled by
``retrieve_run``, moved on by ``submit_tool_outputs`` and ``cancel_run``. The API was
shut down on 2026-08-26; its recordings keep replaying.
"""

from __future__ import annotations

import re
from typing import Any

from runreplay.cassette import Headers, Request, Response
from runreplay.providers.base import (
    Lifecycle,
    Provider,
    Role,
    SpecPair,
    VendorSpec,
    component,
    path,
    query_parameters,
    requested_tool_calls,
    route,
    submitted_tool_outputs,
)
from runreplay.sse import SSEEvent

RUN = "/threads/{thread_id}/runs/{run_id}"
_RUN_ID = path("run_id")

ROUTES = (
    route("POST", "/assistants", "create_assistant", "Assistant", request="AssistantCreateParams"),
    route("GET", "/assistants", "list_assistants", "AssistantList", Role.LIST, query="ListParams"),
    route("GET", "/assistants/{assistant_id}", "retrieve_assistant", "Assistant"),
    # A modify sets fields: sent twice, it leaves the same state, so replay may answer it again.
    route(
        "POST",
        "/assistants/{assistant_id}",
        "modify_assistant",
        "Assistant",
        request="AssistantModifyParams",
        repeats=True,
    ),
    route("DELETE", "/assistants/{assistant_id}", "delete_assistant", "DeletionStatus"),
    route("POST", "/threads", "create_thread", "Thread", request="ThreadCreateParams"),
    route(
        "POST",
        "/threads/runs",
        "create_thread_and_run",
        "Run",
        Role.CREATE,
        request="CreateThreadAndRunRequest",
        stream=True,
        resource="run",
    ),
    route("GET", "/threads/{thread_id}", "retrieve_thread", "Thread"),
    route("POST", "/threads/{thread_id}", "modify_thread", "Thread", request="ThreadModifyParams", repeats=True),
    route("DELETE", "/threads/{thread_id}", "delete_thread", "DeletionStatus"),
    route("POST", "/threads/{thread_id}/messages", "create_message", "Message", request="MessageCreateParams"),
    route("GET", "/threads/{thread_id}/messages", "list_messages", "MessageList", Role.LIST, query="MessageListParams"),
    route("GET", "/threads/{thread_id}/messages/{message_id}", "retrieve_message", "Message"),
    route("DELETE", "/threads/{thread_id}/messages/{message_id}", "delete_message", "DeletionStatus"),
    route(
        "POST",
        "/threads/{thread_id}/runs",
        "create_run",
        "Run",
        Role.CREATE,
        request="RunCreateParams",
        query="RunCreateQuery",
        stream=True,
        resource="run",
    ),
    route("GET", "/threads/{thread_id}/runs", "list_runs", "RunList", Role.LIST, query="RunListParams"),
    route("GET", RUN, "retrieve_run", "Run", Role.POLL, resource="run", resource_id=_RUN_ID),
    route("POST", RUN, "modify_run", "Run", request="RunModifyRequest", repeats=True),
    route(
        "POST",
        f"{RUN}/submit_tool_outputs",
        "submit_tool_outputs",
        "Run",
        Role.MUTATE,
        request="SubmitToolOutputsRequest",
        stream=True,
        resource="run",
        resource_id=_RUN_ID,
    ),
    route("POST", f"{RUN}/cancel", "cancel_run", "Run", Role.MUTATE, resource="run", resource_id=_RUN_ID),
    route("GET", f"{RUN}/steps", "list_steps", "RunStepList", Role.LIST, query="StepListParams"),
    route("GET", f"{RUN}/steps/{{step_id}}", "retrieve_step", "RunStep", query="StepRetrieveParams"),
    route(
        "POST",
        "/files",
        "upload_file",
        "OpenAIFile",
        not_emulated="file uploads are multipart; no run test needs the emulator to store files",
    ),
)


def run_of_event(event: SSEEvent) -> Any:
    """The run a ``thread.run.<status>`` event carries (step and message events carry other objects)."""
    name = event.event or ""
    if name.startswith("thread.run.") and not name.startswith("thread.run.step") and event.data_is_json:
        return event.data
    return None


RUN_LIFECYCLE = Lifecycle(
    kind="run",
    terminal=frozenset({"completed", "failed", "cancelled", "expired", "incomplete"}),
    submit="submit_tool_outputs",
    tool_outputs=submitted_tool_outputs,
    required_calls=requested_tool_calls,
    event_resource=run_of_event,
)


def api_version(request: Request) -> str:
    """``v1`` or ``v2`` (or whatever else the header names) from ``OpenAI-Beta``."""
    for header in request.headers.get_all("openai-beta"):
        for part in header.split(","):
            name, _, value = part.strip().partition("=")
            if name == "assistants" and value:
                return value
    return "v2"


def error_type(response: Response) -> str | None:
    return "ErrorResponse" if response.status >= 400 else None


def stream_error(message: str) -> SSEEvent:
    """What the API sends when a run stream fails: ``event: error`` with an error object."""
    data = {"error": {"message": message, "type": "server_error", "param": None, "code": None}}
    return SSEEvent(event="error", data=data, data_is_json=True)


_USER_AGENTS = (
    (re.compile(r"\bOpenAI/Python ([\w.\-+]+)"), "openai"),
    (re.compile(r"\bOpenAI/JS ([\w.\-+]+)"), "openai-node"),
    (re.compile(r"\bOpenAI/(\d[\w.\-+]*) \(\.NET"), "openai-dotnet"),
)
_STAINLESS_LANGS = {"python": "openai", "js": "openai-node"}


def client(headers: Headers) -> tuple[str, str] | None:
    """The OpenAI SDK that sent a request: from its user agent or its ``x-stainless-*`` headers."""
    agent = headers.get("user-agent") or ""
    for rx, name in _USER_AGENTS:
        if found := rx.search(agent):
            return name, found.group(1)
    lang, version = headers.get("x-stainless-lang"), headers.get("x-stainless-package-version")
    if lang in _STAINLESS_LANGS and version:
        return _STAINLESS_LANGS[lang], version
    return None


_RUNS = "/threads/{thread_id}/runs"
_STEPS = "/threads/{thread_id}/runs/{run_id}/steps"

#: The vendor spec is the final v2 API; v1 has no vendor spec (its documented types are the seeds).
SPEC = VendorSpec(
    file="openai-openapi.yaml",
    pairs=(
        *(
            SpecPair(f"openai/v2/{ours}", component(theirs))
            for ours, theirs in (
                ("Run", "RunObject"),
                ("RunList", "ListRunsResponse"),
                ("RunStep", "RunStepObject"),
                ("RunStepList", "ListRunStepsResponse"),
                ("RunStepDelta", "RunStepDeltaObject"),
                ("Message", "MessageObject"),
                ("MessageList", "ListMessagesResponse"),
                ("MessageDelta", "MessageDeltaObject"),
                ("Thread", "ThreadObject"),
                ("Assistant", "AssistantObject"),
                ("AssistantList", "ListAssistantsResponse"),
                ("RunCreateParams", "CreateRunRequest"),
                ("CreateThreadAndRunRequest", "CreateThreadAndRunRequest"),
                ("ThreadCreateParams", "CreateThreadRequest"),
                ("ThreadModifyParams", "ModifyThreadRequest"),
                ("MessageCreateParams", "CreateMessageRequest"),
                ("AssistantCreateParams", "CreateAssistantRequest"),
                ("AssistantModifyParams", "ModifyAssistantRequest"),
            )
        ),
        *(
            SpecPair(f"openai/common/{ours}", component(theirs))
            for ours, theirs in (
                ("RunModifyRequest", "ModifyRunRequest"),
                ("SubmitToolOutputsRequest", "SubmitToolOutputsRunRequest"),
                ("ErrorResponse", "ErrorResponse"),
                ("OpenAIFile", "OpenAIFile"),
            )
        ),
        SpecPair("openai/v2/RunCreateQuery", query_parameters(_RUNS, "post"), parameters=True),
        SpecPair("openai/common/RunListParams", query_parameters(_RUNS, "get"), parameters=True),
        SpecPair("openai/v2/StepListParams", query_parameters(_STEPS, "get"), parameters=True),
        SpecPair("openai/v2/StepRetrieveParams", query_parameters(f"{_STEPS}/{{step_id}}", "get"), parameters=True),
        SpecPair(
            "openai/common/MessageListParams", query_parameters("/threads/{thread_id}/messages", "get"), parameters=True
        ),
        SpecPair("openai/common/ListParams", query_parameters("/assistants", "get"), parameters=True),
    ),
    event_lists=(("openai/v2", component("AssistantStreamEvent")),),
)

PROVIDER = Provider(
    name="openai",
    title="OpenAI Assistants",
    # Azure's hosts (*.openai.azure.com too) belong to the Azure AI Agents family (azure_agents.py).
    hosts=re.compile(r"(^|\.)openai\.com$"),
    # Everything up to the base URL's /v1 (proxies put more in front).
    prefix=re.compile(r"^.*?/v1(?=/)"),
    routes=ROUTES,
    namespaces={"v1": "openai/v1", "v2": "openai/v2"},
    version_of=api_version,
    error_of=error_type,
    stream_error=stream_error,
    # openai-node sends a query parameter set to null as ``name=``; openai-python leaves it out.
    blank_query_absent=True,
    lifecycles=(RUN_LIFECYCLE,),
    id_prefixes={
        "assistant": "asst",
        "thread": "thread",
        "message": "msg",
        "run": "run",
        "step": "step",
        "call": "call",
    },
    client_of=client,
    # The SDKs generated by Stainless describe themselves and their retries in x-stainless-*.
    volatile_headers=("x-stainless-*",),
    spec=SPEC,
    emulator_mount="/v1",
    base_url_env="OPENAI_BASE_URL",
    api_key_env="OPENAI_API_KEY",
)
