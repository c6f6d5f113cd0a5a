"""Starting and stopping the server: :func:`serve` from Python, ``runreplay serve`` from a shell."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO, Unpack
from urllib.parse import quote

from runreplay.emulator.server import HOST, BackgroundServer, Emulator
from runreplay.errors import ConfigError
from runreplay.options import OptionKeywords, Options, RecordMode
from runreplay.server.app import ServerApp
from runreplay.server.cassettes import Cassettes

#: ``upstream=`` value that starts the built-in emulator in this process.
EMULATOR_UPSTREAM = "emulator"
#: What ``openai-poll-after-ms`` and ``retry-after-ms`` say by default: a real wait this
#: short costs nothing, and it keeps a poll loop from spinning (``0`` would).
DEFAULT_POLL_AFTER_MS = 5


class ReplayServer:
    """The cassettes under ``directory`` served over HTTP on 127.0.0.1 (see :func:`serve`)."""

    def __init__(
        self,
        directory: str | Path,
        port: int = 0,
        *,
        upstream: str | None = None,
        poll_after_ms: int = DEFAULT_POLL_AFTER_MS,
        log: TextIO | None = None,
        **options: Unpack[OptionKeywords],
    ) -> None:
        self.directory = Path(directory)
        keywords: dict[str, Any] = {"record_mode": "none", **options}
        where = f"runreplay serve {self.directory}"
        parsed = Options.parse(keywords, where)  # bad options fail here, not at the first request
        self.recording = parsed.record_mode is not RecordMode.NONE
        if self.recording and not upstream:
            raise ConfigError(
                f"{where}: record mode {parsed.record_mode.value!r} needs an upstream to record from: "
                "--upstream URL (the vendor's API, or `runreplay emulate`) or --upstream emulator."
            )
        if not self.recording and not self.directory.is_dir():
            raise ConfigError(f"{where}: no such folder: the cassettes to replay must be in it.")
        self.upstream = upstream
        self._upstream_url: str | None = None if upstream == EMULATOR_UPSTREAM else upstream
        self.emulator: Emulator | None = None
        self.log = log if log is not None else sys.stderr
        self.cassettes = Cassettes(self.directory, keywords, self.recording, rewrite_run=uuid.uuid4().hex)
        self.app = ServerApp(self.cassettes, upstream=self._upstream, poll_after_ms=poll_after_ms, log=self.log)
        self._background = BackgroundServer(self.app.app, port, name="replay server")
        self._background.date_header = False  # a replayed reply carries its recorded date
        #: Problems each cassette's session found when it ended, by cassette name (after :meth:`stop`).
        self.problems: dict[str, list[str]] = {}

    def _upstream(self) -> str | None:
        return self._upstream_url.rstrip("/") if self._upstream_url else None

    # ------------------------------------------------------------------ addresses

    @property
    def port(self) -> int:
        return self._background.port

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def url_for(self, cassette: str) -> str:
        """The base URL that selects ``cassette`` (add the API's own path, e.g. ``/v1``)."""
        return f"{self.url}/{quote(cassette)}"

    # ------------------------------------------------------------------ control

    def report(self, cassette: str) -> dict[str, Any]:
        """What ``GET /_runreplay/<cassette>/report`` answers."""
        return self.cassettes.get(cassette).report()

    def reset(self, cassette: str) -> list[str]:
        """What ``POST /_runreplay/<cassette>/reset`` does: save, check, start over."""
        return self.cassettes.get(cassette).reset()

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> ReplayServer:
        if self.upstream == EMULATOR_UPSTREAM and self.emulator is None:
            self.emulator = Emulator().start()
            self._upstream_url = self.emulator.base_url
        self._background.start()
        return self

    def stop(self) -> dict[str, list[str]]:
        """Stop serving, save every recording and run each session's end checks (logged)."""
        self._background.stop()
        self.problems = self.cassettes.finish_all()
        for name, problems in self.problems.items():
            for problem in problems:
                self.log.write(f"runreplay serve: {name}: {problem}\n")
        if self.emulator is not None:
            self.emulator.stop()
            self.emulator = None
        return self.problems

    def wait(self) -> None:
        """Block while serving (Ctrl-C raises KeyboardInterrupt here)."""
        self._background.wait()

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def serve(
    directory: str | Path,
    port: int = 0,
    *,
    upstream: str | None = None,
    poll_after_ms: int = DEFAULT_POLL_AFTER_MS,
    **options: Unpack[OptionKeywords],
) -> ReplayServer:
    """Serve the cassettes under ``directory`` on 127.0.0.1 (``port=0``: a free port).

    Use it as a context manager: ``with runreplay.serve("cassettes") as server: ...``;
    a client's base URL is ``server.url_for("<cassette>") + "/v1"`` (the API's own path
    after the cassette's name). The keywords are :class:`~runreplay.options.Options`,
    applied to every cassette; ``record_mode`` other than ``"none"`` records through to
    ``upstream`` (a URL, or ``"emulator"`` for the built-in one). Sessions end, saving
    what was recorded, when the block ends.
    """
    return ReplayServer(directory, port, upstream=upstream, poll_after_ms=poll_after_ms, **options)
