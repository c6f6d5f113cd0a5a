from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest
from _node import NodeClients

from runreplay.emulator import Emulator

# cozepy imports authlib.jose, which warns about its own deprecation at import time and puts
# an "always" filter for that warning in front of pytest's own: import it once here, quietly,
# and drop that filter with the rest (every later import finds it loaded).
with warnings.catch_warnings():
    import authlib.deprecate  # noqa: F401  (adds the "always" filter)

    warnings.simplefilter("ignore")
    import cozepy  # noqa: F401


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    """A fresh local OpenAI Assistants + Coze emulator on a free 127.0.0.1 port, fast phases."""
    with Emulator(port=0, phase_seconds=0.02) as emu:
        yield emu


@pytest.fixture(scope="session")
def node_clients(tmp_path_factory: pytest.TempPathFactory) -> NodeClients:
    """openai-node and coze-js from tests/node/package-lock.json (``npm ci`` once per session), and the
    flow scripts of tests/node/ ready to run against a server (see tests/_node.py)."""
    return NodeClients.install(tmp_path_factory)
