"""runreplay: record and replay AI agent run APIs in tests, polling and streams included.

::

    from runreplay import use_cassette

    with use_cassette("cassettes/tool_run.json", record_mode="once") as session:
        ...  # every HTTP request in here is recorded once, then replayed offline
    print(session.report())

The names below are the public API; modules not named here are internal. The pytest
plugin (``@pytest.mark.runreplay``) takes the same keywords as :func:`use_cassette`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from runreplay._version import __version__
from runreplay.cassette import (
    Body,
    BodyKind,
    Cassette,
    Framing,
    Headers,
    Interaction,
    Request,
    Response,
    SSEEvent,
    load,
    save,
)
from runreplay.checks.drift import DriftConfig, DriftReport, drift
from runreplay.checks.validation import Violation, check_cassette, validate_cassette, validate_interaction
from runreplay.engine.scrub import Scrubber, find_secrets
from runreplay.engine.session import Session, use_cassette
from runreplay.engine.timeline import ResourceReplay
from runreplay.errors import (
    CassetteError,
    ConfigError,
    RealSleepWarning,
    RepeatedRequestError,
    ReplayedIdWarning,
    RunReplayError,
    SanitizedIdWarning,
    SchemaViolationError,
    SchemaViolationWarning,
    UnmatchedRequestError,
    UnusedInteractionsError,
    UnusedInteractionsWarning,
)
from runreplay.options import (
    MatchConfig,
    Options,
    RecordMode,
    ReplayMode,
    StreamOptions,
    ToolOutputs,
    UnusedPolicy,
    ValidatePolicy,
)
from runreplay.scrub_rules import ScrubRules, load_rules

if TYPE_CHECKING:
    from runreplay.emulator import Emulator
    from runreplay.server import serve

__all__ = [
    "Body",
    "BodyKind",
    "Cassette",
    "CassetteError",
    "ConfigError",
    "DriftConfig",
    "DriftReport",
    "Emulator",
    "Framing",
    "Headers",
    "Interaction",
    "MatchConfig",
    "Options",
    "RealSleepWarning",
    "RecordMode",
    "RepeatedRequestError",
    "ReplayMode",
    "ReplayedIdWarning",
    "Request",
    "ResourceReplay",
    "Response",
    "RunReplayError",
    "SSEEvent",
    "SanitizedIdWarning",
    "SchemaViolationError",
    "SchemaViolationWarning",
    "ScrubRules",
    "Scrubber",
    "Session",
    "StreamOptions",
    "ToolOutputs",
    "UnmatchedRequestError",
    "UnusedInteractionsError",
    "UnusedInteractionsWarning",
    "UnusedPolicy",
    "ValidatePolicy",
    "Violation",
    "__version__",
    "check_cassette",
    "drift",
    "find_secrets",
    "load",
    "load_rules",
    "save",
    "serve",
    "use_cassette",
    "validate_cassette",
    "validate_interaction",
]


def __getattr__(name: str) -> Any:
    # The emulator brings a web server (starlette, uvicorn): imported only when asked for.
    if name == "Emulator":
        from runreplay.emulator import Emulator

        return Emulator
    if name == "serve":  # a web server too (starlette, uvicorn, httpx)
        from runreplay.server import serve

        return serve
    raise AttributeError(f"module 'runreplay' has no attribute {name!r}")
