"""The ``runreplay`` command line.

Exit codes, for every command: 0 ok, 1 findings (a check found something), 2 usage
errors or unreadable input.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from runreplay._version import __version__
from runreplay.cli import cassettes, record, schemas, serve
from runreplay.cli.common import EXIT_FINDINGS, EXIT_OK, recording_files, rules_option, usage_error
from runreplay.errors import RunReplayError, SanitizedIdWarning

if TYPE_CHECKING:
    from runreplay.emulator import Emulator


class _Group(click.Group):
    """Turns runreplay's own errors into a one-paragraph message and exit code 2."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except RunReplayError as exc:
            usage_error(exc)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="runreplay")
def main() -> None:
    """Record and replay AI agent run APIs for tests.

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
    tool call, an OpenAI background response, a Coze chat (polled and streamed) and an
    Azure AI agent run with a function tool (processed and streamed), stops the emulator,
    replays them all with nothing listening (an unmatched request fails) and prints what
    was recorded and replayed. No API key, no network.

    \b
    Example:
      runreplay demo --out demo-cassettes
    """
    _emulator_class()  # the demo records from the emulator
    from runreplay.cli.demo import missing_sdk, run_demo

    if problem := missing_sdk():
        raise click.UsageError(problem)

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
@click.option(
    "--poll-after-ms", type=click.IntRange(0), default=None, help="OpenAI runs: send openai-poll-after-ms with each."
)
@click.option(
    "--coze-tool-bot",
    "coze_tool_bots",
    multiple=True,
    help="Coze: a bot id whose chats ask for a function call (any bot id containing 'tool' does too).",
)
@click.option(
    "--coze-failing-bot",
    "coze_failing_bots",
    multiple=True,
    help="Coze: a bot id whose chats fail (any bot id containing 'fail' does too; 'error': with an error event).",
)
def emulate(
    port: int,
    phase_seconds: float,
    poll_after_ms: int | None,
    coze_tool_bots: tuple[str, ...],
    coze_failing_bots: tuple[str, ...],
) -> None:
    """Serve the local emulator of every API family on 127.0.0.1.

    Runs and chats move through their phases over time. An OpenAI run whose assistant has
    a function tool asks for it once (requires_action), then completes after
    submit_tool_outputs; a Coze chat asks for a function call when its bot id contains
    "tool" or is given with --coze-tool-bot.

    Error paths on request, to record them. An OpenAI run whose model name ends with
    -fail or -rate-limit fails (its open step too) with that last_error; -stream-error
    fails and its stream ends with an error event; -incomplete stops half-way
    (incomplete); -expire expires. A background response whose model ends with -fail
    fails. A Coze chat fails when its bot id contains "fail" or is given with
    --coze-failing-bot; its stream ends with an error event when the id contains "error".

    \b
    Example:
      runreplay emulate --port 8765
      # OpenAI: base_url="http://127.0.0.1:8765/v1"   Coze: base_url="http://127.0.0.1:8765"
      # pytest --runreplay-emulator starts one by itself while recording
    """
    emulator_class = _emulator_class()

    def ready(emulator: Emulator) -> None:
        click.echo(f"runreplay emulator on {emulator.base_url}  (Ctrl-C stops)")
        for name, url in emulator.base_urls.items():
            click.echo(f"  {emulator.providers[name].title}: base_url={url!r}")

    settings: dict[str, Any] = {
        "poll_after_ms": poll_after_ms,
        "coze_tool_bots": coze_tool_bots,
        "coze_failing_bots": coze_failing_bots,
    }
    emulator_class(port=port, phase_seconds=phase_seconds, **settings).serve_forever(on_ready=ready)


def _emulator_class() -> type[Emulator]:
    """The emulator, or a usage error saying which extra brings it."""
    try:
        from runreplay.emulator import Emulator
    except ImportError as exc:
        raise click.UsageError(str(exc)) from None
    return Emulator


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
@click.option(
    "--no-scrub",
    is_flag=True,
    help="Write the recordings' secrets as they are (not recommended: the cassettes must not be committed so).",
)
@rules_option
def import_(sources: tuple[Path, ...], out: Path, exact: bool, no_scrub: bool, rules_file: Path | None) -> None:
    """Convert recordings made by other tools into runreplay cassettes, scrubbed.

    Reads VCR.py YAML/JSON (gzip !!binary bodies, SSE stored as one string), Ruby VCR and
    R vcr YAML, Azure SDK test-proxy JSON (SessionRecords) and HAR 1.2; the format is
    detected from the content. Folders are searched for such files. Secrets are scrubbed
    before anything is written, with the rules `runreplay scrub` uses (the sources'
    Authorization, cookies, organization ids and keys become stable pseudonyms);
    --no-scrub keeps them, with a warning.

    \b
    Example:
      runreplay import tests/fixtures/cassettes/ -o cassettes/imported
    """
    from runreplay.cli.cassettes import NO_SCRUB_WARNING, import_recordings
    from runreplay.scrub_rules import load_rules

    rules = None if no_scrub else load_rules(rules_file)
    files = recording_files(sources)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SanitizedIdWarning)
        written = import_recordings(files, out, exact=exact, rules=rules, scrub=not no_scrub)
    for source, target in zip(files, written, strict=False):
        click.echo(f"{source} -> {target}")
    for warning in caught:  # what a sanitizer left unlinked, and any other warning, after the list
        click.echo(f"runreplay: WARNING: {warning.message}", err=True)
    if no_scrub:
        click.echo(f"imported {len(written)} recording(s) into {out}, NOT scrubbed", err=False)
        click.echo(NO_SCRUB_WARNING.format(out=out), err=True)
    else:
        click.echo(f"imported {len(written)} recording(s) into {out}, scrubbed")


for _command in (record.record, serve.serve, *cassettes.COMMANDS, *schemas.COMMANDS):
    main.add_command(_command)

if __name__ == "__main__":  # pragma: no cover
    main()
