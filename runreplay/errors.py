"""Errors a user can hit. Each names the file and the place in it where that is known."""

from __future__ import annotations

from pathlib import Path


class RunReplayError(Exception):
    """Base class for runreplay's own errors."""


class CassetteError(RunReplayError):
    """A cassette (or an imported recording) is unreadable or malformed."""

    def __init__(self, message: str, *, path: Path | str | None = None, location: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = Path(path) if path is not None else None
        self.location = location

    def __str__(self) -> str:
        where = str(self.path) if self.path is not None else "<cassette>"
        if self.location:
            where += f" at {self.location}"
        return f"{where}: {self.message}"


class ConfigError(RunReplayError):
    """A marker argument, command-line option or ini setting is wrong."""


class UnusedInteractionsError(RunReplayError):
    """Recorded interactions were never replayed and the session was told to treat that as an error."""


class SchemaViolationError(RunReplayError):
    """Recorded or replayed payloads break their documented schema."""


class UnmatchedRequestError(BaseException):
    """A request made during replay has no recorded interaction.

    It derives from BaseException on purpose, as pytest's own ``Failed`` does: client SDKs
    (openai 2.x among them) catch ``Exception`` from their transport, wrap it as a generic
    connection error and retry with back-off. This error must reach the test at once,
    with its message intact.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message
