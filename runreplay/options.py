"""Record modes, with the meanings VCR.py and pytest-recording users know."""

from __future__ import annotations

import enum
import re
import sys

from runreplay.errors import ConfigError

if sys.version_info >= (3, 11):
    from typing import Self
else:  # pragma: no cover - Python 3.10
    from typing_extensions import Self


class Choice(str, enum.Enum):
    """A string option with a fixed set of values, parsed with a clear error for typos."""

    @classmethod
    def parse(cls, value: str | Choice) -> Self:
        if isinstance(value, cls):
            return value
        try:
            return cls(str(value).strip().lower().replace("-", "_"))
        except ValueError:
            choices = ", ".join(m.value for m in cls)
            label = re.sub(r"(?<!^)(?=[A-Z])", " ", cls.__name__).lower()
            raise ConfigError(f"unknown {label} {value!r}; choose one of: {choices}") from None


class RecordMode(Choice):
    #: Replay only; a request with no recorded match fails. The default.
    NONE = "none"
    #: Record if the cassette does not exist yet, otherwise replay only.
    ONCE = "once"
    #: Replay what matches, record what does not, and add it to the cassette.
    NEW_EPISODES = "new_episodes"
    #: Record every request, never replay; new interactions are added to the cassette.
    ALL = "all"
    #: Record every request, never replay; the cassette is replaced.
    REWRITE = "rewrite"

    def replays(self, cassette_exists: bool) -> bool:
        if self is RecordMode.ONCE:
            return cassette_exists
        return self in (RecordMode.NONE, RecordMode.NEW_EPISODES)

    def records(self, cassette_exists: bool) -> bool:
        if self is RecordMode.ONCE:
            return not cassette_exists
        return self is not RecordMode.NONE
