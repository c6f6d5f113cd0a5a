"""Schema identifiers, without importing the models."""

from __future__ import annotations

#: An identifier, not a download location: validators resolve references locally.
BASE_URI = "https://runreplay.dev/schemas/"


def schema_id(key: str) -> str:
    return f"{BASE_URI}{key}.json"
