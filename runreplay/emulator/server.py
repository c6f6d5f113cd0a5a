"""Run the emulator app with uvicorn in a background thread, bound to 127.0.0.1 only."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Callable, Generator, Iterable
from types import TracebackType

import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount

from runreplay.emulator.common import Clock, IdFactory
from runreplay.emulator.coze_app import CozeEmulator
from runreplay.emulator.openai_app import OpenAIEmulator

HOST = "127.0.0.1"


class _ThreadServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to whoever owns the main thread."""

    def install_signal_handlers(self) -> None:  # uvicorn < 0.29
        pass

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:  # uvicorn >= 0.29
        yield


class Emulator:
    """A local OpenAI Assistants + Coze v3 chat server for recording tests and demos.

    ``phase_seconds`` is how long each lifecycle phase (queued, in_progress, ...) lasts on
    ``clock``; ``poll_after_ms`` adds the ``openai-poll-after-ms`` header to run responses.
    ``coze_tool_bots`` names Coze bots that ask for a function call (so does any bot id that
    contains "tool"). All state lives in this instance; ids depend only on the call order.
    """

    def __init__(
        self,
        port: int = 0,
        *,
        phase_seconds: float = 0.05,
        poll_after_ms: int | None = None,
        clock: Callable[[], float] = time.perf_counter,
        coze_tool_bots: Iterable[str] = (),
        log_level: str = "warning",
    ) -> None:
        self.requested_port = port
        self.port = port
        self.log_level = log_level
        clock_ = Clock(clock)
        ids = IdFactory()
        self.openai = OpenAIEmulator(clock_, ids, phase_seconds, poll_after_ms)
        self.coze = CozeEmulator(clock_, ids, phase_seconds, coze_tool_bots)
        # Coze's few /v1 paths go first; everything else under /v1 is OpenAI's.
        self.app = Starlette(routes=[*self.coze.routes(), Mount("/v1", routes=self.openai.routes())])
        self._server: _ThreadServer | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self._failure: BaseException | None = None

    # --- addresses ----------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def openai_base_url(self) -> str:
        return self.base_url + "/v1"

    @property
    def coze_base_url(self) -> str:
        return self.base_url

    @property
    def bound_address(self) -> tuple[str, int] | None:
        """The listening socket's address while running."""
        if self._socket is None or self._socket.fileno() < 0:
            return None
        host, port = self._socket.getsockname()[:2]
        return str(host), int(port)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> Emulator:
        if self._thread is not None:
            raise RuntimeError("the emulator is already running")
        # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted sockets whose
        # proto says TCP, and without it every keep-alive response waits ~40 ms (Nagle).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, self.requested_port))
        except OSError:
            sock.close()
            raise
        # Binding here (not in uvicorn) gives the real port at once, also for port 0.
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            host=HOST,
            port=self.port,
            log_level=self.log_level,
            access_log=False,
            lifespan="off",
            http="h11",
            ws="none",
            timeout_graceful_shutdown=1,
            server_header=False,  # recordings should not name the emulator's web server
        )
        server = _ThreadServer(config)
        self._server, self._socket, self._failure = server, sock, None
        self._thread = threading.Thread(
            target=self._serve, args=(server, sock), name=f"runreplay-emulator:{self.port}", daemon=True
        )
        self._thread.start()
        # Event.wait and perf_counter: tests may patch time.sleep/time.time/time.monotonic.
        waiter = threading.Event()
        deadline = time.perf_counter() + timeout
        while not server.started and self._thread.is_alive() and time.perf_counter() < deadline:
            waiter.wait(0.005)
        if not server.started:
            self.stop()
            raise RuntimeError(f"the emulator did not start on {self.base_url}") from self._failure
        return self

    def _serve(self, server: _ThreadServer, sock: socket.socket) -> None:
        try:
            asyncio.run(server.serve(sockets=[sock]))
        except BaseException as exc:  # reported by start()
            self._failure = exc

    def stop(self, timeout: float = 5.0) -> None:
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.should_exit = True
        thread.join(timeout)
        if thread.is_alive():
            server.force_exit = True  # a client holding a stream open must not block us
            thread.join(timeout)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None

    def serve_forever(self, on_ready: Callable[[Emulator], None] | None = None) -> None:
        """Serve until Ctrl-C; ``on_ready`` runs once the port is known (to print the URL)."""
        self.start()
        try:
            if on_ready is not None:
                on_ready(self)
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
