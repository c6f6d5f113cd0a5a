"""CLI commands that manage cassettes: ``scrub`` and ``show``.

Exit codes, as for every runreplay command: 0 ok, 1 findings, 2 usage errors or
unreadable input.
"""

from __future__ import annotations

import difflib
import json
import sys
from pathlib import Path

import click

from runreplay.cassette import atomic_write_text, dumps, load
from runreplay.cli.common import (
    EXIT_FINDINGS,
    EXIT_OK,
    exit_2_on_errors,
    is_cassette,
    progress,
    recording_files,
    rules_option,
)
from runreplay.engine.scrub import Scrubber, find_secrets
from runreplay.errors import CassetteError
from runreplay.scrub_rules import ScrubRules, load_rules


def _cassettes(paths: tuple[Path, ...]) -> list[Path]:
    files = recording_files(paths, suffixes=(".json",))
    foreign = [p for p in files if not is_cassette(p)]
    if foreign:
        raise CassetteError(
            "not a runreplay cassette (convert recordings from other tools with `runreplay import` first)",
            path=foreign[0],
        )
    return files


# --------------------------------------------------------------------------- scrub


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--check", is_flag=True, help="Change nothing; exit 1 if any secret-shaped value remains.")
@click.option("--dry-run", is_flag=True, help="Change nothing; print a diff of what scrubbing would change.")
@rules_option
def scrub(paths: tuple[Path, ...], check: bool, dry_run: bool, rules_file: Path | None) -> None:
    """Scrub secrets out of cassettes, in place and atomically, or check that none remain.

    Secrets (Authorization and API-key headers, cookies, OpenAI organization/project, Coze
    and OpenAI keys, JWTs, bearer tokens, AWS keys, query tokens and the JSON paths you
    configure) are replaced by stable pseudonyms: the same value gets the same pseudonym
    everywhere, so replay matching and id links keep working.

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
        files = _cassettes(paths)
        if check:
            _check(files, rules)
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
        findings.extend(find_secrets(load(path), rules))
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


# --------------------------------------------------------------------------- show


@click.command()
@click.argument("cassette", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def show(cassette: Path, fmt: str) -> None:
    """Print a cassette as a timeline: requests, statuses, run/chat states, tool calls, streams.

    \b
    Examples:
      runreplay show tests/cassettes/test_runs/test_tool_call.json
      runreplay show --format json tests/cassettes/test_runs/test_tool_call.json | jq .resources

    \b
    Exit codes: 0 ok, 2 usage error or unreadable cassette.
    """
    from runreplay.cli.show import describe, render_text

    with exit_2_on_errors():
        description = describe(load(cassette))
    if fmt == "json":
        click.echo(json.dumps(description, indent=2, ensure_ascii=False))
    else:
        click.echo(render_text(description, click.style if sys.stdout.isatty() else None))


COMMANDS = (scrub, show)
