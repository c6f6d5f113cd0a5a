"""The OpenAI Assistants run as a resource with a lifecycle (create -> polls -> mutations)."""

from __future__ import annotations

from runreplay.lifecycle import ResourceSpec, Route, requested_tool_calls, submitted_tool_outputs

_RUN = r"/threads/[^/]+/runs/(?P<id>[^/]+)"


RUN = ResourceSpec(
    provider="openai",
    kind="run",
    create=(
        Route("POST", r"/threads/[^/]+/runs", name="create"),
        Route("POST", r"/threads/runs", name="create_thread_and_run"),
    ),
    poll=(Route("GET", _RUN, name="retrieve"),),
    mutate=(
        Route("POST", _RUN + r"/submit_tool_outputs", name="submit_tool_outputs"),
        Route("POST", _RUN + r"/cancel", name="cancel"),
    ),
    unwrap=lambda body: body,
    terminal=frozenset({"completed", "failed", "cancelled", "expired", "incomplete"}),
    tool_outputs=submitted_tool_outputs,
    required_calls=requested_tool_calls,
)
