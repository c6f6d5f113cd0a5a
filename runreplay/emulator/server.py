"""The emulator server: every API family's emulator behind one port, on 127.0.0.1 only.

Each emulator module in this package (one per API family) names the provider it serves;
the server routes every route of that provider to the emulator's method of the route's
name, under the provider's ``emulator_mount``. It runs uvicorn in a background thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import pkgutil
import socket
import threading
import time
from collections.abc import Callable, Generator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from runreplay.emulator.common import ApiError, Clock, Engine, IdFactory, real_async_sleep
from runreplay.providers import Provider, registry, sdk_environment

HOST = "127.0.0.1"
_NOT_FAMILIES = frozenset({"common", "server"})


def emulator_classes() -> dict[str, type[Engine[Any]]]:
    """Each provider's emulator class, by provider name (from the modules of this package)."""
    found: dict[str, type[Engine[Any]]] = {}
    for info in sorted(pkgutil.iter_modules([str(Path(__file__).parent)]), key=lambda i: i.name):
        if info.name in _NOT_FAMILIES or info.name.startswith("_"):
            continue
        cls: type[Engine[Any]] = importlib.import_module(f"{__package__}.{info.name}").EMULATOR
        found[cls.provider] = cls
    return found


def settings_help() -> dict[str, str]:
    """Every family's own setting, with its meaning (for ``--help`` and the docs)."""
    return {name: text for cls in emulator_classes().values() for name, text in cls.settings.items()}


def _endpoint(method: Callable[[Request], Any], render_error: Callable[[ApiError], Response]) -> Callable[..., Any]:
    """Turn ``ApiError`` into the API's own error response."""

    async def endpoint(request: Request) -> Response:
        try:
            response: Response = await method(request)
        except ApiError as exc:
            return render_error(exc)
        return response

    return endpoint


def _routes(provider: Provider, app: Engine[Any]) -> list[BaseRoute]:
    return [
        Route(
            mount + route.path,
            _endpoint(getattr(app, route.name), app.error_response),
            methods=list(route.methods),
        )
        for mount in (provider.emulator_mount, *provider.emulator_aliases)
        for route in provider.routes
        if route.not_emulated is None
    ]


class _ThreadServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to whoever owns the main thread."""

    def install_signal_handlers(self) -> None:  # uvicorn < 0.29
        pass

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:  # uvicorn >= 0.29
        yield

    async def main_loop(self) -> None:
        """uvicorn's ten ticks a second, on the real clock even while a test's virtual clock runs."""
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + 1) % 864000
            await real_async_sleep(0.1)
            should_exit = await self.on_tick(counter)


class BackgroundServer:
    """An ASGI app served by uvicorn in a daemon thread on 127.0.0.1 (the emulator's and
    ``runreplay serve``'s). Binding the socket here gives the real port at once, also for 0."""

    def __init__(self, app: Any, port: int = 0, *, log_level: str = "warning", name: str = "runreplay server") -> None:
        self.app = app
        self.requested_port = port
        self.port = port
        self.log_level = log_level
        self.name = name
        #: uvicorn's own ``date`` header; off for servers that replay a recorded one.
        self.date_header = True
        self._server: _ThreadServer | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self._failure: BaseException | None = None

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

    def start(self, timeout: float = 10.0) -> None:
        if self._thread is not None:
            raise RuntimeError(f"the {self.name} is already running")
        # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted sockets whose
        # proto says TCP, and without it every keep-alive response waits ~40 ms (Nagle).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, self.requested_port))
        except OSError:
            sock.close()
            raise
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
            server_header=False,  # recordings should not name the local web server
            date_header=self.date_header,
        )
        server = _ThreadServer(config)
        self._server, self._socket, self._failure = server, sock, None
        self._thread = threading.Thread(
            target=self._serve, args=(server, sock), name=f"runreplay-{self.name}:{self.port}", daemon=True
        )
        self._thread.start()
        # Event.wait and perf_counter: tests may patch time.sleep/time.time/time.monotonic.
        waiter = threading.Event()
        deadline = time.perf_counter() + timeout
        while not server.started and self._thread.is_alive() and time.perf_counter() < deadline:
            waiter.wait(0.005)
        if not server.started:
            self.stop()
            raise RuntimeError(f"the {self.name} did not start on http://{HOST}:{self.port}") from self._failure

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

    def wait(self) -> None:
        """Block until the server stops (Ctrl-C raises KeyboardInterrupt here)."""
        while self._thread is not None and self._thread.is_alive():
            self._thread.join(0.5)


class Emulator:
    """A local server for every API family runreplay knows, for recording tests and demos.

    ``phase_seconds`` is how long each lifecycle phase (queued, in_progress, ...) lasts on
    ``clock``. Other keywords are settings of one family's emulator (see
    :func:`settings_help`): ``poll_after_ms`` (OpenAI runs), ``coze_tool_bots`` (Coze bots
    that ask for a function call), ``coze_failing_bots`` (Coze bots whose chats fail). All
    state lives in this instance; ids depend only on the call order. :meth:`url` gives each
    family's base URL, :meth:`environment` the SDKs' environment variables.
    """

    def __init__(
        self,
        port: int = 0,
        *,
        phase_seconds: float = 0.05,
        clock: Callable[[], float] = time.perf_counter,
        log_level: str = "warning",
        **settings: Any,
    ) -> None:
        classes = emulator_classes()
        known = {name for cls in classes.values() for name in cls.settings}
        unknown = sorted(set(settings) - known)
        if unknown:
            raise TypeError(f"unknown emulator setting(s) {unknown}; known: {sorted(known)}")
        shared_clock, ids = Clock(clock), IdFactory()
        self.providers: dict[str, Provider] = {}
        self.apps: dict[str, Engine[Any]] = {}
        routes: list[BaseRoute] = []
        for provider in registry():
            cls = classes.get(provider.name)
            if cls is None:
                continue
            own = {k: v for k, v in settings.items() if k in cls.settings}
            app = cls(shared_clock, ids, phase_seconds, **own)
            self.providers[provider.name], self.apps[provider.name] = provider, app
            routes += _routes(provider, app)
        handlers: Mapping[Any, Callable[..., Any]] = {404: self._unknown_path, 405: self._unknown_path}
        self.app = Starlette(routes=routes, exception_handlers=dict(handlers))
        self._background = BackgroundServer(self.app, port, log_level=log_level, name="emulator")

    async def _unknown_path(self, request: Request, exc: HTTPException) -> Response:
        """A path no route has: the error of the family whose mount it falls under (the longest)."""
        path = request.url.path
        mounts = [
            (len(p.emulator_mount), name) for name, p in self.providers.items() if path.startswith(p.emulator_mount)
        ]
        if not mounts:
            return Response(status_code=404)
        _, name = max(mounts)
        return await self.apps[name].invalid_url(request)

    # --- addresses ----------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def url(self, provider: str) -> str:
        """The base URL an SDK of ``provider`` (a provider name: ``"openai"``, ``"coze"``) is given."""
        try:
            return self.base_url + self.providers[provider].emulator_mount
        except KeyError:
            raise KeyError(f"no emulator for {provider!r} (emulated: {', '.join(self.providers)})") from None

    @property
    def base_urls(self) -> dict[str, str]:
        """Each emulated family's base URL, by provider name."""
        return {name: self.url(name) for name in self.providers}

    def environment(self, key: str = "runreplay-emulator-key") -> dict[str, str]:
        """The environment variables that point each family's SDK here, with ``key`` as the API key."""
        return sdk_environment(self.base_url, key, list(self.providers.values()))

    @property
    def port(self) -> int:
        return self._background.port

    @property
    def bound_address(self) -> tuple[str, int] | None:
        """The listening socket's address while running."""
        return self._background.bound_address

    @property
    def running(self) -> bool:
        return self._background.running

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> Emulator:
        self._background.start(timeout)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._background.stop(timeout)

    def serve_forever(self, on_ready: Callable[[Emulator], None] | None = None) -> None:
        """Serve until Ctrl-C; ``on_ready`` runs once the port is known (to print the URL)."""
        self.start()
        try:
            if on_ready is not None:
                on_ready(self)
            self._background.wait()
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
