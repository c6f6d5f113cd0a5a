"""What runreplay's checks cost: schema validation of replayed payloads and ``scrub --check``.

Both modules were being written while these benchmarks were; each measurement looks for
the API it needs and reports "not available" instead of failing when it is missing.

Validation: the same replay (httpx, N distinct 2 KB runs) with and without
``validate_replay=True``; the session validates every replayed interaction when it ends,
so each repetition times the requests plus the session's exit, for both variants. The
cost of ``validate_interaction`` on one payload is shown too.

``scrub --check``: what the command does per file (load the cassette, ``find_secrets``),
and the command itself run in process through click's test runner; throughput in MB of
cassette file per second. An orjson parse of the same file is the floor, for scale.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.clients import Driver
from benchmarks.files import CassetteSet, Files
from benchmarks.harness import (
    FLOOR,
    MB_PER_S,
    SUBJECT,
    US_PER_PAYLOAD,
    US_PER_REQ,
    Case,
    NotAvailable,
    Target,
    Variant,
    clock,
    spread,
)
from benchmarks.replay import PreloadedSession, timed_gets

#: Validating replayed payloads may add at most 20% to the cost of replaying them.
TARGET_VALIDATION_X = 1.2


# --------------------------------------------------------------------------- validation


def validation_cases(files: Files, size: int, requests: int) -> list[Case]:
    cset = files.polling("distinct", size)
    positions = spread(size, requests)
    driver = Driver("httpx")
    variants = [
        Variant("replay", FLOOR, _replay(driver, cset, positions, validate=False), note="validate_replay=False"),
        Variant(SUBJECT, SUBJECT, _replay(driver, cset, positions, validate=True), note="validate_replay=True"),
    ]
    target = Target(SUBJECT, TARGET_VALIDATION_X, text="adds < 20% (<= 1.2x replay)")
    label = f"httpx distinct N={size:,}, per replayed request"
    per_request = Case("validation", label, US_PER_REQ, variants, [target], params={"size": size})
    single = Variant("validate_interaction", SUBJECT, _validate_one(cset), note="one 2 KB run, request and reply")
    per_payload = Case("validation", "per payload", US_PER_PAYLOAD, [single])
    return [per_request, per_payload]


def _replay(driver: Driver, cset: CassetteSet, positions: list[int], *, validate: bool) -> Callable[[], float]:
    def run() -> float:
        # Replay validation is on by default; the baseline switches it off.
        session = PreloadedSession(cset.runreplay, unused="ignore", validate_replay=validate)
        session.__enter__()
        try:
            per_request = timed_gets(driver.get, cset.exchanges, positions)
        finally:
            start = clock()
            session.__exit__(None, None, None)
            exit_seconds = (clock() - start) / 1e9
        if validate and getattr(session, "violations", None):
            raise AssertionError(f"the benchmark payload breaks its schema: {session.violations[:1]}")
        return per_request + exit_seconds / len(positions)

    return run


def _validate_one(cset: CassetteSet) -> Callable[[], float]:
    def run() -> float:
        from runreplay import validate_interaction

        interaction = cset.interactions[len(cset.interactions) // 2]
        rounds = 200
        start = clock()
        for _ in range(rounds):
            validate_interaction(interaction)
        return (clock() - start) / rounds / 1e9

    return run


# --------------------------------------------------------------------------- scrub --check


def scrub_cases(files: Files, size: int) -> list[Case]:
    cset = files.polling("distinct", size)
    path = cset.runreplay
    megabytes = path.stat().st_size / 1e6
    variants = [
        Variant(FLOOR, FLOOR, _per_mb(_orjson_parse, path, megabytes), note="orjson parse only"),
        Variant(SUBJECT, SUBJECT, _per_mb(_find_secrets, path, megabytes), note="load + find_secrets"),
        Variant("runreplay scrub --check", SUBJECT, _per_mb(_cli_check, path, megabytes), note="CLI, in process"),
    ]
    label = f"N={size:,} ({megabytes:.1f} MB file)"
    return [Case("scrub --check", label, MB_PER_S, variants, params={"size": size, "megabytes": megabytes})]


def _per_mb(action: Callable[[Path], Any], path: Path, megabytes: float) -> Callable[[], float]:
    def run() -> float:
        start = clock()
        action(path)
        return (clock() - start) / 1e9 / megabytes

    return run


def _orjson_parse(path: Path) -> Any:
    import orjson

    return orjson.loads(path.read_bytes())


def _find_secrets(path: Path) -> Any:
    from runreplay import find_secrets, load

    return find_secrets(load(path))


def _cli_check(path: Path) -> None:
    from click.testing import CliRunner

    from runreplay.cli import main

    commands = main.commands
    if "scrub" not in commands:
        raise NotAvailable("the CLI has no scrub command")
    result = CliRunner().invoke(main, ["scrub", "--check", str(path)])
    if result.exit_code not in (0, 1):  # 1 means secrets were found, still a completed check
        raise NotAvailable(f"scrub --check exited {result.exit_code}: {result.output.strip()[-200:]}")
