"""Every error and warning runreplay raises, in one tree.

* :class:`RunReplayError` (``Exception``): something runreplay itself refuses

  * :class:`CassetteError`: a cassette or an imported recording is unreadable or malformed
    (names the file and the JSON path)
  * :class:`ConfigError`: a marker keyword, option, ini setting or TOML table is wrong
  * :class:`UnusedInteractionsError`: recorded interactions were never replayed
    (``unused="error"``)
  * :class:`SchemaViolationError`: recorded or replayed payloads break their documented
    schema (``validate="error"``)

* :class:`UnmatchedRequestError` (``BaseException``, on purpose: see its docstring): a
  request made during replay has no recorded interaction, or breaks the recorded
  tool-call round trip

  * :class:`RepeatedRequestError`: a request that creates or changes something was asked
    more often than it was recorded (``allow_repeats`` relaxes it)

* warnings: :class:`UnusedInteractionsWarning`, :class:`SchemaViolationWarning`
  (the ``"warn"`` forms of the two errors above), :class:`RealSleepWarning` (a replay
  waited in real time: a sleep the virtual clock did not reach), and :class:`ReplayedIdWarning`
  (``new_episodes`` sent the live server an id only the recording knows), and
  :class:`SanitizedIdWarning` (an imported recording's sanitizer replaced an id in URLs only)

:func:`hide_frame` is what runreplay's functions on the way to an
``UnmatchedRequestError`` set as ``__tracebackhide__``, so pytest shows the test's frames,
not ours.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


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


class RepeatedRequestError(UnmatchedRequestError):
    """A create, cancel or submit was asked more often than the cassette recorded it.

    Against the live API a second create makes a second resource; replaying the recorded
    one again would hide that. ``allow_repeats`` relaxes the rule.
    """


def hide_frame(excinfo: Any) -> bool:
    """For ``__tracebackhide__``: pytest leaves out our frame from a request's failure.

    A frame stays visible for any other exception (a bug of ours should show where it is).
    ``excinfo`` is pytest's ``ExceptionInfo`` (or None).
    """
    return isinstance(getattr(excinfo, "value", None), UnmatchedRequestError)


class ReplayedIdWarning(UserWarning):
    """Under ``new_episodes``, a live request used an id that only replayed responses gave out."""


class UnusedInteractionsWarning(UserWarning):
    """Recorded interactions were never replayed (``unused="warn"``)."""


class SchemaViolationWarning(UserWarning):
    """A recorded or replayed payload breaks its documented schema (``validate="warn"``)."""


class SanitizedIdWarning(UserWarning):
    """An imported recording's sanitizer replaced an id in URLs but not in bodies (restored when
    the recording names it; otherwise those requests cannot link to their resource)."""


class RealSleepWarning(UserWarning):
    """A replay on the virtual clock sat idle in real time: something slept that the clock did not reach."""
