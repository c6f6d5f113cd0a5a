"""Record modes, with the meanings VCR.py and pytest-recording users know."""

from __future__ import annotations

import enum

from runreplay.errors import ConfigError


class RecordMode(str, enum.Enum):
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

    @classmethod
    def parse(cls, value: str | RecordMode) -> RecordMode:
        if isinstance(value, RecordMode):
            return value
        try:
            return cls(str(value).strip().lower().replace("-", "_"))
        except ValueError:
            choices = ", ".join(m.value for m in cls)
            raise ConfigError(f"unknown record mode {value!r}; choose one of: {choices}") from None

    def replays(self, cassette_exists: bool) -> bool:
        if self is RecordMode.ONCE:
            return cassette_exists
        return self in (RecordMode.NONE, RecordMode.NEW_EPISODES)

    def records(self, cassette_exists: bool) -> bool:
        if self is RecordMode.ONCE:
            return not cassette_exists
        return self is not RecordMode.NONE
