"""A local server speaking the OpenAI Assistants API and the Coze v3 chat API.

The official SDKs (``openai``, ``cozepy``) work against it unchanged, streaming included::

    with Emulator(port=0, phase_seconds=0.05) as emu:
        client = openai.OpenAI(base_url=emu.openai_base_url, api_key="x")
        coze = cozepy.Coze(auth=cozepy.TokenAuth("x"), base_url=emu.coze_base_url)
"""

from runreplay.emulator.coze_app import TOOL_FUNCTION as COZE_TOOL_FUNCTION
from runreplay.emulator.server import Emulator

__all__ = ["COZE_TOOL_FUNCTION", "Emulator"]
