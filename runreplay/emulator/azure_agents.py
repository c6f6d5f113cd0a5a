"""Azure AI Agents: the Assistants emulator at Azure's paths, with Azure's headers and errors.

It serves the Foundry project paths (``/api/projects/<any project>/...``, the base URL of
``azure-ai-agents``) and Azure OpenAI's ``/openai/...`` (openai-python's ``AzureOpenAI``),
each with its ``api-version``. Any bearer token or api-key is accepted, as the OpenAI
emulator accepts any key: recording needs a server that answers, not one that checks.
Runs, steps, tool calls and streams behave exactly as in :mod:`.openai_assistants`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from starlette.responses import Response

from runreplay.emulator.common import ApiError, json_response
from runreplay.emulator.openai_assistants import OpenAIEmulator
from runreplay.providers.azure_agents import PROVIDER

if TYPE_CHECKING:
    from azure.ai.agents import AgentsClient
    from azure.ai.agents.aio import AgentsClient as AsyncAgentsClient


class AzureAgentsEmulator(OpenAIEmulator):
    provider = PROVIDER.name
    settings: ClassVar[Mapping[str, str]] = {}

    def _headers(self) -> dict[str, str]:
        # Azure answers with its own request ids (azure-core logs x-ms-request-id).
        request_id = self.request_id().removeprefix("req_")
        return {"x-ms-request-id": request_id, "apim-request-id": request_id}

    def error_response(self, exc: ApiError) -> Response:
        """Azure's error shape: ``{"error": {"code", "message"}}`` (azure-core reads both)."""
        code = exc.code if isinstance(exc.code, str) else ("not_found" if exc.status == 404 else "invalid_request")
        body = {"error": {"code": code, "message": exc.message, "param": exc.param, "type": "invalid_request_error"}}
        return json_response(body, status=exc.status, headers=self._headers())


EMULATOR = AzureAgentsEmulator


# The Azure SDK is optional: these import it when called (the server loads this module always).


def agents_client(endpoint: str, **kwargs: Any) -> AgentsClient:
    """An ``azure.ai.agents.AgentsClient`` for ``endpoint`` on the emulator (or a replaying test):
    a made-up Entra ID token, sent over plain http, which azure-core refuses by default.
    Other keywords go to the client (``api_version``, ``polling_interval``...)."""
    from runreplay.emulator._azure_sdk import agents_client as make

    return make(endpoint, **kwargs)


def async_agents_client(endpoint: str, **kwargs: Any) -> AsyncAgentsClient:
    """The same for ``azure.ai.agents.aio.AgentsClient`` (aiohttp), with an async credential."""
    from runreplay.emulator._azure_sdk import async_agents_client as make

    return make(endpoint, **kwargs)
