"""Interception: every patched HTTP client asks a :class:`~runreplay.engine.port.Handler`.

VCR.py's patcher builder installs its stubs (requests, urllib3, aiohttp, ...) wired to
:class:`.vcr_bridge.VcrCassette`, plus runreplay's own httpx/httpx2 handlers
(:mod:`.httpx_transport`) through its ``custom_patches`` hook. :class:`Interception` is
that whole set of patches for one session, as a context manager.
"""

from __future__ import annotations

from contextlib import ExitStack
from types import TracebackType

from runreplay.engine.interception.httpx_transport import HttpxInterceptor
from runreplay.engine.interception.vcr_bridge import VcrCassette
from runreplay.engine.port import Handler

__all__ = ["Interception"]


class Interception:
    """Patches every supported HTTP client while active, answering through ``handler``."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.httpx = HttpxInterceptor(handler)
        self._stack: ExitStack | None = None

    def __enter__(self) -> Interception:
        from vcr.patch import CassettePatcherBuilder

        cassette = VcrCassette(self.handler, self.httpx.patches(), skip=("httpx", "httpx2"))
        stack = ExitStack()
        for patcher in CassettePatcherBuilder(cassette).build():
            stack.enter_context(patcher)
        self._stack = stack
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._stack is not None:
            self._stack.close()
            self._stack = None
        self.httpx.finish()
