"""Interception: every patched HTTP client asks a :class:`~runreplay.engine.port.Handler`.

runreplay's own streaming handlers cover httpx and httpx2 (:mod:`.httpx_transport`),
urllib3 and so requests (:mod:`.urllib3_pool`) and aiohttp (:mod:`.aiohttp_session`).
They are installed through the ``custom_patches`` hook of VCR.py's patcher builder, which
also installs VCR.py's own stubs, wired to :class:`.vcr_bridge.VcrCassette`, for the
clients left to it (http.client, httplib2, tornado, and urllib3 1 or aiohttp older than
3.12, which lack the seams). :class:`Interception` is that whole set of patches for one
session, as a context manager.
"""

from __future__ import annotations

from contextlib import ExitStack
from types import TracebackType

from runreplay.engine.interception import aiohttp_session, urllib3_pool
from runreplay.engine.interception.aiohttp_session import AiohttpInterceptor
from runreplay.engine.interception.httpx_transport import HttpxInterceptor
from runreplay.engine.interception.live import Captures
from runreplay.engine.interception.urllib3_pool import Urllib3Interceptor
from runreplay.engine.interception.vcr_bridge import VcrCassette
from runreplay.engine.port import Handler

__all__ = ["Interception"]


class Interception:
    """Patches every supported HTTP client while active, answering through ``handler``."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.captures = Captures()
        self._stack: ExitStack | None = None

    def __enter__(self) -> Interception:
        from vcr.patch import CassettePatcherBuilder

        patches = [
            *HttpxInterceptor(self.handler, self.captures).patches(),
            *Urllib3Interceptor(self.handler, self.captures).patches(),
            *AiohttpInterceptor(self.handler, self.captures).patches(),
        ]
        skip = ["httpx", "httpx2"]
        if urllib3_pool.supported():
            # botocore's pools are urllib3 pools too: VCR.py's stubs under them would record twice.
            skip += ["requests", "urllib3", "boto3"]
        if aiohttp_session.supported():
            skip.append("aiohttp")
        cassette = VcrCassette(self.handler, patches, skip=tuple(skip))
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
        self.captures.finish()
