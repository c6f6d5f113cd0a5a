"""CLI commands that manage cassettes: ``scrub`` and ``show`` (and the scrubbing half of ``import``).

``scrub --check`` and ``show`` read every format ``import`` reads (VCR.py, Ruby and R vcr,
Azure test-proxy, HAR), converting it in memory. ``scrub`` rewrites runreplay cassettes only:
it refuses another tool's recording, naming ``runreplay import``.

Exit codes, as for every runreplay command: 0 ok, 1 findings, 2 usage errors or
unreadable input.
"""

from __future__ import annotations

import difflib
import json
import sys
from pathlib import Path

import click

from runreplay.cassette import Cassette, atomic_write_text, dumps, load, save
from runreplay.cli.common import (
    EXIT_FINDINGS,
    EXIT_OK,
    exit_2_on_errors,
    is_cassette,
    load_recording,
    progress,
    recording_files,
    rules_option,
)
from runreplay.engine.scrub import Scrubber, find_secrets
from runreplay.errors import CassetteError
from runreplay.scrub_rules import ScrubRules, load_rules


def _refuse_foreign(files: list[Path]) -> None:
    """``scrub`` rewrites files in place, which only makes sense for runreplay cassettes."""
    from runreplay.importers import detect_format

    for path in files:
        if not is_cassette(path):
            fmt = detect_format(path)  # an unreadable file is reported as such
            raise CassetteError(
                f"a {fmt} recording, not a runreplay cassette: `runreplay scrub` rewrites runreplay cassettes "
                "only (rewriting another tool's file would change its format). Convert it with "
                f"`runreplay import {path} -o DIR` (which scrubs by default) and commit the converted "
                "cassette, or check it as it is with `runreplay scrub --check`",
                path=path,
            )


# --------------------------------------------------------------------------- scrub


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--check", is_flag=True, help="Change nothing; exit 1 if any secret-shaped value remains.")
@click.option("--dry-run", is_flag=True, help="Change nothing; print a diff of what scrubbing would change.")
@rules_option
def scrub(paths: tuple[Path, ...], check: bool, dry_run: bool, rules_file: Path | None) -> None:
    """Scrub secrets out of cassettes, in place and atomically, or check that none remain.

    Secrets (credential shapes such as OpenAI, Anthropic, Coze, GitHub, Slack, Stripe,
    Hugging Face, Google and AWS keys, JWTs and PEM private keys, anywhere; values named as
    secrets by their header, query parameter, form field or JSON key; URL passwords;
    cookies; and the JSON paths you configure) are replaced by stable pseudonyms: the same
    value gets the same pseudonym everywhere, so replay matching and id links keep working.

    --check also reads other tools' recordings (VCR.py, vcr, Azure test-proxy, HAR);
    scrubbing them in place is refused: convert them with `runreplay import`.

    \b
    Examples:
      runreplay scrub tests/cassettes/                 # rewrite what needs it
      runreplay scrub --dry-run tests/cassettes/x.json # show the diff only
      runreplay scrub --check tests/cassettes/         # CI / pre-commit: exit 1 on a leak

    \b
    Exit codes: 0 clean (or scrubbed), 1 --check found secrets, 2 usage error or unreadable input.
    """
    with exit_2_on_errors():
        rules = load_rules(rules_file)
        files = recording_files(paths)
        if check:
            _check(files, rules)
        _refuse_foreign(files)  # before anything is written
        changed = 0
        for path in progress(files, "scrubbing"):
            before = path.read_text(encoding="utf-8")
            cassette = Scrubber(rules).cassette(load(path))
            after = dumps(cassette)
            if after == before:
                continue
            changed += 1
            if dry_run:
                diff = difflib.unified_diff(
                    before.splitlines(), after.splitlines(), f"{path} (now)", f"{path} (scrubbed)", lineterm=""
                )
                click.echo("\n".join(diff))
            else:
                atomic_write_text(path, after)
        verb = "would change" if dry_run else "scrubbed"
        click.echo(f"{verb} {changed} of {len(files)} cassette(s)", err=True)


def _check(files: list[Path], rules: ScrubRules) -> None:
    findings = []
    for path in progress(files, "checking"):
        findings.extend(find_secrets(load_recording(path), rules))
    for finding in findings:
        click.echo(str(finding))
    if findings:
        click.echo(
            f"{len(findings)} secret-shaped value(s) in {len({f.path for f in findings})} file(s); "
            "run `runreplay scrub` on them",
            err=True,
        )
        sys.exit(EXIT_FINDINGS)
    click.echo(f"no secrets in {len(files)} cassette(s)", err=True)
    sys.exit(EXIT_OK)


# --------------------------------------------------------------------------- import


def import_recordings(
    files: list[Path], out: Path, *, exact: bool = False, rules: ScrubRules | None = None, scrub: bool = True
) -> list[Path]:
    """Convert each recording to ``out/<stem>.json``, scrubbed unless ``scrub`` is false.

    Everything is converted (and scrubbed) before anything is written, so a bad input leaves
    ``out`` untouched and no secret is written even for a moment. Two inputs with the same
    stem would overwrite each other and are refused.
    """
    from runreplay.importers import import_file

    targets = [out / f"{source.stem}.json" for source in files]
    seen: dict[Path, Path] = {}
    for source, target in zip(files, targets, strict=True):
        if target in seen:
            raise CassetteError(f"would write {target} for both {seen[target]} and {source}", path=source)
        seen[target] = source
    cassettes: list[Cassette] = [import_file(source, exact=exact) for source in files]
    if scrub:
        scrubber = Scrubber(rules)  # one for all: a value learnt in one file is replaced in the others
        for cassette in cassettes:
            scrubber.cassette(cassette)
        for cassette in cassettes:  # again, for values learnt from later files
            scrubber.cassette(cassette)
    return [save(cassette, target) for cassette, target in zip(cassettes, targets, strict=True)]


NO_SCRUB_WARNING = (
    "runreplay: WARNING: --no-scrub: the imported cassettes keep every secret their sources hold "
    "(Authorization and API-key headers, cookies, keys and tokens in URLs and bodies). Do not commit "
    "them: run `runreplay scrub {out}` first."
)


# --------------------------------------------------------------------------- show


@click.command()
@click.argument("cassette", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def show(cassette: Path, fmt: str) -> None:
    """Print a cassette as a timeline: requests, statuses, run/chat states, tool calls, streams.

    Other tools' recordings (VCR.py, vcr, Azure test-proxy, HAR) are shown as they would be
    imported.

    \b
    Examples:
      runreplay show tests/cassettes/test_runs/test_tool_call.json
      runreplay show --format json tests/cassettes/test_runs/test_tool_call.json | jq .resources

    \b
    Exit codes: 0 ok, 2 usage error or unreadable cassette.
    """
    from runreplay.cli.show import describe, render_text

    with exit_2_on_errors():
        description = describe(load_recording(cassette))
    if fmt == "json":
        click.echo(json.dumps(description, indent=2, ensure_ascii=False))
    else:
        click.echo(render_text(description, click.style if sys.stdout.isatty() else None))


COMMANDS = (scrub, show)
