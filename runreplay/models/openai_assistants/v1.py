"""OpenAI Assistants API v1 (``OpenAI-Beta: assistants=v1``).

v1 attaches files with ``file_ids`` and searches them with the ``retrieval`` tool. The
types follow go-openai ``run.go`` and openai-node ``runs.d.ts`` (seeds/). Real v1 traffic
shows two eras: launch (Nov 2023: no ``required_action``/``usage`` key on runs at all)
and the last one (Apr 2024), when v1 replies gained the sampling and truncation fields
that v2 introduced; those are optional here.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from runreplay.models._base import OpenModel, absent
from runreplay.models.openai_assistants.common import (
    AssistantCore,
    AssistantParamsCore,
    CodeInterpreterTool,
    CodeInterpreterToolCall,
    CodeInterpreterToolCallDelta,
    FunctionTool,
    FunctionToolCall,
    FunctionToolCallDelta,
    ImageFileContent,
    ImageFileDeltaBlock,
    ListPage,
    ListParams,
    MessageCore,
    MessageCreationStepDetails,
    MessageCreationStepDetailsDelta,
    MessageDeltaCore,
    MessageIncompleteDetails,
    MessageStatus,
    Metadata,
    NamedToolChoiceFunction,
    RequiredAction,
    ResponseFormat,
    RunCore,
    RunIncompleteDetails,
    RunParamsCore,
    RunStepCore,
    RunStepDeltaCore,
    TextContent,
    TextDeltaBlock,
    ThreadCore,
    ToolCallDelta,
    ToolChoiceMode,
    TruncationStrategy,
    Usage,
)

SCHEMA_NAMESPACE = "openai/v1"

# go-openai lists seven statuses; openai-node adds "cancelled". "incomplete" is v2 only.
RunStatus = Literal[
    "queued", "in_progress", "requires_action", "cancelling", "cancelled", "failed", "completed", "expired"
]


class RetrievalTool(OpenModel):
    type: Literal["retrieval"]


Tool = Annotated[CodeInterpreterTool | RetrievalTool | FunctionTool, Field(discriminator="type")]


class LastError(OpenModel):
    code: Literal["server_error", "rate_limit_exceeded"]
    message: str


class NamedToolChoice(OpenModel):
    type: Literal["function", "code_interpreter", "retrieval"]
    function: NamedToolChoiceFunction | None = absent()


ToolChoice = ToolChoiceMode | NamedToolChoice


class Run(RunCore):
    status: RunStatus
    # Absent on launch-era runs; null when no action is needed.
    required_action: RequiredAction | None = None
    last_error: LastError | None
    tools: list[Tool]
    file_ids: list[str]
    usage: Usage | None = None
    # Added to v1 replies in April 2024, together with v2.
    temperature: float | None = None
    top_p: float | None = None
    max_prompt_tokens: int | None = None
    max_completion_tokens: int | None = None
    truncation_strategy: TruncationStrategy | None = None
    incomplete_details: RunIncompleteDetails | None = None
    response_format: ResponseFormat | None = None
    tool_choice: ToolChoice | None = None


class RunList(ListPage):
    data: list[Run]


# --------------------------------------------------------------------------- steps


class RetrievalToolCall(OpenModel):
    id: str
    type: Literal["retrieval"]
    #: Always an empty object.
    retrieval: dict[str, object]


ToolCall = Annotated[CodeInterpreterToolCall | RetrievalToolCall | FunctionToolCall, Field(discriminator="type")]


class ToolCallsStepDetails(OpenModel):
    type: Literal["tool_calls"]
    tool_calls: list[ToolCall]


StepDetails = Annotated[MessageCreationStepDetails | ToolCallsStepDetails, Field(discriminator="type")]


class RunStep(RunStepCore):
    step_details: StepDetails
    usage: Usage | None = None


class RunStepList(ListPage):
    data: list[RunStep]


class StepListParams(ListParams):
    pass


class StepRetrieveParams(OpenModel):
    """v1 step retrieval takes no query parameters (``include[]`` came with v2)."""


class RetrievalToolCallDelta(ToolCallDelta):
    type: Literal["retrieval"]
    retrieval: dict[str, object] | None = absent()


class ToolCallsStepDetailsDelta(OpenModel):
    type: Literal["tool_calls"]
    tool_calls: (
        list[
            Annotated[
                CodeInterpreterToolCallDelta | RetrievalToolCallDelta | FunctionToolCallDelta,
                Field(discriminator="type"),
            ]
        ]
        | None
    ) = absent()


class StepDelta(OpenModel):
    step_details: (
        Annotated[MessageCreationStepDetailsDelta | ToolCallsStepDetailsDelta, Field(discriminator="type")] | None
    ) = absent()


class RunStepDelta(RunStepDeltaCore):
    delta: StepDelta


# --------------------------------------------------------------------------- messages and threads

MessageContent = Annotated[TextContent | ImageFileContent, Field(discriminator="type")]


class Message(MessageCore):
    content: list[MessageContent]
    file_ids: list[str]
    # Added in April 2024.
    status: MessageStatus | None = absent()
    incomplete_details: MessageIncompleteDetails | None = None
    completed_at: int | None = None
    incomplete_at: int | None = None


class MessageList(ListPage):
    data: list[Message]


class MessageDeltaContent(OpenModel):
    role: Literal["user", "assistant"] | None = absent()
    content: list[Annotated[TextDeltaBlock | ImageFileDeltaBlock, Field(discriminator="type")]] | None = absent()
    file_ids: list[str] | None = absent()


class MessageDelta(MessageDeltaCore):
    delta: MessageDeltaContent


class Thread(ThreadCore):
    pass


class Assistant(AssistantCore):
    tools: list[Tool]
    file_ids: list[str]


class AssistantList(ListPage):
    data: list[Assistant]


# --------------------------------------------------------------------------- request bodies


class MessageCreateParams(OpenModel):
    role: Literal["user"]
    content: str
    file_ids: list[str] | None = absent()
    metadata: Metadata = None


class ThreadCreateParams(OpenModel):
    messages: list[MessageCreateParams] | None = absent()
    metadata: Metadata = None


class _RunParams(RunParamsCore):
    tools: list[Tool] | None = None
    tool_choice: ToolChoice | None = None


class RunCreateParams(_RunParams):
    additional_instructions: str | None = None


class RunCreateQuery(OpenModel):
    """v1 run creation takes no query parameters."""


class CreateThreadAndRunRequest(_RunParams):
    thread: ThreadCreateParams | None = absent()


class AssistantCreateParams(AssistantParamsCore):
    tools: list[Tool] | None = absent()
    file_ids: list[str] | None = absent()


class AssistantModifyParams(AssistantCreateParams):
    model: str | None = absent()  # type: ignore[assignment]


class ThreadModifyParams(OpenModel):
    metadata: Metadata = None
