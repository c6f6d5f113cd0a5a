"""OpenAI Assistants types that are the same in API versions v1 and v2.

Sources, field by field: go-openai ``run.go`` and openai-node ``runs.d.ts`` (seeds/),
the vendor's OpenAPI spec (specs/openai-openapi.yaml) and, for nullability, the real
recordings in real-traffic/openai-assistants/ (the API sends ``null`` for most unset
fields rather than leaving them out).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, RootModel

from runreplay.models._base import OpenModel, absent

SCHEMA_NAMESPACE = "openai/common"

#: Up to 16 string pairs in the spec; go-openai and openai-node type the values loosely.
Metadata = dict[str, Any] | None

# --------------------------------------------------------------------------- tools


class FunctionDefinition(OpenModel):
    name: str
    description: str | None = absent()
    #: A JSON Schema object, free-form.
    parameters: dict[str, Any] | None = absent()
    strict: bool | None = None


class CodeInterpreterTool(OpenModel):
    type: Literal["code_interpreter"]


class FunctionTool(OpenModel):
    type: Literal["function"]
    function: FunctionDefinition


class NamedToolChoiceFunction(OpenModel):
    name: str


#: How the model picks a tool when no specific tool is named.
ToolChoiceMode = Literal["none", "auto", "required"]


class TruncationStrategy(OpenModel):
    type: Literal["auto", "last_messages"]
    last_messages: int | None = None


class ResponseFormatText(OpenModel):
    type: Literal["text"]


class ResponseFormatJsonObject(OpenModel):
    type: Literal["json_object"]


class JsonSchemaFormat(OpenModel):
    name: str
    description: str | None = absent()
    # "schema" shadows a BaseModel attribute, hence the alias.
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    strict: bool | None = None


class ResponseFormatJsonSchema(OpenModel):
    type: Literal["json_schema"]
    json_schema: JsonSchemaFormat


ResponseFormat = (
    Literal["auto"]
    | Annotated[
        ResponseFormatText | ResponseFormatJsonObject | ResponseFormatJsonSchema,
        Field(discriminator="type"),
    ]
)

# --------------------------------------------------------------------------- runs


class PromptTokenDetails(OpenModel):
    cached_tokens: int


class CompletionTokensDetails(OpenModel):
    reasoning_tokens: int


class Usage(OpenModel):
    """Token use of a run or a step; ``null`` until it reaches a terminal state."""

    completion_tokens: int
    prompt_tokens: int
    total_tokens: int
    # Sent by the API since 2025 (real traffic), not in the vendor spec. Note the
    # singular "prompt_token_details": that is the spelling on the wire.
    prompt_token_details: PromptTokenDetails | None = absent()
    completion_tokens_details: CompletionTokensDetails | None = absent()


class ToolCallFunction(OpenModel):
    name: str
    arguments: str


class RequiredActionFunctionToolCall(OpenModel):
    """A function call the client must run and answer with ``submit_tool_outputs``."""

    id: str
    type: Literal["function"]
    function: ToolCallFunction


class SubmitToolOutputs(OpenModel):
    tool_calls: list[RequiredActionFunctionToolCall]


class RequiredAction(OpenModel):
    type: Literal["submit_tool_outputs"]
    submit_tool_outputs: SubmitToolOutputs


class RunIncompleteDetails(OpenModel):
    reason: Literal["max_completion_tokens", "max_prompt_tokens"]


class ToolOutput(OpenModel):
    # Both optional in openai-node and the spec; go-openai always sends both.
    tool_call_id: str | None = absent()
    output: str | None = absent()


class SubmitToolOutputsRequest(OpenModel):
    tool_outputs: list[ToolOutput]
    stream: bool | None = None


class RunModifyRequest(OpenModel):
    metadata: Metadata = None


class ListParams(OpenModel):
    """Cursor pagination of every list endpoint (query string)."""

    limit: int | None = absent()
    order: Literal["asc", "desc"] | None = absent()
    after: str | None = absent()
    before: str | None = absent()


class RunListParams(ListParams):
    pass


class MessageListParams(ListParams):
    run_id: str | None = absent()


class ListPage(OpenModel):
    """``{"object": "list", "data": [...], "first_id", "last_id", "has_more"}``.

    The ids are ``null`` when the page is empty (real traffic), though the spec says string.
    """

    schema_file = False

    object: Literal["list"]
    first_id: str | None
    last_id: str | None
    has_more: bool


# --------------------------------------------------------------------------- steps

StepStatus = Literal["in_progress", "cancelled", "failed", "completed", "expired"]


class StepLastError(OpenModel):
    code: Literal["server_error", "rate_limit_exceeded"]
    message: str


class MessageCreation(OpenModel):
    message_id: str


class MessageCreationStepDetails(OpenModel):
    type: Literal["message_creation"]
    message_creation: MessageCreation


class CodeInterpreterLogsOutput(OpenModel):
    type: Literal["logs"]
    logs: str


ImageDetail = Literal["auto", "low", "high"]


class ImageFile(OpenModel):
    file_id: str


class CodeInterpreterImageOutput(OpenModel):
    type: Literal["image"]
    image: ImageFile


CodeInterpreterOutput = Annotated[CodeInterpreterLogsOutput | CodeInterpreterImageOutput, Field(discriminator="type")]


class CodeInterpreter(OpenModel):
    input: str
    outputs: list[CodeInterpreterOutput]


class CodeInterpreterToolCall(OpenModel):
    id: str
    type: Literal["code_interpreter"]
    code_interpreter: CodeInterpreter


class FunctionCallWithOutput(OpenModel):
    name: str
    arguments: str
    #: ``null`` until the tool output was submitted.
    output: str | None


class FunctionToolCall(OpenModel):
    id: str
    type: Literal["function"]
    function: FunctionCallWithOutput


# --------------------------------------------------------------------------- step deltas


class DeltaBlock(OpenModel):
    """A piece of a streamed list: ``index`` says which element it adds to."""

    schema_file = False

    index: int


class ToolCallDelta(DeltaBlock):
    schema_file = False

    id: str | None = absent()


class MessageCreationDelta(OpenModel):
    message_id: str | None = absent()


class MessageCreationStepDetailsDelta(OpenModel):
    type: Literal["message_creation"]
    message_creation: MessageCreationDelta | None = absent()


class CodeInterpreterLogsOutputDelta(DeltaBlock):
    type: Literal["logs"]
    logs: str | None = absent()


class ImageFileDelta(OpenModel):
    file_id: str | None = absent()


class CodeInterpreterImageOutputDelta(DeltaBlock):
    type: Literal["image"]
    image: ImageFileDelta | None = absent()


class CodeInterpreterDelta(OpenModel):
    input: str | None = absent()
    outputs: (
        list[
            Annotated[
                CodeInterpreterLogsOutputDelta | CodeInterpreterImageOutputDelta,
                Field(discriminator="type"),
            ]
        ]
        | None
    ) = absent()


class CodeInterpreterToolCallDelta(ToolCallDelta):
    type: Literal["code_interpreter"]
    code_interpreter: CodeInterpreterDelta | None = absent()


class FunctionCallDelta(OpenModel):
    name: str | None = absent()
    arguments: str | None = absent()
    output: str | None = None


class FunctionToolCallDelta(ToolCallDelta):
    type: Literal["function"]
    function: FunctionCallDelta | None = absent()


# --------------------------------------------------------------------------- messages

MessageStatus = Literal["in_progress", "incomplete", "completed"]


class MessageIncompleteDetails(OpenModel):
    reason: Literal["content_filter", "max_tokens", "run_cancelled", "run_expired", "run_failed"]


class FileCitation(OpenModel):
    file_id: str
    # v1 always sent the quoted text; v2 dropped it from messages (deltas still carry it).
    quote: str | None = absent()


class AnnotationSpan(OpenModel):
    """The part of a text an annotation refers to."""

    schema_file = False

    text: str
    start_index: int
    end_index: int


class FileCitationAnnotation(AnnotationSpan):
    type: Literal["file_citation"]
    file_citation: FileCitation


class FilePath(OpenModel):
    file_id: str


class FilePathAnnotation(AnnotationSpan):
    type: Literal["file_path"]
    file_path: FilePath


Annotation = Annotated[FileCitationAnnotation | FilePathAnnotation, Field(discriminator="type")]


class Text(OpenModel):
    value: str
    annotations: list[Annotation]


class TextContent(OpenModel):
    type: Literal["text"]
    text: Text


class ImageFileDetail(OpenModel):
    file_id: str
    detail: ImageDetail | None = absent()


class ImageFileContent(OpenModel):
    type: Literal["image_file"]
    image_file: ImageFileDetail


class ImageUrl(OpenModel):
    url: str
    detail: ImageDetail | None = absent()


class ImageUrlContent(OpenModel):
    type: Literal["image_url"]
    image_url: ImageUrl


class RefusalContent(OpenModel):
    type: Literal["refusal"]
    refusal: str


# --------------------------------------------------------------------------- message deltas


class FileCitationDeltaDetail(OpenModel):
    file_id: str | None = absent()
    quote: str | None = absent()


class AnnotationSpanDelta(DeltaBlock):
    schema_file = False

    text: str | None = absent()
    start_index: int | None = absent()
    end_index: int | None = absent()


class FileCitationAnnotationDelta(AnnotationSpanDelta):
    type: Literal["file_citation"]
    file_citation: FileCitationDeltaDetail | None = absent()


class FilePathDeltaDetail(OpenModel):
    file_id: str | None = absent()


class FilePathAnnotationDelta(AnnotationSpanDelta):
    type: Literal["file_path"]
    file_path: FilePathDeltaDetail | None = absent()


class TextDelta(OpenModel):
    value: str | None = absent()
    annotations: (
        list[Annotated[FileCitationAnnotationDelta | FilePathAnnotationDelta, Field(discriminator="type")]] | None
    ) = absent()


class TextDeltaBlock(DeltaBlock):
    type: Literal["text"]
    text: TextDelta | None = absent()


class ImageFileDeltaDetail(OpenModel):
    file_id: str | None = absent()
    detail: ImageDetail | None = absent()


class ImageFileDeltaBlock(DeltaBlock):
    type: Literal["image_file"]
    image_file: ImageFileDeltaDetail | None = absent()


class ImageUrlDeltaDetail(OpenModel):
    url: str | None = absent()
    detail: ImageDetail | None = absent()


class ImageUrlDeltaBlock(DeltaBlock):
    type: Literal["image_url"]
    image_url: ImageUrlDeltaDetail | None = absent()


class RefusalDeltaBlock(DeltaBlock):
    type: Literal["refusal"]
    refusal: str | None = absent()


# --------------------------------------------------------------------------- other objects


class ErrorObject(OpenModel):
    """The body of an ``error`` stream event, and of ``{"error": ...}`` replies."""

    message: str
    type: str
    param: str | None
    code: str | None


class ErrorResponse(OpenModel):
    """What a non-2xx reply carries."""

    error: ErrorObject


class StreamError(RootModel[ErrorResponse | ErrorObject]):
    """The data of an ``error`` stream event. The API sends ``{"error": {...}}``, which is what
    openai-python reads (it raises ``APIError`` with the inner object); the vendor spec
    documents the bare error object, which is accepted too."""


class DeletionStatus(OpenModel):
    id: str
    object: Literal["assistant.deleted", "thread.deleted", "thread.message.deleted"]
    deleted: bool


class OpenAIFile(OpenModel):
    """``POST /v1/files`` (uploads of the files that code_interpreter and file_search read)."""

    id: str
    object: Literal["file"]
    bytes: int
    created_at: int
    expires_at: int | None = None
    filename: str
    purpose: Literal[
        "assistants",
        "assistants_output",
        "batch",
        "batch_output",
        "fine-tune",
        "fine-tune-results",
        "vision",
        "user_data",
    ]
    status: Literal["uploaded", "processed", "error"] | None = absent()
    status_details: str | None = None


# --------------------------------------------------------------------------- shared cores
# The fields each object has in both versions; openai_v1 and openai_v2 add their own.


class RunCore(OpenModel):
    schema_file = False

    id: str
    object: Literal["thread.run"]
    created_at: int
    thread_id: str
    assistant_id: str
    expires_at: int | None
    started_at: int | None
    cancelled_at: int | None
    failed_at: int | None
    completed_at: int | None
    model: str
    instructions: str | None
    metadata: Metadata


class RunStepCore(OpenModel):
    schema_file = False

    id: str
    object: Literal["thread.run.step"]
    created_at: int
    assistant_id: str
    thread_id: str
    run_id: str
    type: Literal["message_creation", "tool_calls"]
    status: StepStatus
    last_error: StepLastError | None
    # The API sends "expires_at" on steps; go-openai and the spec name it "expired_at",
    # which no recording has ever carried.
    expires_at: int | None
    expired_at: int | None = None
    cancelled_at: int | None
    failed_at: int | None
    completed_at: int | None
    # Required in the spec and go-openai, but real steps carry no metadata.
    metadata: Metadata = None


class RunStepDeltaCore(OpenModel):
    schema_file = False

    id: str
    object: Literal["thread.run.step.delta"]


class MessageCore(OpenModel):
    schema_file = False

    id: str
    object: Literal["thread.message"]
    created_at: int
    thread_id: str
    role: Literal["user", "assistant"]
    assistant_id: str | None
    run_id: str | None
    metadata: Metadata


class MessageDeltaCore(OpenModel):
    schema_file = False

    id: str
    object: Literal["thread.message.delta"]


class ThreadCore(OpenModel):
    schema_file = False

    id: str
    object: Literal["thread"]
    created_at: int
    metadata: Metadata


class AssistantCore(OpenModel):
    schema_file = False

    id: str
    object: Literal["assistant"]
    created_at: int
    name: str | None
    description: str | None
    model: str
    instructions: str | None
    metadata: Metadata
    # Required in v2's spec, but absent from most v1 recordings.
    temperature: float | None = None
    top_p: float | None = None
    response_format: ResponseFormat | None = None


class RunParamsCore(OpenModel):
    """Request fields shared by create-run and create-thread-and-run, in both versions."""

    schema_file = False

    assistant_id: str
    model: str | None = None
    instructions: str | None = None
    metadata: Metadata = None
    stream: bool | None = None
    temperature: float | None = None
    top_p: float | None = None
    max_prompt_tokens: int | None = None
    max_completion_tokens: int | None = None
    truncation_strategy: TruncationStrategy | None = None
    response_format: ResponseFormat | None = None


class AssistantParamsCore(OpenModel):
    schema_file = False

    model: str
    name: str | None = None
    description: str | None = None
    instructions: str | None = None
    metadata: Metadata = None
    temperature: float | None = None
    top_p: float | None = None
    response_format: ResponseFormat | None = None
