"""Azure AI Agents: the Assistants v2 types with Azure's additions.

Azure AI Foundry Agent Service serves the Assistants v2 objects (``runreplay.models.
openai_assistants.v2``) and adds tools OpenAI never had: Bing grounding, Azure AI Search,
Azure Functions, OpenAPI, connected agents, and in preview versions MCP, SharePoint,
Fabric, Bing custom search and deep research. Those tools appear in four places, each
redeclared here with the wider union: an agent's and a run's ``tools``, a run step's
``tool_calls`` (and their stream deltas), ``tool_choice``, and ``tool_resources`` (Azure AI
Search indexes). Messages gain ``url_citation`` annotations (grounded answers cite web
pages). Fields follow the GA spec (specs/azure-ai-agents-v1.json) and the
``azure-ai-agents`` SDK's models; preview-only tools are kept open (their settings are
objects whose keys Azure still changes) and listed in schemas/deviations.yaml.

The namespace searches this module first, then the v2 and common ones: a type not
redeclared here (Thread, DeletionStatus...) is the Assistants v2 one.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any, Literal

from pydantic import Field

from runreplay.models import _base
from runreplay.models._base import Namespace, OpenModel, absent
from runreplay.models.openai_assistants import common, events, v2
from runreplay.models.openai_assistants.common import (
    AnnotationSpan,
    AnnotationSpanDelta,
    CodeInterpreterTool,
    CodeInterpreterToolCall,
    CodeInterpreterToolCallDelta,
    FileCitationAnnotation,
    FileCitationAnnotationDelta,
    FilePathAnnotation,
    FilePathAnnotationDelta,
    FunctionDefinition,
    FunctionTool,
    FunctionToolCall,
    FunctionToolCallDelta,
    ImageFileContent,
    ImageFileDeltaBlock,
    ImageUrlContent,
    ImageUrlDeltaBlock,
    ListPage,
    MessageCreationStepDetails,
    MessageCreationStepDetailsDelta,
    NamedToolChoiceFunction,
    RefusalContent,
    RefusalDeltaBlock,
    ToolCallDelta,
    ToolChoiceMode,
)
from runreplay.models.openai_assistants.v2 import (
    CodeInterpreterResources,
    FileSearchResources,
    FileSearchTool,
    FileSearchToolCall,
    FileSearchToolCallDelta,
)

SCHEMA_NAMESPACE = "azure/v1"

# --------------------------------------------------------------------------- tool definitions


class BingGroundingSearchConfiguration(OpenModel):
    connection_id: str
    market: str | None = absent()
    set_lang: str | None = absent()
    count: int | None = absent()
    freshness: str | None = absent()


class BingGroundingSettings(OpenModel):
    search_configurations: list[BingGroundingSearchConfiguration]


class BingGroundingTool(OpenModel):
    type: Literal["bing_grounding"]
    bing_grounding: BingGroundingSettings


class AzureAISearchTool(OpenModel):
    """Searches the indexes named in the agent's ``tool_resources.azure_ai_search``."""

    type: Literal["azure_ai_search"]


class AzureFunctionStorageQueue(OpenModel):
    queue_service_endpoint: str
    queue_name: str


class AzureFunctionBinding(OpenModel):
    type: Literal["storage_queue"]
    storage_queue: AzureFunctionStorageQueue


class AzureFunctionDefinition(OpenModel):
    function: FunctionDefinition
    input_binding: AzureFunctionBinding
    output_binding: AzureFunctionBinding


class AzureFunctionTool(OpenModel):
    type: Literal["azure_function"]
    azure_function: AzureFunctionDefinition


class OpenApiSecurityScheme(OpenModel):
    connection_id: str | None = absent()
    audience: str | None = absent()


class OpenApiAuth(OpenModel):
    type: Literal["anonymous", "connection", "managed_identity"]
    security_scheme: OpenApiSecurityScheme | None = absent()


class OpenApiFunctionDefinition(OpenModel):
    name: str
    description: str | None = absent()
    spec: Any
    auth: OpenApiAuth
    default_params: list[str] | None = absent()
    #: Filled in by the service from ``spec`` (read only).
    functions: list[FunctionDefinition] | None = absent()


class OpenApiTool(OpenModel):
    type: Literal["openapi"]
    openapi: OpenApiFunctionDefinition


class ConnectedAgentDetails(OpenModel):
    id: str
    name: str
    description: str


class ConnectedAgentTool(OpenModel):
    type: Literal["connected_agent"]
    connected_agent: ConnectedAgentDetails


class PreviewTool(OpenModel):
    """A tool of the preview api-versions (not in the GA spec): its settings object is kept
    open, under the key its type names (``mcp``, ``sharepoint_grounding``...)."""

    type: Literal[
        "mcp",
        "sharepoint_grounding",
        "fabric_dataagent",
        "bing_custom_search",
        "deep_research",
        "browser_automation",
        "computer_use_preview",
    ]


Tool = Annotated[
    CodeInterpreterTool
    | FileSearchTool
    | FunctionTool
    | BingGroundingTool
    | AzureAISearchTool
    | AzureFunctionTool
    | OpenApiTool
    | ConnectedAgentTool
    | PreviewTool,
    Field(discriminator="type"),
]


class NamedToolChoice(OpenModel):
    type: Literal["function", "code_interpreter", "file_search", "bing_grounding", "azure_ai_search", "connected_agent"]
    function: NamedToolChoiceFunction | None = absent()


ToolChoice = ToolChoiceMode | NamedToolChoice


class AzureAISearchIndex(OpenModel):
    index_connection_id: str | None = absent()
    index_name: str | None = absent()
    query_type: Literal["simple", "semantic", "vector", "vector_simple_hybrid", "vector_semantic_hybrid"] | None = (
        absent()
    )
    top_k: int | None = absent()
    filter: str | None = absent()
    index_asset_id: str | None = absent()


class AzureAISearchResources(OpenModel):
    indexes: list[AzureAISearchIndex] | None = absent()


class ToolResources(OpenModel):
    code_interpreter: CodeInterpreterResources | None = absent()
    file_search: FileSearchResources | None = absent()
    azure_ai_search: AzureAISearchResources | None = absent()


# --------------------------------------------------------------------------- runs and agents


class Run(v2.Run):
    tools: list[Tool]  # type: ignore[assignment]
    tool_choice: ToolChoice | None  # type: ignore[assignment]
    tool_resources: ToolResources | None = None  # type: ignore[assignment]


class RunList(ListPage):
    data: list[Run]


class Assistant(v2.Assistant):
    tools: list[Tool]  # type: ignore[assignment]
    tool_resources: ToolResources | None = None  # type: ignore[assignment]


class AssistantList(ListPage):
    data: list[Assistant]


# --------------------------------------------------------------------------- run steps


class BingGroundingToolCall(OpenModel):
    id: str
    type: Literal["bing_grounding"]
    #: ``requesturl`` and ``response_metadata`` (a string); the spec types it as a string map.
    bing_grounding: dict[str, str]


class AzureAISearchToolCall(OpenModel):
    id: str
    type: Literal["azure_ai_search"]
    #: ``input`` and ``output`` as strings.
    azure_ai_search: dict[str, str]


class OpenApiToolCall(OpenModel):
    id: str
    type: Literal["openapi"]
    openapi: dict[str, Any]


class AzureFunctionToolCall(OpenModel):
    """An Azure Functions call: the SDK has it, the GA spec does not (reviewed deviation)."""

    id: str
    type: Literal["azure_function"]
    azure_function: dict[str, Any]


class ConnectedAgentToolCall(OpenModel):
    """A call to a connected agent (in the SDK, not in the GA spec)."""

    id: str
    type: Literal["connected_agent"]
    connected_agent: dict[str, Any]


class PreviewToolCall(OpenModel):
    """A call of a preview tool (see :class:`PreviewTool`)."""

    id: str
    type: Literal["mcp", "sharepoint_grounding", "fabric_dataagent", "bing_custom_search", "deep_research"]


ToolCall = Annotated[
    CodeInterpreterToolCall
    | FileSearchToolCall
    | FunctionToolCall
    | BingGroundingToolCall
    | AzureAISearchToolCall
    | OpenApiToolCall
    | AzureFunctionToolCall
    | ConnectedAgentToolCall
    | PreviewToolCall,
    Field(discriminator="type"),
]


class ToolCallsStepDetails(OpenModel):
    type: Literal["tool_calls"]
    tool_calls: list[ToolCall]


StepDetails = Annotated[MessageCreationStepDetails | ToolCallsStepDetails, Field(discriminator="type")]


class RunStep(v2.RunStep):
    step_details: StepDetails  # type: ignore[assignment]


class RunStepList(ListPage):
    data: list[RunStep]


class AzureToolCallDelta(ToolCallDelta):
    """A streamed piece of an Azure tool's call: its details come whole, under its type's key."""

    type: Literal[
        "bing_grounding",
        "azure_ai_search",
        "openapi",
        "azure_function",
        "connected_agent",
        "mcp",
        "sharepoint_grounding",
        "fabric_dataagent",
        "bing_custom_search",
        "deep_research",
    ]


class ToolCallsStepDetailsDelta(OpenModel):
    type: Literal["tool_calls"]
    tool_calls: (
        list[
            Annotated[
                CodeInterpreterToolCallDelta | FileSearchToolCallDelta | FunctionToolCallDelta | AzureToolCallDelta,
                Field(discriminator="type"),
            ]
        ]
        | None
    ) = absent()


class StepDelta(OpenModel):
    step_details: (
        Annotated[MessageCreationStepDetailsDelta | ToolCallsStepDetailsDelta, Field(discriminator="type")] | None
    ) = absent()


class RunStepDelta(common.RunStepDeltaCore):
    delta: StepDelta


# --------------------------------------------------------------------------- messages


class UrlCitation(OpenModel):
    url: str
    title: str | None = absent()


class UrlCitationAnnotation(AnnotationSpan):
    """A web page a grounded answer cites (Bing grounding)."""

    type: Literal["url_citation"]
    url_citation: UrlCitation


Annotation = Annotated[FileCitationAnnotation | FilePathAnnotation | UrlCitationAnnotation, Field(discriminator="type")]


class Text(OpenModel):
    value: str
    annotations: list[Annotation]


class TextContent(OpenModel):
    type: Literal["text"]
    text: Text


MessageContent = Annotated[
    ImageFileContent | ImageUrlContent | TextContent | RefusalContent, Field(discriminator="type")
]


class Message(v2.Message):
    content: list[MessageContent]  # type: ignore[assignment]


class MessageList(ListPage):
    data: list[Message]


class UrlCitationDelta(OpenModel):
    url: str | None = absent()
    title: str | None = absent()


class UrlCitationAnnotationDelta(AnnotationSpanDelta):
    type: Literal["url_citation"]
    url_citation: UrlCitationDelta | None = absent()


class TextDelta(OpenModel):
    value: str | None = absent()
    annotations: (
        list[
            Annotated[
                FileCitationAnnotationDelta | FilePathAnnotationDelta | UrlCitationAnnotationDelta,
                Field(discriminator="type"),
            ]
        ]
        | None
    ) = absent()


class TextDeltaBlock(common.DeltaBlock):
    type: Literal["text"]
    text: TextDelta | None = absent()


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


class MessageDelta(common.MessageDeltaCore):
    delta: MessageDeltaContent


# --------------------------------------------------------------------------- request bodies


class ThreadCreateParams(v2.ThreadCreateParams):
    tool_resources: ToolResources | None = None  # type: ignore[assignment]


class _RunParams(common.RunParamsCore):
    schema_file = False

    tools: list[Tool] | None = None
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = absent()


class RunCreateParams(_RunParams):
    additional_instructions: str | None = None
    additional_messages: list[v2.MessageCreateParams] | None = None


class CreateThreadAndRunRequest(_RunParams):
    thread: ThreadCreateParams | None = absent()
    tool_resources: ToolResources | None = None


class AssistantCreateParams(common.AssistantParamsCore):
    tools: list[Tool] | None = absent()
    tool_resources: ToolResources | None = None


class AssistantModifyParams(AssistantCreateParams):
    model: str | None = absent()  # type: ignore[assignment]


#: Azure's stream has the Assistants v2 events (its spec lists ``thread.run.incomplete`` too).
EVENTS: dict[str, str] = dict(events.EVENTS_V2)

#: Generated together with the Assistants modules its types refer to (each file stays theirs).
SCHEMA_MODULES = (sys.modules[__name__], v2, common)

NAMESPACES = (Namespace(SCHEMA_NAMESPACE, (sys.modules[__name__], v2, common, _base), EVENTS, "AgentStreamEvent"),)
