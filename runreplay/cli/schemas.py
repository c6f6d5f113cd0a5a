"""CLI commands for the documented types: ``validate``, ``drift`` and ``schemas``.

Register them on the main group::

    from runreplay.cli.schemas import COMMANDS
    for command in COMMANDS:
        main.add_command(command)

Exit codes: 0 clean, 1 findings (violations, error-severity drift, changes, stale
schemas, spec differences), 2 usage errors or unreadable input.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from runreplay import schema
from runreplay.cassette import Cassette
from runreplay.checks import compare as comparing
from runreplay.checks.drift import drift as drift_report
from runreplay.checks.drift import load_config
from runreplay.checks.validation import Violation, check_cassette
from runreplay.cli.common import (
    EXIT_FINDINGS,
    EXIT_OK,
    exit_2_on_errors,
    load_recording,
    progress,
    recording_files,
)
from runreplay.errors import ConfigError

#: The repository's copies of the vendor specs (a source checkout has them; an install does not).
SPEC_FOLDER = Path(__file__).resolve().parents[2] / "tests" / "data" / "specs"

_paths = click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
_api_version = click.option(
    "--api-version",
    metavar="VERSION",
    default=None,
    help="Check every request as this API version (e.g. v2), whatever its OpenAI-Beta header says.",
)


def _recordings(paths: tuple[Path, ...]) -> list[Cassette]:
    files = recording_files(paths)
    if not files:
        raise click.UsageError("no recordings found (give cassette files or folders holding them)")
    return [load_recording(p) for p in progress(files, "reading recordings")]


# --------------------------------------------------------------------------- validate


@click.command()
@_paths
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@_api_version
def validate(paths: tuple[Path, ...], fmt: str, api_version: str | None) -> None:
    """Check every payload of cassettes against the documented types.

    Each request body, query string, reply body and stream event of each recording is
    checked against the schema its endpoint and API version give it. Folders are
    searched for recordings; other tools' recordings (VCR.py, Ruby/R vcr, Azure
    test-proxy, HAR) are converted on the fly. Requests to endpoints without
    documented types are listed as notes, not violations.

    Exit codes: 0 every payload valid, 1 violations, 2 usage error or unreadable input.

    \b
    Examples:
      runreplay validate tests/cassettes/
      runreplay validate old_v1.json --api-version v2
      runreplay validate tests/cassettes/ --format json > violations.json
    """
    if not paths:
        raise click.UsageError("give at least one cassette file or folder")
    with exit_2_on_errors():
        cassettes = _recordings(paths)
        results = [(c, check_cassette(c, api_version=api_version, unknown_fields=False)) for c in cassettes]
    total = sum(v.is_violation for _, found in results for v in found)
    if fmt == "json":
        document = {
            "cassettes": [
                {
                    "path": str(c.path),
                    "violations": [v.to_json() for v in found if v.is_violation],
                    "unchecked": [v.to_json() for v in found if not v.is_violation],
                }
                for c, found in results
            ],
            "violations": total,
            "exit_code": EXIT_FINDINGS if total else EXIT_OK,
        }
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        for cassette, found in results:
            click.echo(_validate_text(str(cassette.path), found))
        bad = sum(any(v.is_violation for v in found) for _, found in results)
        click.echo(f"validate: {total} violation(s) in {bad} of {len(results)} cassette(s)")
    sys.exit(EXIT_FINDINGS if total else EXIT_OK)


def _validate_text(name: str, found: list[Violation]) -> str:
    violations = [v for v in found if v.is_violation]
    lines = [f"{name}: {len(violations)} violation(s)" if violations else f"{name}: ok"]
    for v in violations:
        lines.append(
            f"  #{v.interaction} {v.endpoint or ''} {v.path}: {v.label}: expected {v.expected}, found {v.found}"
        )
    for v in found:
        if not v.is_violation:
            lines.append(f"  note: #{v.interaction} {v.found}: {v.label}, not checked")
    return "\n".join(lines)


# --------------------------------------------------------------------------- drift


@click.command()
@_paths
@click.option("--format", "fmt", type=click.Choice(["text", "json", "github"]), default="text", show_default=True)
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="pyproject.toml with [tool.runreplay.drift] severities and ignore_paths (default: the nearest one).",
)
@click.option(
    "--compare",
    nargs=2,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    metavar="OLD NEW",
    help="List what changed between two recordings of the same test instead.",
)
@_api_version
def drift(
    paths: tuple[Path, ...],
    fmt: str,
    config_file: Path | None,
    compare: tuple[Path, Path] | None,
    api_version: str | None,
) -> None:
    """Report how recorded traffic differs from the documented types.

    Every difference is classified: unknown_field (a field the vendor added),
    missing_required, type_change, new_enum_value (e.g. a new run status),
    unknown_endpoint and unknown_event. Each category has a severity (error, warning,
    notice or ignore) set in [tool.runreplay.drift] of pyproject.toml; the defaults
    are error for everything but unknown_field and unknown_endpoint (warnings).
    Its ignore_paths (JSON paths into a body, such as $..trace_id) leave out what lies
    there, in both forms of the command.

    With --compare OLD NEW, lists what changed between two recordings of the same
    test: endpoints and events added or removed, fields added, removed or changing
    type, enumerated values (statuses, tool types) seen in one and not the other.

    Exit codes: 0 no error-severity drift (--compare: no change), 1 drift (changes),
    2 usage error, unreadable input or invalid configuration.

    \b
    Examples:
      runreplay drift tests/cassettes/
      runreplay drift tests/cassettes/ --format github      # annotations in a CI job
      runreplay drift old_v1.json --api-version v2          # would v1 traffic pass as v2?
      runreplay drift --compare before.json after.json      # after re-recording
    """
    with exit_2_on_errors():
        if compare is not None:
            if paths:
                raise click.UsageError("give either PATH... or --compare OLD NEW, not both")
            ignore = load_config(config_file).compiled_paths
            old, new = (load_recording(p) for p in compare)
            changes = comparing.compare(old, new, api_version, ignore)
            click.echo(comparing.render(changes, fmt, str(compare[0]), str(compare[1])), nl=False)
            sys.exit(EXIT_FINDINGS if changes else EXIT_OK)
        if not paths:
            raise click.UsageError("give at least one cassette file or folder (or --compare OLD NEW)")
        config = load_config(config_file)  # None: the nearest pyproject.toml, else defaults
        report = drift_report(_recordings(paths), config, api_version=api_version)
    click.echo(report.render(fmt), nl=False)
    sys.exit(report.exit_code)


# --------------------------------------------------------------------------- schemas


@click.group()
def schemas() -> None:
    """The JSON schemas generated from the documented types (schemas/).

    \b
    Examples:
      runreplay schemas export              # regenerate schemas/ from the models
      runreplay schemas check-spec          # compare them with the vendors' OpenAPI specs
    """


@schemas.command("export")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=schema.DEFAULT_DIR,
    show_default="schemas/ of the source checkout",
    help="Folder to write the schema files into.",
)
@click.option("--check", is_flag=True, help="Write nothing; exit 1 when the folder is not up to date.")
def export(out: Path, check: bool) -> None:
    """Regenerate the JSON Schema files (draft 2020-12, one per type) from the models.

    Files that are no longer generated are deleted; other files (deviations.yaml) are
    left alone.

    \b
    Examples:
      runreplay schemas export
      runreplay schemas export --check      # in CI: fail when schemas/ is stale
    """
    if check:
        stale = schema.stale_files(out)
        for name in stale:
            click.echo(f"stale: {out / name}")
        click.echo(f"schemas: {len(stale)} stale file(s) in {out}" if stale else f"schemas: {out} is up to date")
        sys.exit(EXIT_FINDINGS if stale else EXIT_OK)
    changed = schema.export(out)
    click.echo(f"schemas: {len(changed)} file(s) written or removed in {out}")


@schemas.command("check-spec")
@click.option(
    "--spec",
    "specs",
    multiple=True,
    metavar="PROVIDER=FILE",
    help="A provider's vendor spec (e.g. openai=openapi.yaml); default: the repository's copies in tests/data/specs/.",
)
@click.option(
    "--deviations",
    type=click.Path(dir_okay=False, path_type=Path),
    default=schema.DEFAULT_DIR / "deviations.yaml",
    show_default="schemas/deviations.yaml",
    help="The reviewed list of deliberate differences.",
)
def check_spec_command(specs: tuple[str, ...], deviations: Path) -> None:
    """Compare our schemas with the vendors' OpenAPI specs (for maintainers of runreplay).

    Reports fields, enumerated values and union members that one side has and the
    other lacks, except the deliberate ones listed (with a reason each) in the
    deviations file, and listed ones that no longer exist. Run it from a checkout of
    the runreplay repository, which holds the vendor specs; elsewhere give --spec for
    every provider.

    Exit codes: 0 no unlisted difference, 1 differences, 2 unreadable spec or deviations.

    \b
    Example:
      runreplay schemas check-spec --spec openai=specs/openai-openapi.yaml
    """
    from runreplay.checks.spec import check_spec, spec_files

    with exit_2_on_errors():
        files: dict[str, str | Path] = dict(spec_files(SPEC_FOLDER))
        given: set[str] = set()
        for option in specs:
            name, sep, file = option.partition("=")
            if not sep or not name or not file:
                raise ConfigError(f"--spec {option!r}: write it as PROVIDER=FILE (providers: {', '.join(files)})")
            if name not in files:
                raise ConfigError(f"--spec {option!r}: no provider {name!r} has a vendor spec ({', '.join(files)})")
            files[name] = Path(file)
            given.add(name)
        absent = sorted(name for name, path in files.items() if name not in given and not Path(path).is_file())
        if absent:
            raise ConfigError(
                f"no vendor spec for {', '.join(absent)} in {SPEC_FOLDER} (a checkout of the runreplay repository "
                "has them there); give --spec PROVIDER=FILE for each"
            )
        report = check_spec(files, deviations)
    click.echo(report.to_text(), nl=False)
    sys.exit(EXIT_OK if report.ok else EXIT_FINDINGS)


#: What cli.py registers on the main group.
COMMANDS: tuple[click.Command, ...] = (validate, drift, schemas)
