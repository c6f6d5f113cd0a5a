"""OpenAI Responses: the response object, its output items, tools, input items and stream events.

Sources, field by field: the vendor's OpenAPI spec (specs/openai-openapi.yaml: ``Response``,
``CreateResponse``, ``OutputItem``, ``ItemResource``, ``InputItem``, ``Tool``,
``ResponseStreamEvent`` and the components they name), openai-python's
``openai.types.responses`` and, where they disagree, the real recordings in
real-traffic/openai-responses/ (schemas/deviations.yaml lists every difference from the spec).

Optional fields of everything a reply can carry are ``T | None = None``: the API sends
``null`` for unset fields and the SDKs' models serialise every unset field as ``null``.
``absent()`` is kept for request-only fields the spec types as never null and for event
fields the SDK requires but older recordings lack (``sequence_number``, ``logprobs``).

A stream is ``event: <type>`` / ``data: <json>`` pairs, the data repeating the name in
``type``; it has no ``[DONE]`` terminator. Every event carries a ``sequence_number``
(the ``starting_after`` cursor of a resumed stream counts them).
"""

from __future__ import annotations

import sys
from typing import Annotated, Any, Literal, get_args

from pydantic import Field

from runreplay.models import _base
from runreplay.models._base import Namespace, OpenModel, absent

SCHEMA_NAMESPACE = "openai/responses"

#: Up to 16 string pairs (spec ``Metadata``).
Metadata = dict[str, str] | None

ResponseStatus = Literal["completed", "failed", "in_progress", "cancelled", "queued", "incomplete"]
#: The status of most items (``FunctionCallStatus``, ``FunctionCallItemStatus``, ...).
ItemStatus = Literal["in_progress", "completed", "incomplete"]
MessagePhase = Literal["commentary", "final_answer"]
ImageDetail = Literal["low", "high", "auto", "original"]
FileDetail = Literal["auto", "low", "high"]
CallableToolAllowedCaller = Literal["direct", "programmatic"]
ToolSearchExecution = Literal["server", "client"]
ContainerMemoryLimit = Literal["1g", "4g", "16g", "64g"]
SearchContextSize = Literal["low", "medium", "high"]
ReasoningEffort = Literal["none", "minimal", "low", "medium", "high", "xhigh", "max"]
ReasoningSummary = Literal["auto", "concise", "detailed"]
ServiceTier = Literal["auto", "default", "flex", "scale", "priority", "fast", "ultrafast"]
Truncation = Literal["auto", "disabled"]
PromptCacheRetention = Literal["in_memory", "24h"]
#: What ``include`` / ``include[]`` may name (spec ``IncludeEnum``).
Includable = Literal[
    "file_search_call.results",
    "web_search_call.results",
    "web_search_call.action.sources",
    "message.input_image.image_url",
    "computer_call_output.output.image_url",
    "code_interpreter_call.outputs",
    "reasoning.encrypted_content",
    "message.output_text.logprobs",
]

# --------------------------------------------------------------------------- content parts


class PromptCacheBreakpoint(OpenModel):
    mode: Literal["explicit"]


class InputTextContent(OpenModel):
    type: Literal["input_text"]
    text: str
    prompt_cache_breakpoint: PromptCacheBreakpoint | None = None


class InputImageContent(OpenModel):
    type: Literal["input_image"]
    image_url: str | None = None
    file_id: str | None = None
    # Required on the spec's InputImageContent, optional on its request twin.
    detail: ImageDetail | None = None
    prompt_cache_breakpoint: PromptCacheBreakpoint | None = None


class InputFileContent(OpenModel):
    type: Literal["input_file"]
    file_id: str | None = None
    filename: str | None = None
    file_data: str | None = None
    file_url: str | None = None
    detail: FileDetail | None = None
    prompt_cache_breakpoint: PromptCacheBreakpoint | None = None


InputContent = Annotated[InputTextContent | InputImageContent | InputFileContent, Field(discriminator="type")]
#: A tool output given as content parts instead of a string.
ToolOutputContent = InputContent


class FileCitationAnnotation(OpenModel):
    type: Literal["file_citation"]
    file_id: str
    index: int
    filename: str


class UrlCitationAnnotation(OpenModel):
    type: Literal["url_citation"]
    url: str
    start_index: int
    end_index: int
    title: str


class ContainerFileCitationAnnotation(OpenModel):
    type: Literal["container_file_citation"]
    container_id: str
    file_id: str
    start_index: int
    end_index: int
    filename: str


class FilePathAnnotation(OpenModel):
    type: Literal["file_path"]
    file_id: str
    index: int


Annotation = Annotated[
    FileCitationAnnotation | UrlCitationAnnotation | ContainerFileCitationAnnotation | FilePathAnnotation,
    Field(discriminator="type"),
]


class TopLogProb(OpenModel):
    token: str
    logprob: float
    bytes: list[int]


class LogProb(OpenModel):
    token: str
    logprob: float
    bytes: list[int]
    top_logprobs: list[TopLogProb]


class OutputTextContent(OpenModel):
    type: Literal["output_text"]
    text: str
    annotations: list[Annotation]
    # Required in the spec; missing from responses recorded before mid-2025 (ruby-openai).
    logprobs: list[LogProb] | None = None


class RefusalContent(OpenModel):
    type: Literal["refusal"]
    refusal: str


class ReasoningTextContent(OpenModel):
    type: Literal["reasoning_text"]
    text: str


class SummaryTextContent(OpenModel):
    type: Literal["summary_text"]
    text: str


OutputMessageContent = Annotated[OutputTextContent | RefusalContent, Field(discriminator="type")]
#: The ``part`` of ``response.content_part.*`` events.
OutputContent = Annotated[OutputTextContent | RefusalContent | ReasoningTextContent, Field(discriminator="type")]

# --------------------------------------------------------------------------- who called a tool


class DirectToolCallCaller(OpenModel):
    type: Literal["direct"]


class ProgramToolCallCaller(OpenModel):
    type: Literal["program"]
    caller_id: str


ToolCallCaller = Annotated[DirectToolCallCaller | ProgramToolCallCaller, Field(discriminator="type")]

# --------------------------------------------------------------------------- items: messages and reasoning


class EasyInputMessage(OpenModel):
    """The short form of an input message: ``{"role": "user", "content": "Hi"}``, ``type`` optional."""

    role: Literal["user", "assistant", "system", "developer"]
    content: str | list[InputContent]
    phase: MessagePhase | None = None
    type: Literal["message"] | None = None


class InputMessage(OpenModel):
    type: Literal["message"]
    role: Literal["user", "system", "developer"]
    status: ItemStatus | None = None
    content: list[InputContent]


class InputMessageResource(InputMessage):
    """An input message as the input-items list returns it, with its id."""

    id: str


class OutputMessage(OpenModel):
    id: str
    type: Literal["message"]
    role: Literal["assistant"]
    content: list[OutputMessageContent]
    phase: MessagePhase | None = None
    status: ItemStatus


class ReasoningItem(OpenModel):
    type: Literal["reasoning"]
    id: str
    encrypted_content: str | None = None
    summary: list[SummaryTextContent]
    content: list[ReasoningTextContent] | None = None
    status: ItemStatus | None = None


class CompactionItem(OpenModel):
    """``compaction`` in output: the encrypted summary of a compacted context."""

    type: Literal["compaction"]
    id: str
    encrypted_content: str
    created_by: str | None = None


class CompactionSummaryParam(OpenModel):
    type: Literal["compaction"]
    id: str | None = None
    encrypted_content: str


class CompactionTriggerParam(OpenModel):
    type: Literal["compaction_trigger"]


class ItemReference(OpenModel):
    """An input item that names an earlier item by id; ``type`` may be left out."""

    type: Literal["item_reference"] | None = None
    id: str


# --------------------------------------------------------------------------- items: function and custom tools


class FunctionToolCall(OpenModel):
    """``function_call``: the client runs it and answers with a ``function_call_output``."""

    type: Literal["function_call"]
    id: str | None = None
    call_id: str
    caller: ToolCallCaller | None = None
    namespace: str | None = None
    name: str
    arguments: str
    status: ItemStatus | None = None


class FunctionToolCallResource(FunctionToolCall):
    """A function call as the input-items list returns it."""

    created_by: str | None = None


class FunctionCallOutput(OpenModel):
    """``function_call_output`` in output and in the input-items list."""

    type: Literal["function_call_output"]
    id: str
    call_id: str
    name: str | None = None
    namespace: str | None = None
    caller: ToolCallCaller | None = None
    output: str | list[ToolOutputContent]
    status: ItemStatus
    created_by: str | None = None


class FunctionCallOutputParam(OpenModel):
    """``function_call_output`` as a create request's input: the answer to a ``function_call``."""

    type: Literal["function_call_output"]
    id: str | None = None
    # Not required by the spec; every client sends it (it names the call answered).
    call_id: str | None = None
    output: str | list[ToolOutputContent]
    name: str | None = None
    namespace: str | None = None
    caller: ToolCallCaller | None = None
    status: ItemStatus | None = None


class CustomToolCall(OpenModel):
    type: Literal["custom_tool_call"]
    id: str | None = None
    call_id: str
    caller: ToolCallCaller | None = None
    namespace: str | None = None
    name: str
    input: str


class CustomToolCallResource(CustomToolCall):
    status: ItemStatus | None = None
    created_by: str | None = None


class CustomToolCallOutputParam(OpenModel):
    type: Literal["custom_tool_call_output"]
    id: str | None = None
    call_id: str
    caller: ToolCallCaller | None = None
    output: str | list[ToolOutputContent]


class CustomToolCallOutput(CustomToolCallOutputParam):
    """``custom_tool_call_output`` in output and in the input-items list."""

    id: str
    status: ItemStatus
    created_by: str | None = None


# --------------------------------------------------------------------------- items: hosted tools


class FileSearchResult(OpenModel):
    file_id: str | None = None
    text: str | None = None
    filename: str | None = None
    attributes: dict[str, str | float | bool] | None = None
    score: float | None = None


class FileSearchToolCall(OpenModel):
    type: Literal["file_search_call"]
    id: str
    status: Literal["in_progress", "searching", "completed", "incomplete", "failed"]
    queries: list[str]
    results: list[FileSearchResult] | None = None


class WebSearchSource(OpenModel):
    type: Literal["url"]
    url: str


class WebSearchActionSearch(OpenModel):
    type: Literal["search"]
    query: str | None = None
    queries: list[str] | None = None
    sources: list[WebSearchSource] | None = None


class WebSearchActionOpenPage(OpenModel):
    type: Literal["open_page"]
    url: str | None = None


class WebSearchActionFind(OpenModel):
    type: Literal["find_in_page"]
    url: str
    pattern: str


WebSearchAction = Annotated[
    WebSearchActionSearch | WebSearchActionOpenPage | WebSearchActionFind, Field(discriminator="type")
]


class WebSearchToolCall(OpenModel):
    type: Literal["web_search_call"]
    id: str
    status: Literal["in_progress", "searching", "completed", "failed"]
    action: WebSearchAction


class ClickAction(OpenModel):
    type: Literal["click"]
    button: Literal["left", "right", "wheel", "back", "forward"]
    x: int
    y: int
    keys: list[str] | None = None


class DoubleClickAction(OpenModel):
    type: Literal["double_click"]
    x: int
    y: int
    keys: list[str] | None = None


class Coordinate(OpenModel):
    x: int
    y: int


class DragAction(OpenModel):
    type: Literal["drag"]
    path: list[Coordinate]
    keys: list[str] | None = None


class KeyPressAction(OpenModel):
    type: Literal["keypress"]
    keys: list[str]


class MoveAction(OpenModel):
    type: Literal["move"]
    x: int
    y: int
    keys: list[str] | None = None


class ScreenshotAction(OpenModel):
    type: Literal["screenshot"]


class ScrollAction(OpenModel):
    type: Literal["scroll"]
    x: int
    y: int
    scroll_x: int
    scroll_y: int
    keys: list[str] | None = None


class TypeAction(OpenModel):
    type: Literal["type"]
    text: str


class WaitAction(OpenModel):
    type: Literal["wait"]


ComputerAction = Annotated[
    ClickAction
    | DoubleClickAction
    | DragAction
    | KeyPressAction
    | MoveAction
    | ScreenshotAction
    | ScrollAction
    | TypeAction
    | WaitAction,
    Field(discriminator="type"),
]


class ComputerSafetyCheck(OpenModel):
    id: str
    code: str | None = None
    message: str | None = None


class ComputerToolCall(OpenModel):
    type: Literal["computer_call"]
    id: str
    call_id: str
    action: ComputerAction | None = None
    actions: list[ComputerAction] | None = None
    pending_safety_checks: list[ComputerSafetyCheck]
    status: ItemStatus


class ComputerScreenshot(OpenModel):
    type: Literal["computer_screenshot"]
    image_url: str | None = None
    file_id: str | None = None


class ComputerCallOutput(OpenModel):
    """``computer_call_output`` in output and in the input-items list."""

    type: Literal["computer_call_output"]
    id: str
    call_id: str
    acknowledged_safety_checks: list[ComputerSafetyCheck] | None = None
    output: ComputerScreenshot
    # The spec's ComputerToolCallOutputResource lists in_progress, completed and incomplete in
    # one allOf part, completed, incomplete and failed in the other; openai-python all four.
    status: Literal["in_progress", "completed", "incomplete", "failed"]
    created_by: str | None = None


class ComputerCallOutputParam(OpenModel):
    type: Literal["computer_call_output"]
    id: str | None = None
    call_id: str
    output: ComputerScreenshot
    acknowledged_safety_checks: list[ComputerSafetyCheck] | None = None
    status: ItemStatus | None = None


class ImageGenToolCall(OpenModel):
    type: Literal["image_generation_call"]
    id: str
    status: Literal["in_progress", "completed", "generating", "failed"]
    result: str | None


class CodeInterpreterOutputLogs(OpenModel):
    type: Literal["logs"]
    logs: str


class CodeInterpreterOutputImage(OpenModel):
    type: Literal["image"]
    url: str


class CodeInterpreterToolCall(OpenModel):
    type: Literal["code_interpreter_call"]
    id: str
    status: Literal["in_progress", "completed", "incomplete", "interpreting", "failed"]
    container_id: str
    code: str | None
    outputs: list[Annotated[CodeInterpreterOutputLogs | CodeInterpreterOutputImage, Field(discriminator="type")]] | None


class LocalShellExecAction(OpenModel):
    type: Literal["exec"]
    command: list[str]
    timeout_ms: int | None = None
    working_directory: str | None = None
    env: dict[str, str]
    user: str | None = None


class LocalShellToolCall(OpenModel):
    type: Literal["local_shell_call"]
    id: str
    call_id: str
    action: LocalShellExecAction
    status: ItemStatus


class LocalShellToolCallOutput(OpenModel):
    type: Literal["local_shell_call_output"]
    id: str
    output: str
    status: ItemStatus | None = None


class ShellAction(OpenModel):
    commands: list[str]
    timeout_ms: int | None = None
    max_output_length: int | None = None


class LocalSkill(OpenModel):
    name: str
    description: str
    path: str


class LocalEnvironment(OpenModel):
    """``local`` as a shell call's (or the shell tool's) environment."""

    type: Literal["local"]
    skills: list[LocalSkill] | None = None


class LocalEnvironmentResource(OpenModel):
    """``local`` as an output shell call reports it (no skills)."""

    type: Literal["local"]


class ContainerReference(OpenModel):
    type: Literal["container_reference"]
    container_id: str


class ShellCall(OpenModel):
    """``shell_call`` in output and in the input-items list."""

    type: Literal["shell_call"]
    id: str
    call_id: str
    caller: ToolCallCaller | None = None
    action: ShellAction
    status: ItemStatus
    environment: Annotated[LocalEnvironmentResource | ContainerReference, Field(discriminator="type")] | None = None
    created_by: str | None = None


class ShellCallParam(OpenModel):
    type: Literal["shell_call"]
    id: str | None = None
    call_id: str
    caller: ToolCallCaller | None = None
    action: ShellAction
    status: ItemStatus | None = None
    environment: Annotated[LocalEnvironment | ContainerReference, Field(discriminator="type")] | None = None


class ShellTimeoutOutcome(OpenModel):
    type: Literal["timeout"]


class ShellExitOutcome(OpenModel):
    type: Literal["exit"]
    exit_code: int


ShellOutcome = Annotated[ShellTimeoutOutcome | ShellExitOutcome, Field(discriminator="type")]


class ShellCallOutputContentParam(OpenModel):
    stdout: str
    stderr: str
    outcome: ShellOutcome


class ShellCallOutputContent(ShellCallOutputContentParam):
    created_by: str | None = None


class ShellCallOutput(OpenModel):
    """``shell_call_output`` in output and in the input-items list."""

    type: Literal["shell_call_output"]
    id: str
    call_id: str
    caller: ToolCallCaller | None = None
    status: ItemStatus
    output: list[ShellCallOutputContent]
    max_output_length: int | None
    created_by: str | None = None


class ShellCallOutputParam(OpenModel):
    type: Literal["shell_call_output"]
    id: str | None = None
    call_id: str
    caller: ToolCallCaller | None = None
    output: list[ShellCallOutputContentParam]
    status: ItemStatus | None = None
    max_output_length: int | None = None


class ApplyPatchCreateFile(OpenModel):
    type: Literal["create_file"]
    path: str
    diff: str


class ApplyPatchDeleteFile(OpenModel):
    type: Literal["delete_file"]
    path: str


class ApplyPatchUpdateFile(OpenModel):
    type: Literal["update_file"]
    path: str
    diff: str


ApplyPatchOperation = Annotated[
    ApplyPatchCreateFile | ApplyPatchDeleteFile | ApplyPatchUpdateFile, Field(discriminator="type")
]


class ApplyPatchCallParam(OpenModel):
    type: Literal["apply_patch_call"]
    id: str | None = None
    call_id: str
    caller: ToolCallCaller | None = None
    status: Literal["in_progress", "completed"]
    operation: ApplyPatchOperation


class ApplyPatchCall(ApplyPatchCallParam):
    """``apply_patch_call`` in output and in the input-items list."""

    id: str
    created_by: str | None = None


class ApplyPatchCallOutputParam(OpenModel):
    type: Literal["apply_patch_call_output"]
    id: str | None = None
    call_id: str
    caller: ToolCallCaller | None = None
    status: Literal["completed", "failed"]
    output: str | None = None


class ApplyPatchCallOutput(ApplyPatchCallOutputParam):
    id: str
    created_by: str | None = None


class McpProtocolError(OpenModel):
    type: Literal["mcp_protocol_error"]
    code: int
    message: str


class McpToolExecutionError(OpenModel):
    type: Literal["mcp_tool_execution_error"]
    content: Any


class McpHttpError(OpenModel):
    type: Literal["http_error"]
    code: int
    message: str


class McpCall(OpenModel):
    type: Literal["mcp_call"]
    id: str
    server_label: str
    name: str
    arguments: str
    output: str | None = None
    error: Annotated[McpProtocolError | McpToolExecutionError | McpHttpError, Field(discriminator="type")] | None = None
    status: Literal["in_progress", "completed", "incomplete", "calling", "failed"] | None = None
    approval_request_id: str | None = None


class McpListedTool(OpenModel):
    name: str
    description: str | None = None
    #: A JSON Schema object, free-form.
    input_schema: dict[str, Any]
    annotations: dict[str, Any] | None = None


class McpListTools(OpenModel):
    type: Literal["mcp_list_tools"]
    id: str
    server_label: str
    tools: list[McpListedTool]
    error: str | None = None


class McpApprovalRequest(OpenModel):
    type: Literal["mcp_approval_request"]
    id: str
    server_label: str
    name: str
    arguments: str


class McpApprovalResponse(OpenModel):
    type: Literal["mcp_approval_response"]
    # Always set in output; may be left out when a client sends one as input.
    id: str | None = None
    approval_request_id: str
    approve: bool
    reason: str | None = None


class Program(OpenModel):
    type: Literal["program"]
    id: str
    call_id: str
    code: str
    fingerprint: str


class ProgramOutput(OpenModel):
    type: Literal["program_output"]
    id: str
    call_id: str
    result: str
    status: Literal["completed", "incomplete"]


class ToolSearchCall(OpenModel):
    """``tool_search_call`` in output and in the input-items list."""

    type: Literal["tool_search_call"]
    id: str
    call_id: str | None
    execution: ToolSearchExecution
    arguments: Any
    status: ItemStatus
    created_by: str | None = None


class ToolSearchCallParam(OpenModel):
    type: Literal["tool_search_call"]
    id: str | None = None
    call_id: str | None = None
    execution: ToolSearchExecution | None = None
    arguments: dict[str, Any]
    status: ItemStatus | None = None


# --------------------------------------------------------------------------- tools


class FunctionTool(OpenModel):
    type: Literal["function"]
    name: str
    description: str | None = None
    #: A JSON Schema object, free-form.
    parameters: dict[str, Any] | None = None
    output_schema: dict[str, Any] | None = None
    # Required (nullable) in the spec; clients that build tools by hand leave it out.
    strict: bool | None = None
    defer_loading: bool | None = None
    allowed_callers: list[CallableToolAllowedCaller] | None = None


class HybridSearchOptions(OpenModel):
    embedding_weight: float
    text_weight: float


class FileSearchRankingOptions(OpenModel):
    ranker: Literal["auto", "default-2024-11-15"] | None = None
    score_threshold: float | None = None
    hybrid_search: HybridSearchOptions | None = None


class ComparisonFilter(OpenModel):
    type: Literal["eq", "ne", "gt", "gte", "lt", "lte", "in", "nin"]
    key: str
    value: str | float | bool | list[str | float]


class CompoundFilter(OpenModel):
    type: Literal["and", "or"]
    # The spec writes the nested compound filter as {"$recursiveRef": "#"}.
    filters: list[CompoundFilter | ComparisonFilter]


class FileSearchTool(OpenModel):
    type: Literal["file_search"]
    vector_store_ids: list[str]
    max_num_results: int | None = None
    ranking_options: FileSearchRankingOptions | None = None
    filters: ComparisonFilter | CompoundFilter | None = None


class ComputerTool(OpenModel):
    type: Literal["computer"]


class ComputerUsePreviewTool(OpenModel):
    type: Literal["computer_use_preview"]
    environment: Literal["windows", "mac", "linux", "ubuntu", "browser"]
    display_width: int
    display_height: int


class WebSearchFilters(OpenModel):
    allowed_domains: list[str] | None = None


class WebSearchLocation(OpenModel):
    type: Literal["approximate"] | None = None
    country: str | None = None
    region: str | None = None
    city: str | None = None
    timezone: str | None = None


class WebSearchTool(OpenModel):
    type: Literal["web_search", "web_search_2025_08_26"]
    external_web_access: bool | None = None
    filters: WebSearchFilters | None = None
    user_location: WebSearchLocation | None = None
    search_context_size: SearchContextSize | None = None


class McpToolFilter(OpenModel):
    tool_names: list[str] | None = None
    read_only: bool | None = None


class McpApprovalFilters(OpenModel):
    always: McpToolFilter | None = None
    never: McpToolFilter | None = None


class McpTool(OpenModel):
    type: Literal["mcp"]
    server_label: str
    server_url: str | None = None
    connector_id: (
        Literal[
            "connector_dropbox",
            "connector_gmail",
            "connector_googlecalendar",
            "connector_googledrive",
            "connector_microsoftteams",
            "connector_outlookcalendar",
            "connector_outlookemail",
            "connector_sharepoint",
        ]
        | None
    ) = None
    tunnel_id: str | None = None
    authorization: str | None = None
    server_description: str | None = None
    headers: dict[str, str] | None = None
    allowed_tools: list[str] | McpToolFilter | None = None
    allowed_callers: list[CallableToolAllowedCaller] | None = None
    require_approval: McpApprovalFilters | Literal["always", "never"] | None = None
    defer_loading: bool | None = None


class NetworkPolicyDisabled(OpenModel):
    type: Literal["disabled"]


class DomainSecret(OpenModel):
    domain: str
    name: str
    value: str


class NetworkPolicyAllowlist(OpenModel):
    type: Literal["allowlist"]
    allowed_domains: list[str]
    domain_secrets: list[DomainSecret] | None = None


NetworkPolicy = Annotated[NetworkPolicyDisabled | NetworkPolicyAllowlist, Field(discriminator="type")]


class CodeInterpreterAutoContainer(OpenModel):
    type: Literal["auto"]
    file_ids: list[str] | None = None
    memory_limit: ContainerMemoryLimit | None = None
    network_policy: NetworkPolicy | None = None


class CodeInterpreterTool(OpenModel):
    type: Literal["code_interpreter"]
    #: A container id, or ``{"type": "auto", ...}``.
    container: str | CodeInterpreterAutoContainer
    allowed_callers: list[CallableToolAllowedCaller] | None = None


class ProgrammaticToolCallingTool(OpenModel):
    type: Literal["programmatic_tool_calling"]


class ImageMask(OpenModel):
    image_url: str | None = None
    file_id: str | None = None


class ImageGenTool(OpenModel):
    type: Literal["image_generation"]
    #: A model name; the spec lists the known ones but takes any string.
    model: str | None = None
    quality: Literal["low", "medium", "high", "auto"] | None = None
    size: str | None = None
    output_format: Literal["png", "webp", "jpeg"] | None = None
    output_compression: int | None = None
    moderation: Literal["auto", "low"] | None = None
    background: Literal["transparent", "opaque", "auto"] | None = None
    input_fidelity: Literal["high", "low"] | None = None
    input_image_mask: ImageMask | None = None
    partial_images: int | None = None
    action: Literal["generate", "edit", "auto"] | None = None


class LocalShellTool(OpenModel):
    type: Literal["local_shell"]


class SkillReference(OpenModel):
    type: Literal["skill_reference"]
    skill_id: str
    version: str | None = None


class InlineSkillSource(OpenModel):
    type: Literal["base64"]
    media_type: Literal["application/zip"]
    data: str


class InlineSkill(OpenModel):
    type: Literal["inline"]
    name: str
    description: str
    source: InlineSkillSource


class ContainerAuto(OpenModel):
    type: Literal["container_auto"]
    file_ids: list[str] | None = None
    memory_limit: ContainerMemoryLimit | None = None
    network_policy: NetworkPolicy | None = None
    skills: list[Annotated[SkillReference | InlineSkill, Field(discriminator="type")]] | None = None


class ShellTool(OpenModel):
    type: Literal["shell"]
    environment: (
        Annotated[ContainerAuto | LocalEnvironment | ContainerReference, Field(discriminator="type")] | None
    ) = None
    allowed_callers: list[CallableToolAllowedCaller] | None = None


class CustomTextFormat(OpenModel):
    type: Literal["text"]


class CustomGrammarFormat(OpenModel):
    type: Literal["grammar"]
    syntax: Literal["lark", "regex"]
    definition: str


class CustomTool(OpenModel):
    type: Literal["custom"]
    name: str
    description: str | None = None
    format: Annotated[CustomTextFormat | CustomGrammarFormat, Field(discriminator="type")] | None = None
    defer_loading: bool | None = None
    allowed_callers: list[CallableToolAllowedCaller] | None = None


class NamespaceTool(OpenModel):
    type: Literal["namespace"]
    name: str
    description: str
    tools: list[Annotated[FunctionTool | CustomTool, Field(discriminator="type")]]


class ToolSearchTool(OpenModel):
    type: Literal["tool_search"]
    execution: ToolSearchExecution | None = None
    description: str | None = None
    parameters: dict[str, Any] | None = None


class ApproximateLocation(OpenModel):
    type: Literal["approximate"]
    country: str | None = None
    region: str | None = None
    city: str | None = None
    timezone: str | None = None


class WebSearchPreviewTool(OpenModel):
    type: Literal["web_search_preview", "web_search_preview_2025_03_11"]
    user_location: ApproximateLocation | None = None
    search_context_size: SearchContextSize | None = None
    search_content_types: list[Literal["text", "image"]] | None = None


class ApplyPatchTool(OpenModel):
    type: Literal["apply_patch"]
    allowed_callers: list[CallableToolAllowedCaller] | None = None


#: Every tool definition, in the spec's order (``Tool``).
Tool = Annotated[
    FunctionTool
    | FileSearchTool
    | ComputerTool
    | ComputerUsePreviewTool
    | WebSearchTool
    | McpTool
    | CodeInterpreterTool
    | ProgrammaticToolCallingTool
    | ImageGenTool
    | LocalShellTool
    | ShellTool
    | CustomTool
    | NamespaceTool
    | ToolSearchTool
    | WebSearchPreviewTool
    | ApplyPatchTool,
    Field(discriminator="type"),
]

# --------------------------------------------------------------------------- items that carry tools


class ToolSearchOutput(OpenModel):
    """``tool_search_output`` in output and in the input-items list."""

    type: Literal["tool_search_output"]
    id: str
    call_id: str | None
    execution: ToolSearchExecution
    tools: list[Tool]
    status: ItemStatus
    created_by: str | None = None


class ToolSearchOutputParam(OpenModel):
    type: Literal["tool_search_output"]
    id: str | None = None
    call_id: str | None = None
    execution: ToolSearchExecution | None = None
    tools: list[Tool]
    status: ItemStatus | None = None


class AdditionalTools(OpenModel):
    """``additional_tools`` in output: tools added to the context."""

    type: Literal["additional_tools"]
    id: str
    role: Literal["unknown", "user", "assistant", "system", "critic", "discriminator", "developer", "tool"]
    tools: list[Tool]


class AdditionalToolsParam(OpenModel):
    type: Literal["additional_tools"]
    id: str | None = None
    role: Literal["developer"]
    tools: list[Tool]


# --------------------------------------------------------------------------- the item unions

#: What a response's ``output`` holds: every item the model (or a hosted tool) produces.
OutputItem = Annotated[
    OutputMessage
    | FileSearchToolCall
    | FunctionToolCall
    | FunctionCallOutput
    | WebSearchToolCall
    | ComputerToolCall
    | ComputerCallOutput
    | ReasoningItem
    | Program
    | ProgramOutput
    | ToolSearchCall
    | ToolSearchOutput
    | AdditionalTools
    | CompactionItem
    | ImageGenToolCall
    | CodeInterpreterToolCall
    | LocalShellToolCall
    | LocalShellToolCallOutput
    | ShellCall
    | ShellCallOutput
    | ApplyPatchCall
    | ApplyPatchCallOutput
    | McpCall
    | McpListTools
    | McpApprovalRequest
    | McpApprovalResponse
    | CustomToolCall
    | CustomToolCallOutput,
    Field(discriminator="type"),
]

#: Input items with a required ``type`` of their own (``message`` aside).
_TaggedInputItem = Annotated[
    FileSearchToolCall
    | ComputerToolCall
    | ComputerCallOutputParam
    | WebSearchToolCall
    | FunctionToolCall
    | FunctionCallOutputParam
    | ToolSearchCallParam
    | ToolSearchOutputParam
    | AdditionalToolsParam
    | ReasoningItem
    | CompactionSummaryParam
    | ImageGenToolCall
    | CodeInterpreterToolCall
    | LocalShellToolCall
    | LocalShellToolCallOutput
    | ShellCallParam
    | ShellCallOutputParam
    | ApplyPatchCallParam
    | ApplyPatchCallOutputParam
    | McpListTools
    | McpApprovalRequest
    | McpApprovalResponse
    | McpCall
    | CustomToolCallOutputParam
    | CustomToolCall
    | CompactionTriggerParam
    | Program
    | ProgramOutput,
    Field(discriminator="type"),
]

#: An item of a create request's ``input`` (and of a response's ``instructions``). Not one
#: tagged union: three kinds of message share ``type: "message"`` (and the short form may
#: leave ``type`` out), as may an item reference.
InputItem = EasyInputMessage | InputMessage | OutputMessage | _TaggedInputItem | ItemReference

_TaggedItemResource = Annotated[
    FileSearchToolCall
    | ComputerToolCall
    | ComputerCallOutput
    | WebSearchToolCall
    | FunctionToolCallResource
    | FunctionCallOutput
    | ToolSearchCall
    | ToolSearchOutput
    | AdditionalTools
    | ReasoningItem
    | Program
    | ProgramOutput
    | CompactionItem
    | ImageGenToolCall
    | CodeInterpreterToolCall
    | LocalShellToolCall
    | LocalShellToolCallOutput
    | ShellCall
    | ShellCallOutput
    | ApplyPatchCall
    | ApplyPatchCallOutput
    | McpListTools
    | McpApprovalRequest
    | McpApprovalResponse
    | McpCall
    | CustomToolCallResource
    | CustomToolCallOutput,
    Field(discriminator="type"),
]

#: An item of the input-items list: input messages (with their ids) and output messages
#: both have ``type: "message"``.
ItemResource = InputMessageResource | OutputMessage | _TaggedItemResource

# --------------------------------------------------------------------------- tool choice


class ToolChoiceAllowed(OpenModel):
    type: Literal["allowed_tools"]
    mode: Literal["auto", "required"]
    #: Tool definitions, free-form (``{"type": "function", "name": "x"}``, ...).
    tools: list[dict[str, Any]]


class ToolChoiceHosted(OpenModel):
    type: Literal[
        "file_search",
        "web_search_preview",
        "computer",
        "computer_use_preview",
        "computer_use",
        "web_search_preview_2025_03_11",
        "image_generation",
        "code_interpreter",
    ]


class ToolChoiceFunction(OpenModel):
    type: Literal["function"]
    name: str


class ToolChoiceMcp(OpenModel):
    type: Literal["mcp"]
    server_label: str
    name: str | None = None


class ToolChoiceCustom(OpenModel):
    type: Literal["custom"]
    name: str


class ToolChoiceProgrammatic(OpenModel):
    type: Literal["programmatic_tool_calling"]


class ToolChoiceApplyPatch(OpenModel):
    type: Literal["apply_patch"]


class ToolChoiceShell(OpenModel):
    type: Literal["shell"]


ToolChoice = (
    Literal["none", "auto", "required"]
    | Annotated[
        ToolChoiceAllowed
        | ToolChoiceHosted
        | ToolChoiceFunction
        | ToolChoiceMcp
        | ToolChoiceCustom
        | ToolChoiceProgrammatic
        | ToolChoiceApplyPatch
        | ToolChoiceShell,
        Field(discriminator="type"),
    ]
)

# --------------------------------------------------------------------------- settings


class TextFormatText(OpenModel):
    type: Literal["text"]


class TextFormatJsonObject(OpenModel):
    type: Literal["json_object"]


class TextFormatJsonSchema(OpenModel):
    type: Literal["json_schema"]
    description: str | None = None
    name: str
    # "schema" shadows a BaseModel attribute, hence the alias.
    schema_: dict[str, Any] = Field(alias="schema")
    strict: bool | None = None


class TextConfig(OpenModel):
    """``text``: the output format and verbosity."""

    format: (
        Annotated[TextFormatText | TextFormatJsonSchema | TextFormatJsonObject, Field(discriminator="type")] | None
    ) = None
    verbosity: Literal["low", "medium", "high"] | None = None


class Reasoning(OpenModel):
    #: ``standard`` or ``pro``; the spec takes any string.
    mode: str | None = None
    effort: ReasoningEffort | None = None
    summary: ReasoningSummary | None = None
    context: Literal["auto", "current_turn", "all_turns"] | None = None
    # Deprecated for summary; what responses recorded in early 2025 carry (ruby-openai).
    generate_summary: ReasoningSummary | None = None


class InputTokensDetails(OpenModel):
    cached_tokens: int
    # Required in the spec; no recording up to 2026-02 has it.
    cache_write_tokens: int | None = absent()


class OutputTokensDetails(OpenModel):
    reasoning_tokens: int


class ResponseUsage(OpenModel):
    input_tokens: int
    input_tokens_details: InputTokensDetails
    output_tokens: int
    output_tokens_details: OutputTokensDetails
    total_tokens: int


class ResponseError(OpenModel):
    """Why a response ``failed`` (``error`` is ``null`` otherwise)."""

    code: Literal[
        "server_error",
        "rate_limit_exceeded",
        "invalid_prompt",
        "data_residency_mismatch",
        "bio_policy",
        "vector_store_timeout",
        "invalid_image",
        "invalid_image_format",
        "invalid_base64_image",
        "invalid_image_url",
        "image_too_large",
        "image_too_small",
        "image_parse_error",
        "image_content_policy_violation",
        "invalid_image_mode",
        "image_file_too_large",
        "unsupported_image_media_type",
        "empty_image_file",
        "failed_to_download_image",
        "image_file_not_found",
    ]
    message: str


class IncompleteDetails(OpenModel):
    reason: Literal["max_output_tokens", "content_filter"] | None = None


class Prompt(OpenModel):
    """A reusable prompt template and the values of its variables."""

    id: str
    version: str | None = None
    variables: dict[str, str | InputContent] | None = None


class ResponseConversation(OpenModel):
    id: str


class PromptCacheOptions(OpenModel):
    ttl: Literal["30m"] | None = None
    mode: Literal["implicit", "explicit"] | None = None


class ModerationResult(OpenModel):
    type: Literal["moderation_result"]
    model: str
    flagged: bool
    categories: dict[str, bool]
    category_scores: dict[str, float]
    category_applied_input_types: dict[str, list[Literal["text", "image"]]]


class ModerationError(OpenModel):
    type: Literal["error"]
    code: str
    message: str


ModerationOutcome = Annotated[ModerationResult | ModerationError, Field(discriminator="type")]


class Moderation(OpenModel):
    input: ModerationOutcome
    output: ModerationOutcome


class Billing(OpenModel):
    """Who pays for a response (real traffic since 2026; not in the spec)."""

    payer: str


# --------------------------------------------------------------------------- the response


class Response(OpenModel):
    """A model response; ``queued -> in_progress -> completed | failed | cancelled | incomplete``."""

    id: str
    object: Literal["response"]
    created_at: float
    # Not required by the spec (nor by openai-python); in every recording.
    status: ResponseStatus | None = None
    completed_at: float | None = None
    # Missing from responses recorded before background mode existed (early 2025).
    background: bool | None = None
    error: ResponseError | None
    incomplete_details: IncompleteDetails | None
    instructions: str | list[InputItem] | None
    max_output_tokens: int | None = None
    max_tool_calls: int | None = None
    model: str
    output: list[OutputItem]
    parallel_tool_calls: bool
    previous_response_id: str | None = None
    conversation: ResponseConversation | None = None
    prompt: Prompt | None = None
    prompt_cache_key: str | None = None
    prompt_cache_retention: PromptCacheRetention | None = None
    prompt_cache_options: PromptCacheOptions | None = None
    reasoning: Reasoning | None = None
    safety_identifier: str | None = None
    service_tier: ServiceTier | None = None
    temperature: float | None
    text: TextConfig | None = None
    tool_choice: ToolChoice
    tools: list[Tool]
    top_logprobs: int | None = None
    top_p: float | None
    truncation: Truncation | None = None
    usage: ResponseUsage | None = None
    user: str | None = None
    metadata: Metadata
    moderation: Moderation | None = None
    # In every recording; the spec's Response does not list it (only CreateResponse does).
    store: bool | None = None
    # Sent by the API since late 2025 (real traffic); not in the spec.
    frequency_penalty: float | None = None
    presence_penalty: float | None = None
    billing: Billing | None = None


class ResponseDeleted(OpenModel):
    """What ``DELETE /responses/{id}`` returns. The spec documents no schema, only an example
    with ``"object": "response"``; the API sends ``"response.deleted"`` (openai-dotnet's
    CanDeleteResponse recording). openai-python ignores the body."""

    id: str
    object: Literal["response.deleted", "response"]
    deleted: bool


class ResponseItemList(OpenModel):
    """``GET /responses/{id}/input_items``: ``{"object": "list", "data": [...], ...}``."""

    object: Literal["list"]
    data: list[ItemResource]
    has_more: bool
    first_id: str
    last_id: str


class ErrorObject(OpenModel):
    message: str
    type: str
    param: str | None
    code: str | None


class ErrorResponse(OpenModel):
    """What a non-2xx reply carries: ``{"error": {"message", "type", "param", "code"}}``."""

    error: ErrorObject


# --------------------------------------------------------------------------- requests


class ConversationRef(OpenModel):
    id: str


class ModerationConfig(OpenModel):
    mode: Literal["score", "block"]


class ModerationPolicy(OpenModel):
    input: ModerationConfig | None = None
    output: ModerationConfig | None = None


class ModerationParam(OpenModel):
    model: str
    policy: ModerationPolicy | None = None


class StreamOptions(OpenModel):
    include_obfuscation: bool | None = absent()


class ContextManagement(OpenModel):
    type: str
    compact_threshold: int | None = None


class CreateResponse(OpenModel):
    """``POST /responses``: every field may be left out (a stored prompt can name the model)."""

    model: str | None = absent()
    input: str | list[InputItem] | None = absent()
    instructions: str | None = None
    background: bool | None = None
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    include: list[Includable] | None = None
    previous_response_id: str | None = None
    conversation: str | ConversationRef | None = None
    store: bool | None = None
    metadata: Metadata = None
    tools: list[Tool] | None = absent()
    tool_choice: ToolChoice | None = absent()
    parallel_tool_calls: bool | None = None
    max_tool_calls: int | None = None
    max_output_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_logprobs: int | None = absent()
    text: TextConfig | None = absent()
    reasoning: Reasoning | None = None
    truncation: Truncation | None = None
    service_tier: ServiceTier | None = None
    prompt: Prompt | None = None
    prompt_cache_key: str | None = None
    prompt_cache_retention: PromptCacheRetention | None = None
    prompt_cache_options: PromptCacheOptions | None = absent()
    safety_identifier: str | None = None
    user: str | None = absent()
    moderation: ModerationParam | None = None
    context_management: list[ContextManagement] | None = None


class RetrieveResponseQuery(OpenModel):
    """``GET /responses/{id}``: ``?include[]=...``; ``?stream=true&starting_after=N`` resumes
    the event stream of a background response after event N."""

    include: list[Includable] | None = absent()
    stream: bool | None = absent()
    starting_after: int | None = absent()
    include_obfuscation: bool | None = absent()


class InputItemListParams(OpenModel):
    """Cursor pagination of ``GET /responses/{id}/input_items`` (query string)."""

    limit: int | None = absent()
    order: Literal["asc", "desc"] | None = absent()
    after: str | None = absent()
    # Gone from the current spec and openai-python; earlier openai-python releases sent it.
    before: str | None = absent()
    include: list[Includable] | None = absent()


# --------------------------------------------------------------------------- stream events


class StreamEvent(OpenModel):
    """What every event has: its name again, and its place in the stream."""

    schema_file = False

    # Required in the spec; streams recorded before mid-2025 (ruby-openai) have none.
    sequence_number: int | None = absent()


class ResponseEvent(StreamEvent):
    schema_file = False

    response: Response


class ResponseCreatedEvent(ResponseEvent):
    type: Literal["response.created"]


class ResponseQueuedEvent(ResponseEvent):
    type: Literal["response.queued"]


class ResponseInProgressEvent(ResponseEvent):
    type: Literal["response.in_progress"]


class ResponseCompletedEvent(ResponseEvent):
    type: Literal["response.completed"]


class ResponseFailedEvent(ResponseEvent):
    type: Literal["response.failed"]


class ResponseIncompleteEvent(ResponseEvent):
    type: Literal["response.incomplete"]


class ResponseErrorEvent(StreamEvent):
    """The ``error`` event: the stream failed (the response may not exist)."""

    type: Literal["error"]
    code: str | None
    message: str
    param: str | None


class OutputIndexEvent(StreamEvent):
    schema_file = False

    output_index: int


class ResponseOutputItemAddedEvent(OutputIndexEvent):
    type: Literal["response.output_item.added"]
    item: OutputItem


class ResponseOutputItemDoneEvent(OutputIndexEvent):
    type: Literal["response.output_item.done"]
    item: OutputItem


class ItemEvent(OutputIndexEvent):
    """An event about one output item (``item_id``)."""

    schema_file = False

    item_id: str


class ContentEvent(ItemEvent):
    schema_file = False

    content_index: int


class ResponseContentPartAddedEvent(ContentEvent):
    type: Literal["response.content_part.added"]
    part: OutputContent


class ResponseContentPartDoneEvent(ContentEvent):
    type: Literal["response.content_part.done"]
    part: OutputContent


class ResponseLogProbAlternative(OpenModel):
    token: str
    logprob: float


class ResponseLogProb(OpenModel):
    token: str
    logprob: float
    top_logprobs: list[ResponseLogProbAlternative] | None = None


class ResponseTextDeltaEvent(ContentEvent):
    type: Literal["response.output_text.delta"]
    delta: str
    # Required in the spec; missing from streams recorded before mid-2025 (ruby-openai).
    logprobs: list[ResponseLogProb] | None = absent()
    # Sent unless include_obfuscation is false (real traffic); the spec's event lacks it.
    obfuscation: str | None = absent()


class ResponseTextDoneEvent(ContentEvent):
    type: Literal["response.output_text.done"]
    text: str
    logprobs: list[ResponseLogProb] | None = absent()


class ResponseOutputTextAnnotationAddedEvent(ContentEvent):
    type: Literal["response.output_text.annotation.added"]
    annotation_index: int
    annotation: Annotation | None


class ResponseRefusalDeltaEvent(ContentEvent):
    type: Literal["response.refusal.delta"]
    delta: str


class ResponseRefusalDoneEvent(ContentEvent):
    type: Literal["response.refusal.done"]
    refusal: str


class ResponseFunctionCallArgumentsDeltaEvent(ItemEvent):
    type: Literal["response.function_call_arguments.delta"]
    delta: str
    # Sent unless include_obfuscation is false (real traffic); the spec's event lacks it.
    obfuscation: str | None = absent()


class ResponseFunctionCallArgumentsDoneEvent(ItemEvent):
    type: Literal["response.function_call_arguments.done"]
    # Required in the spec; neither the recordings nor openai-python have it.
    name: str | None = absent()
    arguments: str


class ResponseCustomToolCallInputDeltaEvent(ItemEvent):
    type: Literal["response.custom_tool_call_input.delta"]
    delta: str


class ResponseCustomToolCallInputDoneEvent(ItemEvent):
    type: Literal["response.custom_tool_call_input.done"]
    input: str


class SummaryEvent(ItemEvent):
    schema_file = False

    summary_index: int


class ResponseReasoningSummaryPartAddedEvent(SummaryEvent):
    type: Literal["response.reasoning_summary_part.added"]
    part: SummaryTextContent


class ResponseReasoningSummaryPartDoneEvent(SummaryEvent):
    type: Literal["response.reasoning_summary_part.done"]
    status: Literal["incomplete"] | None = None
    part: SummaryTextContent


class ResponseReasoningSummaryTextDeltaEvent(SummaryEvent):
    type: Literal["response.reasoning_summary_text.delta"]
    delta: str


class ResponseReasoningSummaryTextDoneEvent(SummaryEvent):
    type: Literal["response.reasoning_summary_text.done"]
    text: str


class ResponseReasoningTextDeltaEvent(ContentEvent):
    type: Literal["response.reasoning_text.delta"]
    delta: str


class ResponseReasoningTextDoneEvent(ContentEvent):
    type: Literal["response.reasoning_text.done"]
    text: str


class ResponseFileSearchCallInProgressEvent(ItemEvent):
    type: Literal["response.file_search_call.in_progress"]


class ResponseFileSearchCallSearchingEvent(ItemEvent):
    type: Literal["response.file_search_call.searching"]


class ResponseFileSearchCallCompletedEvent(ItemEvent):
    type: Literal["response.file_search_call.completed"]


class ResponseWebSearchCallInProgressEvent(ItemEvent):
    type: Literal["response.web_search_call.in_progress"]


class ResponseWebSearchCallSearchingEvent(ItemEvent):
    type: Literal["response.web_search_call.searching"]


class ResponseWebSearchCallCompletedEvent(ItemEvent):
    type: Literal["response.web_search_call.completed"]


class ResponseCodeInterpreterCallInProgressEvent(ItemEvent):
    type: Literal["response.code_interpreter_call.in_progress"]


class ResponseCodeInterpreterCallInterpretingEvent(ItemEvent):
    type: Literal["response.code_interpreter_call.interpreting"]


class ResponseCodeInterpreterCallCompletedEvent(ItemEvent):
    type: Literal["response.code_interpreter_call.completed"]


class ResponseCodeInterpreterCallCodeDeltaEvent(ItemEvent):
    type: Literal["response.code_interpreter_call_code.delta"]
    delta: str


class ResponseCodeInterpreterCallCodeDoneEvent(ItemEvent):
    type: Literal["response.code_interpreter_call_code.done"]
    code: str


class ResponseImageGenCallInProgressEvent(ItemEvent):
    type: Literal["response.image_generation_call.in_progress"]


class ResponseImageGenCallGeneratingEvent(ItemEvent):
    type: Literal["response.image_generation_call.generating"]


class ResponseImageGenCallCompletedEvent(ItemEvent):
    type: Literal["response.image_generation_call.completed"]


class ResponseImageGenCallPartialImageEvent(ItemEvent):
    type: Literal["response.image_generation_call.partial_image"]
    partial_image_index: int
    partial_image_b64: str
    size: str | None = None
    quality: str | None = None
    background: str | None = None
    output_format: str | None = None


class ResponseMCPCallInProgressEvent(ItemEvent):
    type: Literal["response.mcp_call.in_progress"]


class ResponseMCPCallCompletedEvent(ItemEvent):
    type: Literal["response.mcp_call.completed"]


class ResponseMCPCallFailedEvent(ItemEvent):
    type: Literal["response.mcp_call.failed"]


class ResponseMCPCallArgumentsDeltaEvent(ItemEvent):
    type: Literal["response.mcp_call_arguments.delta"]
    delta: str


class ResponseMCPCallArgumentsDoneEvent(ItemEvent):
    type: Literal["response.mcp_call_arguments.done"]
    arguments: str


class ResponseMCPListToolsInProgressEvent(ItemEvent):
    type: Literal["response.mcp_list_tools.in_progress"]


class ResponseMCPListToolsCompletedEvent(ItemEvent):
    type: Literal["response.mcp_list_tools.completed"]


class ResponseMCPListToolsFailedEvent(ItemEvent):
    type: Literal["response.mcp_list_tools.failed"]


class ShellCommandEvent(OutputIndexEvent):
    schema_file = False

    command_index: int


class ResponseShellCallCommandAddedStreamingEvent(ShellCommandEvent):
    type: Literal["response.shell_call_command.added"]
    command: str


class ResponseShellCallCommandDeltaStreamingEvent(ShellCommandEvent):
    type: Literal["response.shell_call_command.delta"]
    delta: str
    obfuscation: str | None = absent()


class ResponseShellCallCommandDoneStreamingEvent(ShellCommandEvent):
    type: Literal["response.shell_call_command.done"]
    command: str


class ShellCallOutputDelta(OpenModel):
    stdout: str | None = absent()
    stderr: str | None = absent()


class ResponseShellCallOutputContentDeltaStreamingEvent(ShellCommandEvent):
    type: Literal["response.shell_call_output_content.delta"]
    item_id: str
    delta: ShellCallOutputDelta


class ResponseShellCallOutputContentDoneStreamingEvent(ShellCommandEvent):
    type: Literal["response.shell_call_output_content.done"]
    item_id: str
    output: list[ShellCallOutputContent]


class ResponseAudioDeltaEvent(StreamEvent):
    type: Literal["response.audio.delta"]
    delta: str


class ResponseAudioDoneEvent(StreamEvent):
    type: Literal["response.audio.done"]


class ResponseAudioTranscriptDeltaEvent(StreamEvent):
    type: Literal["response.audio.transcript.delta"]
    delta: str


class ResponseAudioTranscriptDoneEvent(StreamEvent):
    type: Literal["response.audio.transcript.done"]


_EVENT_TYPES: tuple[type[StreamEvent], ...] = (
    ResponseCreatedEvent,
    ResponseQueuedEvent,
    ResponseInProgressEvent,
    ResponseCompletedEvent,
    ResponseFailedEvent,
    ResponseIncompleteEvent,
    ResponseErrorEvent,
    ResponseOutputItemAddedEvent,
    ResponseOutputItemDoneEvent,
    ResponseContentPartAddedEvent,
    ResponseContentPartDoneEvent,
    ResponseTextDeltaEvent,
    ResponseTextDoneEvent,
    ResponseOutputTextAnnotationAddedEvent,
    ResponseRefusalDeltaEvent,
    ResponseRefusalDoneEvent,
    ResponseFunctionCallArgumentsDeltaEvent,
    ResponseFunctionCallArgumentsDoneEvent,
    ResponseCustomToolCallInputDeltaEvent,
    ResponseCustomToolCallInputDoneEvent,
    ResponseReasoningSummaryPartAddedEvent,
    ResponseReasoningSummaryPartDoneEvent,
    ResponseReasoningSummaryTextDeltaEvent,
    ResponseReasoningSummaryTextDoneEvent,
    ResponseReasoningTextDeltaEvent,
    ResponseReasoningTextDoneEvent,
    ResponseFileSearchCallInProgressEvent,
    ResponseFileSearchCallSearchingEvent,
    ResponseFileSearchCallCompletedEvent,
    ResponseWebSearchCallInProgressEvent,
    ResponseWebSearchCallSearchingEvent,
    ResponseWebSearchCallCompletedEvent,
    ResponseCodeInterpreterCallInProgressEvent,
    ResponseCodeInterpreterCallInterpretingEvent,
    ResponseCodeInterpreterCallCompletedEvent,
    ResponseCodeInterpreterCallCodeDeltaEvent,
    ResponseCodeInterpreterCallCodeDoneEvent,
    ResponseImageGenCallInProgressEvent,
    ResponseImageGenCallGeneratingEvent,
    ResponseImageGenCallCompletedEvent,
    ResponseImageGenCallPartialImageEvent,
    ResponseMCPCallInProgressEvent,
    ResponseMCPCallCompletedEvent,
    ResponseMCPCallFailedEvent,
    ResponseMCPCallArgumentsDeltaEvent,
    ResponseMCPCallArgumentsDoneEvent,
    ResponseMCPListToolsInProgressEvent,
    ResponseMCPListToolsCompletedEvent,
    ResponseMCPListToolsFailedEvent,
    ResponseShellCallCommandAddedStreamingEvent,
    ResponseShellCallCommandDeltaStreamingEvent,
    ResponseShellCallCommandDoneStreamingEvent,
    ResponseShellCallOutputContentDeltaStreamingEvent,
    ResponseShellCallOutputContentDoneStreamingEvent,
    ResponseAudioDeltaEvent,
    ResponseAudioDoneEvent,
    ResponseAudioTranscriptDeltaEvent,
    ResponseAudioTranscriptDoneEvent,
)


def _event_name(event_type: type[StreamEvent]) -> str:
    """The one value an event type's ``type`` takes."""
    (name,) = get_args(event_type.model_fields["type"].annotation)
    return str(name)


#: Event name -> the type of its data (names in this module). Each event's data repeats its
#: name in ``type``.
EVENTS: dict[str, str] = {_event_name(event_type): event_type.__name__ for event_type in _EVENT_TYPES}

NAMESPACES = (Namespace("openai/responses", (sys.modules[__name__], _base), EVENTS, "ResponseStreamEvent"),)
