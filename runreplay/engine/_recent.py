"""A small memo of what replay computed for the last few requests."""

from __future__ import annotations

from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Recent(Generic[K, V]):
    """Remembers up to ``limit`` values and forgets them all when full.

    Polling repeats the same few requests, so a few entries catch nearly every repeat.
    Remembering more would keep thousands of small objects alive long enough to reach the
    garbage collector's oldest generation, whose collections walk every loaded cassette
    (measured: that cost more per distinct request than the memo saved).
    """

    __slots__ = ("_data", "limit")

    def __init__(self, limit: int = 32) -> None:
        self._data: dict[K, V] = {}
        self.limit = limit

    def get(self, key: K) -> V | None:
        return self._data.get(key)

    def put(self, key: K, value: V) -> V:
        if len(self._data) >= self.limit:
            self._data.clear()
        self._data[key] = value
        return value

    def clear(self) -> None:
        self._data.clear()

    def __len__(self) -> int:
        return len(self._data)
