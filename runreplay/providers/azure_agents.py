"""Azure AI Agents: the Assistants v2 run protocol as Azure serves it.

Azure AI Foundry Agent Service (and Azure OpenAI's own Assistants) kept the threads /
runs / run-steps protocol after OpenAI retired it. The routes and the run lifecycle are
the Assistants ones (imported from :mod:`runreplay.providers.openai_assistants`); what
differs is where they live and how the version is named. Three path shapes lead to them:

* Foundry projects: ``https://<resource>.services.ai.azure.com/api/projects/<project>/threads/...``
  (the ``azure-ai-agents`` SDK);
* hub-based projects: ``/agents/v1.0/subscriptions/<sub>/resourceGroups/<rg>/providers/
  Microsoft.MachineLearningServices/workspaces/<ws>/threads/...`` (the SDK's betas);
* Azure OpenAI: ``https://<resource>.openai.azure.com/openai/threads/...`` (openai-python's
  ``AzureOpenAI``).

The API version is the ``api-version`` query parameter (``v1``, ``2025-05-15-preview``,
``2024-05-01-preview``...). Matching compares it like any query parameter, so a recording
replays only under the version it was made with unless the ``allow_versions`` option
names both. Dated versions before 2024-05-01 are Azure OpenAI's Assistants v1 previews and
are checked against the OpenAI v1 types; later ones and ``v1`` against the Assistants v2
types with Azure's additions (``models/azure_agents.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from runreplay.cassette import Headers, Request, Response
from runreplay.providers.base import (
    Provider,
    SpecPair,
    VendorSpec,
    pointer,
)
from runreplay.providers.openai_assistants import PROVIDER as ASSISTANTS
from runreplay.providers.openai_assistants import ROUTES, RUN_LIFECYCLE, stream_error
from runreplay.providers.openai_assistants import client as openai_client

NAMESPACE = "azure/v1"
#: The query parameter naming the API version on every Azure data-plane request.
VERSION_PARAMETER = "api-version"
#: The version the GA service and ``azure-ai-agents`` 1.x use; also assumed when a request names none.
DEFAULT_VERSION = "v1"
#: Azure OpenAI served Assistants v1 until this api-version (2024-05-01-preview brought v2).
_FIRST_V2_DATE = "2024-05-01"
_DATED = re.compile(r"^(\d{4}-\d{2}-\d{2})(-preview)?$")

#: The prefixes in front of the Assistants routes, one per path shape (see the module docstring).
PREFIX = re.compile(
    r"^.*?(?:/api/projects/[^/]+"
    r"|/agents/v1\.0/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.MachineLearningServices/workspaces/[^/]+"
    r"|/openai(?:/v1)?)(?=/)"
)


class ApiVersions(Mapping[str, str]):
    """``api-version`` -> models namespace: ``v1`` and every dated version.

    Azure names a version by its date and adds one every few months; the protocol only
    changed shape once for runs (Assistants v1 -> v2), so a date decides the namespace.
    Iterating gives the versions seen in real recordings, for messages.
    """

    _SEEN = ("v1", "2024-02-15-preview", "2024-05-01-preview", "2024-07-01-preview", "2025-05-15-preview")

    def __getitem__(self, version: str) -> str:
        if version == DEFAULT_VERSION:
            return NAMESPACE
        dated = _DATED.match(version)
        if dated is None:
            raise KeyError(version)
        return NAMESPACE if dated.group(1) >= _FIRST_V2_DATE else "openai/v1"

    def __iter__(self) -> Iterator[str]:
        return iter(self._SEEN)

    def __len__(self) -> int:
        return len(self._SEEN)


def api_version(request: Request) -> str:
    """The ``api-version`` query parameter (``v1`` when absent, as the GA service assumes)."""
    return next((value for name, value in request.query() if name == VERSION_PARAMETER), DEFAULT_VERSION)


def error_type(response: Response) -> str | None:
    return "ErrorResponse" if response.status >= 400 else None


_AZURE_SDK = re.compile(r"\bazsdk-(?P<lang>[a-z]+)-(?P<package>[\w-]+)/(?P<version>[\w.\-+]+)")
_AZURE_OPENAI = re.compile(r"\bAzureOpenAI/Python ([\w.\-+]+)")


def client(headers: Headers) -> tuple[str, str] | None:
    """The SDK that sent a request: ``azsdk-python-ai-agents/1.1.0`` names an Azure SDK
    (``azure-ai-agents`` for Python, ``@azure/ai-agents`` for JS...); openai-python's
    ``AzureOpenAI`` says ``AzureOpenAI/Python <version>``, else it looks like ``openai``."""
    agent = headers.get("user-agent") or ""
    if found := _AZURE_SDK.search(agent):
        package = found["package"]
        name = {"python": f"azure-{package}", "js": f"@azure/{package}"}.get(found["lang"], f"azure-{package}")
        return name, found["version"]
    if found := _AZURE_OPENAI.search(agent):
        return "openai", found.group(1)
    return openai_client(headers)


def _definition(name: str) -> str:
    """Where a Swagger 2.0 document defines the schema ``name``."""
    return pointer("definitions", name)


SPEC = VendorSpec(
    file="azure-ai-agents-v1.json",
    pairs=(
        *(
            SpecPair(f"{NAMESPACE}/{ours}", _definition(theirs))
            for ours, theirs in (
                ("Run", "ThreadRun"),
                ("RunStep", "RunStep"),
                ("Message", "ThreadMessage"),
                ("RunStepDelta", "RunStepDeltaChunk"),
                ("Assistant", "Agent"),
                ("AssistantCreateParams", "CreateAgentOptions"),
                ("RunCreateParams", "CreateRunOptions"),
                ("CreateThreadAndRunRequest", "CreateAndRunThreadOptions"),
            )
        ),
    ),
    event_lists=((NAMESPACE, _definition("AgentStreamEvent")),),
)


PROVIDER = Provider(
    name="azure",
    title="Azure AI Agents",
    # Foundry (*.services.ai.azure.com), Azure OpenAI (*.openai.azure.com), hub projects
    # (*.api.azureml.ms) and the sanitised hosts of Azure SDK recordings (Sanitized.azure.com).
    hosts=re.compile(r"(^|\.)(azure\.com|azureml\.ms)$"),
    prefix=PREFIX,
    prefix_required=True,
    routes=ROUTES,
    namespaces=ApiVersions(),
    version_of=api_version,
    version_parameter=VERSION_PARAMETER,
    error_of=error_type,
    stream_error=stream_error,
    lifecycles=(RUN_LIFECYCLE,),
    id_prefixes=ASSISTANTS.id_prefixes,
    client_of=client,
    # azure-core adds a fresh client request id to every request (openai-python's x-stainless-* are OpenAI's).
    volatile_headers=("x-ms-client-request-id",),
    spec=SPEC,
    emulator_mount="/api/projects/emulator",
    emulator_aliases=("/api/projects/{project}", "/openai"),
    base_url_env="PROJECT_ENDPOINT",
)
