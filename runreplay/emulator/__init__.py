"""A local server speaking every API family runreplay knows (OpenAI Assistants, Coze v3 chat).

The official SDKs work against it unchanged, streaming included::

    with Emulator(port=0, phase_seconds=0.05) as emu:
        client = openai.OpenAI(base_url=emu.url("openai"), api_key="x")
        coze = cozepy.Coze(auth=cozepy.TokenAuth("x"), base_url=emu.url("coze"))
"""

try:
    import starlette  # noqa: F401
    import uvicorn  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        f"the runreplay emulator needs a web server ({exc.name} is not installed): pip install 'runreplay[emulator]'"
    ) from exc

from runreplay.emulator.coze_chat import TOOL_FUNCTION as COZE_TOOL_FUNCTION
from runreplay.emulator.server import Emulator, settings_help

__all__ = ["COZE_TOOL_FUNCTION", "Emulator", "settings_help"]
