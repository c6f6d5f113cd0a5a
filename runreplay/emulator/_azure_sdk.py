"""``azure-ai-agents`` clients pointed at the emulator: made-up credentials, bearer tokens over http.

azure-core refuses to send a bearer token to an ``http://`` URL, and the emulator serves plain
http on 127.0.0.1. The policies here are the SDK's own bearer policies with that check off.
This module imports the Azure SDK, an optional dependency, so the server does not load it
(its name starts with ``_``); :mod:`.azure_agents` exposes it through functions that import
it when called.
"""

from __future__ import annotations

import time
from typing import Any

from azure.ai.agents import AgentsClient
from azure.ai.agents.aio import AgentsClient as AsyncAgentsClient
from azure.core.credentials import AccessToken
from azure.core.pipeline import PipelineRequest
from azure.core.pipeline.policies import AsyncBearerTokenCredentialPolicy, BearerTokenCredentialPolicy

#: A made-up JWT (header.payload.signature): the emulator accepts any bearer token.
TOKEN = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJydW5yZXBsYXkgZW11bGF0b3IifQ.bm90LWEtc2lnbmF0dXJl"
#: The scope azure-ai-agents asks tokens for.
SCOPE = "https://ai.azure.com/.default"
_LIFETIME_S = 3600


class Credential:
    """An Entra ID ``TokenCredential`` stand-in: always the same token, valid for an hour."""

    def __init__(self, token: str = TOKEN) -> None:
        self.token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(self.token, int(time.time()) + _LIFETIME_S)


class AsyncCredential:
    """The ``AsyncTokenCredential`` counterpart of :class:`Credential`."""

    def __init__(self, token: str = TOKEN) -> None:
        self.token = token

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(self.token, int(time.time()) + _LIFETIME_S)

    async def close(self) -> None:
        pass

    async def __aenter__(self) -> AsyncCredential:
        return self

    async def __aexit__(self, *exc: object) -> None:
        pass


class PlainHttpBearer(BearerTokenCredentialPolicy[Any, Any]):
    """The SDK's bearer policy, allowed on http:// (the emulator has no TLS)."""

    def on_request(self, request: PipelineRequest[Any]) -> None:
        request.context.options["enforce_https"] = False
        super().on_request(request)


class AsyncPlainHttpBearer(AsyncBearerTokenCredentialPolicy[Any, Any]):
    """The async SDK's bearer policy, allowed on http://."""

    async def on_request(self, request: PipelineRequest[Any]) -> None:
        request.context.options["enforce_https"] = False
        await super().on_request(request)


def agents_client(endpoint: str, token: str = TOKEN, **kwargs: Any) -> AgentsClient:
    credential = Credential(token)
    policy = PlainHttpBearer(credential, SCOPE)
    return AgentsClient(endpoint=endpoint, credential=credential, authentication_policy=policy, **kwargs)


def async_agents_client(endpoint: str, token: str = TOKEN, **kwargs: Any) -> AsyncAgentsClient:
    credential = AsyncCredential(token)
    policy = AsyncPlainHttpBearer(credential, SCOPE)
    return AsyncAgentsClient(endpoint=endpoint, credential=credential, authentication_policy=policy, **kwargs)
