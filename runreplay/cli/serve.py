"""``runreplay serve DIR``: replay (or record) cassettes over HTTP for clients in any language."""

from __future__ import annotations

import contextlib
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Any

import click

from runreplay.cli.common import EXIT_FINDINGS, EXIT_OK
from runreplay.errors import ConfigError
from runreplay.options import RecordMode


def _parse_options(pairs: tuple[str, ...]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{pair!r}: expected KEY=VALUE (e.g. replay_mode=sequence)", param_hint="--option")
        options[key.strip().replace("-", "_")] = value
    return options


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # the same clean stop as Ctrl-C: sessions end, recordings are saved


@click.command("serve")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--port", type=click.IntRange(0, 65535), default=0, show_default=True, help="Port on 127.0.0.1 (0: free)."
)
@click.option(
    "--record-mode",
    type=click.Choice([m.value for m in RecordMode]),
    default=RecordMode.NONE.value,
    show_default=True,
    help="none replays only; the others record what was not replayed from --upstream.",
)
@click.option("--upstream", default=None, help="Where a recording proxy sends requests: a base URL, or 'emulator'.")
@click.option(
    "--ready-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the server's URL to this file once it listens.",
)
@click.option(
    "--poll-after-ms",
    type=click.IntRange(0),
    default=None,
    help="What openai-poll-after-ms and retry-after-ms say on replayed replies (default 5).",
)
@click.option(
    "--option",
    "-o",
    "option_pairs",
    multiple=True,
    metavar="KEY=VALUE",
    help="A session option for every cassette, as in use_cassette (e.g. -o replay_mode=sequence).",
)
def serve(
    directory: Path,
    port: int,
    record_mode: str,
    upstream: str | None,
    ready_file: Path | None,
    poll_after_ms: int | None,
    option_pairs: tuple[str, ...],
) -> None:
    """Serve the cassettes under DIRECTORY over HTTP on 127.0.0.1, for clients in any language.

    A request to http://127.0.0.1:PORT/<cassette>/<the API's own path> is answered from
    DIRECTORY/<cassette>.json as in-process replay answers it (matching, run timelines,
    tool-call checks); an unmatched one gets the API's error shape with status 400 and
    x-should-retry: false, and the diff is printed here. With --record-mode once,
    new_episodes or rewrite it is a recording proxy to --upstream. SIGTERM or Ctrl-C stop
    it, saving what was recorded. Control API: POST /_runreplay/<cassette>/reset,
    GET /_runreplay/<cassette>/report.

    \b
    Examples:
      runreplay serve cassettes/ --port 8080
      # openai-node: baseURL "http://127.0.0.1:8080/test_tool_run/v1"
      runreplay serve cassettes/ --record-mode once --upstream emulator --ready-file url.txt
    """
    try:
        from runreplay.server import ReplayServer
        from runreplay.server.server import DEFAULT_POLL_AFTER_MS
    except ImportError as exc:
        raise click.UsageError(
            f"runreplay serve needs the emulator extra ({exc}): pip install 'runreplay[emulator]'"
        ) from None
    options = _parse_options(option_pairs)
    if "record_mode" in options:
        raise ConfigError("runreplay serve: give the record mode with --record-mode, not --option.")
    hint = DEFAULT_POLL_AFTER_MS if poll_after_ms is None else poll_after_ms
    server = ReplayServer(directory, port, upstream=upstream, poll_after_ms=hint, record_mode=record_mode, **options)
    previous = signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        server.start()
        what = "recording proxy to " + str(server.upstream) if server.recording else "replaying"
        click.echo(f"runreplay serve: {server.url}  ({what} {directory}; Ctrl-C stops)")
        click.echo(f"  e.g. base_url={server.url}/<cassette name>/v1")
        sys.stdout.flush()
        if ready_file is not None:
            ready_file.write_text(server.url + "\n", encoding="utf-8")
        with contextlib.suppress(KeyboardInterrupt):
            server.wait()
    finally:
        signal.signal(signal.SIGTERM, previous)
        problems = server.stop()
    found = sum(len(p) for p in problems.values())
    click.echo(f"runreplay serve: stopped; {len(problems)} cassette(s) used, {found} problem(s)")
    sys.exit(EXIT_FINDINGS if found else EXIT_OK)
