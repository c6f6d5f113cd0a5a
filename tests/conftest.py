from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest

from runreplay.emulator import Emulator

# cozepy imports authlib.jose, which warns about its own deprecation at import time,
# before pytest's filterwarnings apply.
warnings.filterwarnings("ignore", message="authlib.jose module is deprecated")


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    """A fresh local OpenAI Assistants + Coze emulator on a free 127.0.0.1 port, fast phases."""
    with Emulator(port=0, phase_seconds=0.02) as emu:
        yield emu
