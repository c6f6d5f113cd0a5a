"""The ``runreplay`` command line.

Exit codes, for every command: 0 ok, 1 findings (a check found something), 2 usage
errors or unreadable input.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from runreplay import __version__
from runreplay.cli_common import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, recording_files
from runreplay.errors import RunReplayError


class _Group(click.Group):
    """Turns runreplay's own errors into a one-paragraph message and exit code 2."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except RunReplayError as exc:
            click.echo(f"runreplay: error: {exc}", err=True)
            ctx.exit(EXIT_USAGE)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="runreplay")
def main() -> None:
    """Record and replay AI agent run APIs (OpenAI Assistants, Coze v3 chat) for tests.

    \b
    Exit codes: 0 ok, 1 findings, 2 usage error or unreadable input.
    """


@main.command()
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Keep the demo cassettes in this folder (default: a temporary folder).",
)
def demo(out: Path | None) -> None:
    """Record from the local emulator with the official SDKs, then replay offline.

    Starts the built-in emulator on 127.0.0.1, records an OpenAI run with a function
    tool call and a Coze chat (polled and streamed), stops the emulator, replays both
    with the network blocked and prints what was recorded and replayed. No API key, no
    network.

    \b
    Example:
      runreplay demo --out demo-cassettes
    """
    from runreplay.demo import run_demo

    ok = run_demo(out, echo=click.echo)
    sys.exit(EXIT_OK if ok else EXIT_FINDINGS)


@main.command()
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True, help="Port on 127.0.0.1.")
@click.option(
    "--phase-seconds",
    type=click.FloatRange(0.0, min_open=True),
    default=1.0,
    show_default=True,
    help="How long each run/chat phase (queued, in_progress, ...) lasts.",
)
@click.option("--poll-after-ms", type=click.IntRange(0), default=None, help="Send openai-poll-after-ms on runs.")
def emulate(port: int, phase_seconds: float, poll_after_ms: int | None) -> None:
    """Serve the OpenAI Assistants and Coze v3 chat emulator on 127.0.0.1.

    \b
    Example:
      runreplay emulate --port 8765
      # OpenAI: base_url="http://127.0.0.1:8765/v1"   Coze: base_url="http://127.0.0.1:8765"
    """
    from runreplay.emulator import Emulator

    def ready(emulator: Emulator) -> None:
        click.echo(f"runreplay emulator on {emulator.base_url}  (Ctrl-C stops)")
        click.echo(f"  OpenAI: base_url={emulator.openai_base_url!r}")
        click.echo(f"  Coze:   base_url={emulator.coze_base_url!r}")

    Emulator(port=port, phase_seconds=phase_seconds, poll_after_ms=poll_after_ms).serve_forever(on_ready=ready)


@main.command("import")
@click.argument("sources", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--out",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder for the converted cassettes (<source stem>.json each).",
)
@click.option("--exact", is_flag=True, help="Keep every SSE event's original bytes, so streams replay byte for byte.")
def import_(sources: tuple[Path, ...], out: Path, exact: bool) -> None:
    """Convert recordings made by other tools into runreplay cassettes.

    Reads VCR.py YAML/JSON (gzip !!binary bodies, SSE stored as one string), Ruby VCR and
    R vcr YAML, Azure SDK test-proxy JSON (SessionRecords) and HAR 1.2; the format is
    detected from the content. Folders are searched for such files.

    \b
    Example:
      runreplay import tests/fixtures/cassettes/ -o cassettes/imported
    """
    from runreplay.importers import import_many

    files = recording_files(sources)
    written = import_many(files, out, exact=exact)
    for source, target in zip(files, written, strict=False):
        click.echo(f"{source} -> {target}")
    click.echo(f"imported {len(written)} recording(s) into {out}")


def _register() -> None:
    from runreplay import cli_cassettes, cli_schemas

    for command in (*cli_cassettes.COMMANDS, *cli_schemas.COMMANDS):
        main.add_command(command)


_register()

if __name__ == "__main__":  # pragma: no cover
    main()
