"""OpenAI Assistants: routes, API version and error replies.

The version comes from the ``OpenAI-Beta: assistants=v1|v2`` request header (v2 when it
is absent, as the API itself did). Paths are matched after the base URL's ``/v1``.
Assistants, threads, messages and file uploads are routed too: every recorded run test
creates them, and their v1/v2 shapes differ like the runs'.
"""

from __future__ import annotations

import re

from runreplay.cassette import Request, Response
from runreplay.providers._routing import Provider, route

RUN = "/threads/{thread_id}/runs/{run_id}"

ROUTES = (
    route("POST", "/assistants", "Assistant", request="AssistantCreateParams"),
    route("GET", "/assistants", "AssistantList", query="ListParams"),
    route("GET", "/assistants/{assistant_id}", "Assistant"),
    route("POST", "/assistants/{assistant_id}", "Assistant", request="AssistantModifyParams"),
    route("DELETE", "/assistants/{assistant_id}", "DeletionStatus"),
    route("POST", "/threads", "Thread", request="ThreadCreateParams"),
    route("POST", "/threads/runs", "Run", request="CreateThreadAndRunRequest", stream=True),
    route("GET", "/threads/{thread_id}", "Thread"),
    route("POST", "/threads/{thread_id}", "Thread", request="ThreadModifyParams"),
    route("DELETE", "/threads/{thread_id}", "DeletionStatus"),
    route("POST", "/threads/{thread_id}/messages", "Message", request="MessageCreateParams"),
    route("GET", "/threads/{thread_id}/messages", "MessageList", query="MessageListParams"),
    route("GET", "/threads/{thread_id}/messages/{message_id}", "Message"),
    route("DELETE", "/threads/{thread_id}/messages/{message_id}", "DeletionStatus"),
    route("POST", "/threads/{thread_id}/runs", "Run", request="RunCreateParams", query="RunCreateQuery", stream=True),
    route("GET", "/threads/{thread_id}/runs", "RunList", query="RunListParams"),
    route("GET", RUN, "Run"),
    route("POST", RUN, "Run", request="RunModifyRequest"),
    route("POST", f"{RUN}/submit_tool_outputs", "Run", request="SubmitToolOutputsRequest", stream=True),
    route("POST", f"{RUN}/cancel", "Run"),
    route("GET", f"{RUN}/steps", "RunStepList", query="StepListParams"),
    route("GET", f"{RUN}/steps/{{step_id}}", "RunStep", query="StepRetrieveParams"),
    # A multipart upload: only the reply is checked.
    route("POST", "/files", "OpenAIFile"),
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


PROVIDER = Provider(
    name="openai",
    hosts=re.compile(r"(^|\.)openai\.(com|azure\.com)$"),
    # Everything up to the base URL's /v1 (proxies and Azure put more in front).
    prefix=re.compile(r"^.*?/v1(?=/)"),
    routes=ROUTES,
    namespaces={"v1": "openai/v1", "v2": "openai/v2"},
    version_of=api_version,
    error_of=error_type,
)
