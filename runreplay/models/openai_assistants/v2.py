"""OpenAI Assistants API v2 (``OpenAI-Beta: assistants=v2``, the default).

v2 replaced ``file_ids`` with ``tool_resources`` and message ``attachments``, and the
``retrieval`` tool with ``file_search``; it added ``parallel_tool_calls``,
``truncation_strategy``, ``incomplete_details``, ``max_*_tokens``, ``response_format``,
``tool_choice`` and the run status ``incomplete``. Fields follow the vendor's final
OpenAPI spec (specs/openai-openapi.yaml); where real traffic disagrees, the recordings
win and schemas/deviations.yaml says why.
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
    ImageUrlContent,
    ImageUrlDeltaBlock,
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
    RefusalContent,
    RefusalDeltaBlock,
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

SCHEMA_NAMESPACE = "openai/v2"

RunStatus = Literal[
    "queued",
    "in_progress",
    "requires_action",
    "cancelling",
    "cancelled",
    "failed",
    "completed",
    "incomplete",
    "expired",
]

ReasoningEffort = Literal["none", "minimal", "low", "medium", "high", "xhigh", "max"]


class FileSearchRankingOptions(OpenModel):
    ranker: Literal["auto", "default_2024_08_21"] | None = absent()
    score_threshold: float


class FileSearchSettings(OpenModel):
    max_num_results: int | None = absent()
    ranking_options: FileSearchRankingOptions | None = absent()


class FileSearchTool(OpenModel):
    type: Literal["file_search"]
    file_search: FileSearchSettings | None = absent()


Tool = Annotated[CodeInterpreterTool | FileSearchTool | FunctionTool, Field(discriminator="type")]


class LastError(OpenModel):
    code: Literal["server_error", "rate_limit_exceeded", "invalid_prompt"]
    message: str


class NamedToolChoice(OpenModel):
    type: Literal["function", "code_interpreter", "file_search"]
    function: NamedToolChoiceFunction | None = absent()


ToolChoice = ToolChoiceMode | NamedToolChoice


class CodeInterpreterResources(OpenModel):
    file_ids: list[str] | None = absent()


class FileSearchResources(OpenModel):
    vector_store_ids: list[str] | None = absent()


class ToolResources(OpenModel):
    code_interpreter: CodeInterpreterResources | None = absent()
    file_search: FileSearchResources | None = absent()


class Run(RunCore):
    status: RunStatus
    required_action: RequiredAction | None
    last_error: LastError | None
    tools: list[Tool]
    usage: Usage | None
    temperature: float | None
    top_p: float | None
    max_prompt_tokens: int | None
    max_completion_tokens: int | None
    truncation_strategy: TruncationStrategy | None
    incomplete_details: RunIncompleteDetails | None
    response_format: ResponseFormat | None
    tool_choice: ToolChoice | None
    # Missing from runs recorded before mid-2024.
    parallel_tool_calls: bool | None = absent()
    # Sent by the API (always null in the recordings), not in the spec's RunObject.
    reasoning_effort: ReasoningEffort | None = None
    # Sent on every real v2 run; the spec's RunObject does not list it.
    tool_resources: ToolResources | None = None


class RunList(ListPage):
    data: list[Run]


# --------------------------------------------------------------------------- steps


class FileSearchResultContent(OpenModel):
    type: Literal["text"]
    text: str


class FileSearchResult(OpenModel):
    file_id: str
    file_name: str
    score: float
    content: list[FileSearchResultContent] | None = absent()


class FileSearchCallRankingOptions(OpenModel):
    ranker: Literal["auto", "default_2024_08_21"]
    score_threshold: float


class FileSearchCall(OpenModel):
    ranking_options: FileSearchCallRankingOptions | None = absent()
    #: Only with ``include[]=step_details.tool_calls[*].file_search.results[*].content``.
    results: list[FileSearchResult] | None = absent()


class FileSearchToolCall(OpenModel):
    id: str
    type: Literal["file_search"]
    file_search: FileSearchCall


ToolCall = Annotated[CodeInterpreterToolCall | FileSearchToolCall | FunctionToolCall, Field(discriminator="type")]


class ToolCallsStepDetails(OpenModel):
    type: Literal["tool_calls"]
    tool_calls: list[ToolCall]


StepDetails = Annotated[MessageCreationStepDetails | ToolCallsStepDetails, Field(discriminator="type")]


class RunStep(RunStepCore):
    step_details: StepDetails
    usage: Usage | None


class RunStepList(ListPage):
    data: list[RunStep]


#: The one value ``include[]`` accepts on step and run-creation endpoints.
StepInclude = Literal["step_details.tool_calls[*].file_search.results[*].content"]


class StepListParams(ListParams):
    include: list[StepInclude] | None = absent()


class StepRetrieveParams(OpenModel):
    include: list[StepInclude] | None = absent()


class FileSearchToolCallDelta(ToolCallDelta):
    type: Literal["file_search"]
    file_search: FileSearchCall


class ToolCallsStepDetailsDelta(OpenModel):
    type: Literal["tool_calls"]
    tool_calls: (
        list[
            Annotated[
                CodeInterpreterToolCallDelta | FileSearchToolCallDelta | FunctionToolCallDelta,
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


class FileSearchTypeOnly(OpenModel):
    type: Literal["file_search"]


class Attachment(OpenModel):
    file_id: str | None = absent()
    tools: list[Annotated[CodeInterpreterTool | FileSearchTypeOnly, Field(discriminator="type")]] | None = absent()


MessageContent = Annotated[
    ImageFileContent | ImageUrlContent | TextContent | RefusalContent, Field(discriminator="type")
]


class Message(MessageCore):
    content: list[MessageContent]
    attachments: list[Attachment] | None
    # Required in the spec and always in stream events, but the replies of create and
    # list messages leave these four out (every real recording, 2024 to 2026).
    status: MessageStatus | None = absent()
    incomplete_details: MessageIncompleteDetails | None = None
    completed_at: int | None = None
    incomplete_at: int | None = None


class MessageList(ListPage):
    data: list[Message]


class MessageDeltaContent(OpenModel):
    role: Literal["user", "assistant"] | None = absent()
    content: (
        list[
            Annotated[
                ImageFileDeltaBlock | TextDeltaBlock | RefusalDeltaBlock | ImageUrlDeltaBlock,
                Field(discriminator="type"),
            ]
        ]
        | None
    ) = absent()


class MessageDelta(MessageDeltaCore):
    delta: MessageDeltaContent


class Thread(ThreadCore):
    tool_resources: ToolResources | None


class Assistant(AssistantCore):
    tools: list[Tool]
    tool_resources: ToolResources | None = None
    # Sent by the API (null in the recordings); the spec's AssistantObject lacks it.
    reasoning_effort: ReasoningEffort | None = None


class AssistantList(ListPage):
    data: list[Assistant]


# --------------------------------------------------------------------------- request bodies


class MessageRequestText(OpenModel):
    type: Literal["text"]
    text: str


MessageRequestContent = Annotated[ImageFileContent | ImageUrlContent | MessageRequestText, Field(discriminator="type")]


class MessageCreateParams(OpenModel):
    role: Literal["user", "assistant"]
    content: str | list[MessageRequestContent]
    attachments: list[Attachment] | None = None
    metadata: Metadata = None


class ChunkingStrategyStatic(OpenModel):
    max_chunk_size_tokens: int
    chunk_overlap_tokens: int


class ChunkingStrategy(OpenModel):
    type: Literal["auto", "static"]
    static: ChunkingStrategyStatic | None = absent()


class NewVectorStore(OpenModel):
    file_ids: list[str] | None = absent()
    chunking_strategy: ChunkingStrategy | None = absent()
    metadata: Metadata = None


class FileSearchResourcesParam(FileSearchResources):
    #: Create a vector store from files instead of naming existing ones.
    vector_stores: list[NewVectorStore] | None = absent()


class ToolResourcesParam(OpenModel):
    code_interpreter: CodeInterpreterResources | None = absent()
    file_search: FileSearchResourcesParam | None = absent()


class ThreadCreateParams(OpenModel):
    messages: list[MessageCreateParams] | None = absent()
    metadata: Metadata = None
    tool_resources: ToolResourcesParam | None = None


class _RunParams(RunParamsCore):
    tools: list[Tool] | None = None
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = absent()


class RunCreateParams(_RunParams):
    additional_instructions: str | None = None
    additional_messages: list[MessageCreateParams] | None = None
    reasoning_effort: ReasoningEffort | None = None


class RunCreateQuery(OpenModel):
    include: list[StepInclude] | None = absent()


class CreateThreadAndRunRequest(_RunParams):
    thread: ThreadCreateParams | None = absent()
    tool_resources: ToolResources | None = None


class AssistantCreateParams(AssistantParamsCore):
    tools: list[Tool] | None = absent()
    tool_resources: ToolResourcesParam | None = None
    reasoning_effort: ReasoningEffort | None = None


class AssistantModifyParams(AssistantCreateParams):
    model: str | None = absent()  # type: ignore[assignment]
    # Existing vector stores only: a modification cannot create one.
    tool_resources: ToolResources | None = None  # type: ignore[assignment]


class ThreadModifyParams(OpenModel):
    metadata: Metadata = None
    tool_resources: ToolResources | None = None
