"""The plugin's marker, and which tests get a runreplay session (shared by the plugin and the
self-starting emulator, which imports nothing from the plugin module)."""

from __future__ import annotations

import pytest

MARKER = "runreplay"


def wants_session(item: pytest.Item) -> bool:
    """Whether a test asks for a runreplay session: a marker, or the fixture requested."""
    return item.get_closest_marker(MARKER) is not None or "runreplay_cassette" in getattr(item, "fixturenames", ())
