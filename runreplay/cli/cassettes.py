"""CLI commands that manage cassettes: ``record``, ``scrub`` and ``show``.

Exit codes, as for every runreplay command: 0 ok, 1 findings, 2 usage errors or
unreadable input (``record`` passes on the command's own exit code when it fails).
"""

from __future__ import annotations

import difflib
import json
import sys
from pathlib import Path

import click

from runreplay.cassette import atomic_write_text, load
from runreplay.cli_common import EXIT_FINDINGS, EXIT_OK, exit_2_on_errors, is_cassette, progress, recording_files
from runreplay.errors import CassetteError
from runreplay.record_mode import RecordMode
from runreplay.scrub import Scrubber, ScrubRules, find_secrets, load_rules

_rules_option = click.option(
    "--rules",
    "rules_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Scrub rules: a pyproject.toml with [tool.runreplay.scrub], or a TOML file with the same keys "
    "at the top level. Default: the nearest pyproject.toml.",
)


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
@_rules_option
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
            after = cassette.dumps()
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
    from runreplay.show import describe, render_text

    with exit_2_on_errors():
        description = describe(load(cassette))
    if fmt == "json":
        click.echo(json.dumps(description, indent=2, ensure_ascii=False))
    else:
        click.echo(render_text(description, click.style if sys.stdout.isatty() else None))


# --------------------------------------------------------------------------- record


@click.command(context_settings={"ignore_unknown_options": True})
@click.option("--cassette", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Cassette to write.")
@click.option(
    "--mode",
    type=click.Choice([m.value for m in RecordMode]),
    default="once",
    show_default=True,
    help="Record mode, as in the pytest plugin.",
)
@click.option(
    "--validate",
    type=click.Choice(["error", "warn", "off"]),
    default="error",
    show_default=True,
    help="Check the recorded payloads against the documented types; 'error' exits 1 on a violation.",
)
@_rules_option
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def record(cassette: Path, mode: str, validate: str, rules_file: Path | None, command: tuple[str, ...]) -> None:
    """Run a Python program with recording active, in it and its Python children.

    Everything after `--` is the command. Each Python process it starts records its HTTP
    traffic; when it has finished, the recordings are merged into one cassette in request
    order, scrubbed and validated, as the pytest plugin does.

    \b
    Examples:
      runreplay record --cassette cassettes/nightly.json -- python scripts/nightly.py
      runreplay record --cassette cassettes/suite.json --mode rewrite -- pytest tests/e2e
      runreplay record --cassette cassettes/nightly.json --mode none -- python scripts/nightly.py  # replay

    \b
    Exit codes: the command's own when it fails; otherwise 0, or 1 when recorded payloads
    break their schema (--validate error); 2 usage error.
    """
    from runreplay import recorder

    with exit_2_on_errors():
        record_mode = RecordMode.parse(mode)
        if record_mode is RecordMode.NONE and not cassette.exists():
            raise CassetteError("cassette not found and --mode is none: nothing to replay", path=cassette)
        rules = load_rules(rules_file)
        merged = recorder.run(recorder.python_command(list(command)), cassette, record_mode, rules, rules_file)
    click.echo(
        f"runreplay: recorded {len(merged.added)} interaction(s) from {merged.processes} process(es) into {cassette}",
        err=True,
    )
    if merged.exit_code != 0:
        sys.exit(merged.exit_code)
    if validate != "off" and merged.added:
        from runreplay.validation import format_violations, validate_interaction

        found = [
            v
            for index, item in enumerate(merged.added, start=merged.first_index)
            for v in validate_interaction(item, index=index, cassette=str(cassette))
        ]
        if found:
            click.echo(format_violations(found), err=True)
            if validate == "error":
                sys.exit(EXIT_FINDINGS)


COMMANDS = (record, scrub, show)
