from __future__ import annotations

from collections.abc import Iterator

import pytest

from runreplay.emulator import Emulator


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    """A fresh local OpenAI Assistants + Coze emulator on a free 127.0.0.1 port, fast phases."""
    with Emulator(port=0, phase_seconds=0.02) as emu:
        yield emu
