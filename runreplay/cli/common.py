"""What every runreplay command shares: finding recordings, loading them, exit codes."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn, TypeVar

import click

from runreplay.cassette import Cassette, load
from runreplay.errors import RunReplayError

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2
RECORDING_SUFFIXES = (".json", ".yaml", ".yml", ".har")
T = TypeVar("T")

rules_option = click.option(
    "--rules",
    "rules_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Scrub rules: a pyproject.toml with [tool.runreplay.scrub], or a TOML file with the same keys "
    "at the top level. Default: the nearest pyproject.toml.",
)


def usage_error(exc: RunReplayError) -> NoReturn:
    """runreplay's own errors (unreadable cassettes, bad configuration) -> one paragraph, exit 2."""
    # A file name or a value from the input may hold text a terminal cannot take (lone surrogates).
    message = f"runreplay: error: {exc}".encode("utf-8", "backslashreplace").decode("utf-8")
    click.echo(message, err=True)
    sys.exit(EXIT_USAGE)


@contextmanager
def exit_2_on_errors() -> Iterator[None]:
    """:func:`usage_error` for runreplay's own errors raised inside the block."""
    try:
        yield
    except RunReplayError as exc:
        usage_error(exc)


def recording_files(paths: Iterable[Path], suffixes: tuple[str, ...] = RECORDING_SUFFIXES) -> list[Path]:
    """The files named, plus every recording under the folders named; a missing path is a usage error."""
    files: list[Path] = []
    folders: list[Path] = []
    for path in paths:
        if path.is_dir():
            folders.append(path)
            files.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in suffixes))
        elif path.is_file():
            files.append(path)
        else:
            raise click.BadParameter(f"{path}: no such file or folder", param_hint="PATHS")
    if not files:
        where = f" in {', '.join(str(f) for f in folders)}" if folders else ""
        kinds = ", ".join(f"*{s}" for s in suffixes)
        raise click.UsageError(
            f"no recordings found{where} (looked for {kinds}; give cassette files or folders holding them)"
        )
    return files


def is_cassette(path: Path) -> bool:
    """A runreplay cassette (as opposed to another tool's recording), judged by its start."""
    try:
        return path.suffix.lower() == ".json" and '"format"' in path.read_text(encoding="utf-8")[:200]
    except (OSError, UnicodeDecodeError):
        return False


def load_recording(path: Path) -> Cassette:
    """A runreplay cassette, or another tool's recording converted on the fly."""
    if is_cassette(path):
        return load(path)
    from runreplay.importers import import_file

    cassette = import_file(path)
    cassette.path = path
    return cassette


def progress(items: list[T], label: str) -> Iterator[T]:
    """A progress bar on a terminal for long runs; plain iteration otherwise (CI logs, pipes)."""
    if len(items) < 20 or not sys.stderr.isatty():
        yield from items
        return
    with click.progressbar(items, label=label, file=sys.stderr) as bar:
        yield from bar
