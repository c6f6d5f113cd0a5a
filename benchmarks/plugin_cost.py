"""The pytest plugin's fixed cost per test.

pytest runs in a subprocess on a generated module of N tiny tests, each making one GET of a
run through an httpx client over a MockTransport. Three versions of the module:

- unmarked (the floor): the MockTransport answers; pytest's and the installed plugins' own
  per-test costs are all there is;
- ``@pytest.mark.runreplay("one")``: every test opens a runreplay session on a one-interaction
  cassette (load, matcher, virtual clock, patches), replays the GET, and closes it (checks);
- ``@my_vcr.use_cassette("one.yaml")``: the same with VCR.py's decorator.

Each row is the subprocess's wall time divided by N; the extra rows subtract the unmarked
time, which leaves the fixed cost each marker adds to a test.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

from benchmarks import data
from benchmarks.files import Files
from benchmarks.harness import FLOOR, MS_PER_TEST, PEER, SUBJECT, Case, Row, Variant, clock

#: hypothesis's plugin, when installed, takes a second to import, in every variant alike.
_PYTEST_OPTIONS = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest")
_PYTEST_INI = """\
[pytest]
asyncio_default_fixture_loop_scope = function
filterwarnings = ignore::DeprecationWarning
"""

_MODULE = """\
import httpx
import pytest
{imports}

BODY = {body!r}
CLIENT = httpx.Client(
    transport=httpx.MockTransport(lambda request: httpx.Response(200, content=BODY, headers={headers!r})),
    base_url={base!r},
)


{decorator}
@pytest.mark.parametrize("n", range({count}))
def test_get(n):
    assert CLIENT.get({path!r}).status_code == 200
"""

_STYLES = {
    "unmarked": ("", ""),
    "runreplay": ("", '@pytest.mark.runreplay("one")'),
    "vcr": (
        'import os\nimport vcr\n\nMY_VCR = vcr.VCR(record_mode="none", cassette_library_dir=os.path.dirname(__file__))',
        '@MY_VCR.use_cassette("one.yaml")',
    ),
}


def _suite(files: Files, style: str, count: int) -> Path:
    """A folder with the test module (and its cassette) for one style."""
    folder = files.root / f"plugin_{style}_{count}"
    if folder.exists():
        return folder
    folder.mkdir(parents=True)
    cset = files.polling("poll", 1)
    exchange = cset.exchanges[0]
    imports, decorator = _STYLES[style]
    source = _MODULE.format(
        imports=imports,
        body=exchange.body,
        headers=exchange.headers,
        base=data.BASE_URL,
        decorator=decorator,
        count=count,
        path=exchange.path,
    )
    (folder / "test_bench.py").write_text(textwrap.dedent(source), encoding="utf-8")
    (folder / "pytest.ini").write_text(_PYTEST_INI, encoding="utf-8")
    if style == "runreplay":
        (folder / "cassettes" / "test_bench").mkdir(parents=True)
        (folder / "cassettes" / "test_bench" / "one.json").write_bytes(cset.runreplay.read_bytes())
    if style == "vcr":
        (folder / "one.yaml").write_bytes(cset.vcr_yaml.read_bytes())
    return folder


def _run_pytest(folder: Path, count: int) -> Callable[[], float]:
    def run() -> float:
        start = clock()
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", *_PYTEST_OPTIONS, "test_bench.py"],
            cwd=folder,
            env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"),
            capture_output=True,
            text=True,
            check=False,
        )
        elapsed = (clock() - start) / 1e9
        if done.returncode != 0 or f"{count} passed" not in done.stdout:
            raise AssertionError(f"pytest failed in {folder}:\n{done.stdout[-1500:]}\n{done.stderr[-1500:]}")
        return elapsed / count

    return run


def cases(files: Files, count: int) -> list[Case]:
    # Each repetition is a fresh pytest process: there is nothing to warm up.
    variants = [
        Variant(FLOOR, FLOOR, _run_pytest(_suite(files, "unmarked", count), count), "unmarked tests", warmup=False),
        Variant(
            SUBJECT, SUBJECT, _run_pytest(_suite(files, "runreplay", count), count), "@pytest.mark.runreplay", False
        ),
        Variant("VCR.py", PEER, _run_pytest(_suite(files, "vcr", count), count), "@vcr.use_cassette, YAML", False),
    ]
    label = f"{count} tests, 1 replayed GET each (pytest wall / N)"
    return [Case("pytest plugin", label, MS_PER_TEST, variants, params={"tests": count}, post=fixed_costs)]


def fixed_costs(rows: list[Row]) -> list[Row]:
    """Rows for what each marker adds per test: its median minus the unmarked median."""
    floor = next((r for r in rows if r.role == FLOOR and r.samples), None)
    if floor is None:
        return []
    base = statistics.median(floor.samples)
    out = []
    for row in rows:
        if row is floor or not row.samples:
            continue
        added = [s - base for s in row.samples]
        out.append(
            Row(
                row.measurement,
                "fixed cost per test (marked - unmarked)",
                row.variant,
                row.role,
                row.unit,
                added,
                note=row.note,
                params=row.params,
            )
        )
    vcr = next((r for r in out if r.role == PEER), None)
    if vcr is not None and statistics.median(vcr.samples) > 0:
        for row in out:
            if row is not vcr:
                row.x_vcr = row.median / vcr.median
    return out
