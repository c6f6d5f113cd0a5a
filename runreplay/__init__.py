"""runreplay: record and replay AI agent run APIs (OpenAI Assistants, Coze v3 chat) in tests."""

from runreplay.cassette import Body, Cassette, Headers, Interaction, Request, Response, load
from runreplay.errors import CassetteError, ConfigError, RunReplayError, UnmatchedRequestError
from runreplay.sse import Framing, SSEEvent

__version__ = "0.1.0"

__all__ = [
    "Body",
    "Cassette",
    "CassetteError",
    "ConfigError",
    "Framing",
    "Headers",
    "Interaction",
    "Request",
    "Response",
    "RunReplayError",
    "SSEEvent",
    "UnmatchedRequestError",
    "__version__",
    "load",
]
