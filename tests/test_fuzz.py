"""Every malformed input gets a one-paragraph error and exit code 2, never a traceback or a hang.

Hypothesis mutates real cassettes (the demo cassettes and real recordings converted by
``import``) and real foreign recordings (VCR.py YAML, Ruby and R vcr YAML, Azure test-proxy
JSON, HAR), at the value level (a field deleted, a type swapped, nesting far too deep, numbers
of thousands of digits, lone surrogates and other odd text, YAML aliases and tags) and at the
byte level (cut short, bytes flipped, inserted, deleted or repeated, another encoding). Each
mutated file goes through the loader, the importer and every command that reads recordings.

The runs are derandomized with a fixed number of examples, so CI sees the same inputs every
time; ``RUNREPLAY_FUZZ_EXAMPLES`` multiplies the counts for a longer local run.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import json
import os
import signal
import tempfile
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
import yaml
from _paths import CASSETTES, DATA, REPO, TRAFFIC
from click.testing import CliRunner
from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st

from runreplay.cassette import dumps, load, save
from runreplay.cli import main
from runreplay.errors import CassetteError, ConfigError
from runreplay.importers import import_file
from runreplay.importers._source import _Loader

SafeDumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
ASSISTANTS = TRAFFIC / "openai-assistants"
RESPONSES = TRAFFIC / "openai-responses"

#: Foreign recordings, one or two of each format `import` reads.
FOREIGN = {
    "vcrpy": ASSISTANTS / "openllmetry_v2__test_streaming_new_assistant.yaml",
    "ruby": ASSISTANTS / "ruby-openai__runs_submit_tool_outputs.yml",
    "ruby-sse": RESPONSES / "ruby-openai__responses_stream.yml",
    "r": ASSISTANTS / "lemur_v1__runs.yml",
    "azure": RESPONSES / "openai-dotnet__FunctionCallStreamingWorks.json",
    "azure-sse": ASSISTANTS / "openai-dotnet__StreamingToolCall.json",
    "har": DATA / "openai_run_poll_stream.har",
}
#: runreplay cassettes: the demo ones, and real recordings as `import` converts them.
DEMO = sorted((CASSETTES / "demo").glob("*.json"))
IMPORTED = [FOREIGN["ruby"], FOREIGN["ruby-sse"], FOREIGN["azure"]]

EXAMPLES = float(os.environ.get("RUNREPLAY_FUZZ_EXAMPLES", "1"))
#: Seconds one example may take (loader, importer and every command) before it counts as a hang.
HANG_SECONDS = 30


def fuzz_settings(examples: int) -> settings:
    return settings(
        max_examples=max(1, int(examples * EXAMPLES)),
        derandomize=True,
        database=None,
        # No shrinking: a failure is reported as found, with its notes (seed, mutation), at once.
        phases=(Phase.explicit, Phase.reuse, Phase.generate),
        deadline=None,  # a hang is caught by an alarm; timings on CI machines vary too much for a deadline
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
        print_blob=False,
    )


@functools.cache
def cassette_seeds() -> tuple[tuple[str, bytes], ...]:
    seeds = [(path.name, path.read_bytes()) for path in DEMO]
    seeds += [(f"imported {path.name}", dumps(import_file(path)).encode("utf-8")) for path in IMPORTED]
    return tuple(seeds)


# --------------------------------------------------------------------------- mutations

#: Values a field may be swapped for (Python values, written by the JSON or YAML dumper).
ODD_VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    2**63,
    -(2**64) - 1,
    1.5,
    -0.0,
    1e308,
    "",
    "x",
    "\x00",
    "\r\n",
    "\u202e\u0645\u0631\u062d\u0628\u0627",
    "\U0001f600",
    "\ufeff",
    "a" * 5000,
    "-1",
    "200",
    "http://[::1",
    "text/event-stream",
    "gzip",
    [],
    {},
    [None],
    [1, "a", None],
    {"": ""},
    {"json": 1},
    {"text": 5},
    {"base64": "!!"},
    {"sse": {"events": [{"data": 1, "event": 5}], "framing": "x"}},
    {"sse": {"events": "x"}},
    {"status": "requires_action", "required_action": {"submit_tool_outputs": {"tool_calls": 5}}},
    {"tool_outputs": 5},
]

#: Raw JSON put where a value was: what no Python value dumps to.
RAW_JSON = [
    "9" * 5000,
    "-" + "1" * 4400,
    "1e999",
    "-1e999",
    "NaN",
    "Infinity",
    "[" * 150 + "]" * 150,
    '{"a":' * 130 + "1" + "}" * 130,
    "[" * 1000 + "1" + "]" * 1000,
    "[" * 100_000 + "]" * 100_000,
    '"\\ud800"',
    '"x\\udfff"',
    '{"\\udc80": 1}',
    '"\\u0000"',
    '"\\ud83d\\ude00"',
]

#: Raw YAML put where a value was.
RAW_YAML = [
    "!!int " + "9" * 5000,
    "!!float 1e999",
    "!!timestamp 2020-13-45",
    "!!binary not-base64!",
    "!!python/object:os.system {}",
    "!ruby/object:Foo {a: 1}",
    "!!set {a, b}",
    "!!omap [{a: 1}, {b: 2}]",
    "!!pairs [[a, 1]]",
    "[" * 150 + "]" * 150,
    "[" * 2000 + "]" * 2000,
    '"\\ud800"',
    '"\\x00\\x85"',
    "&anchor [1, *anchor]",
    "{? [a, b] : c}",
    "*undefined",
    "|\n  block\n  text",
]

#: Whole YAML documents: alias bombs, a recursive alias, several documents, directives.
YAML_DOCUMENTS = [
    "a: &a [x, x, x, x, x, x, x, x, x]\n"
    + "".join(f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True))
    + "interactions: [*i]\n",
    "interactions: &x [*x]\n",
    "http_interactions: &x [{request: *x, response: *x}]\n",
    "interactions: []\n---\ninteractions: []\n",
    "%YAML 1.1\n---\ninteractions: []\n",
    "%YAML 9.9\n---\ninteractions: []\n",
    "interactions:\n" + "".join(f"{'  ' * i}- \n" for i in range(1500)),
    "!!binary AAAA\n",
    "- 1\n- 2\n",
    "http_interactions: 5\n",
    "log: {entries: {}}\n",
    "Entries: [5]\n",
]


def _places(value: Any) -> list[tuple[Any, Any]]:
    """Every (container, key) of a parsed document, in document order."""
    found: list[tuple[Any, Any]] = []
    stack = [value]
    while stack:
        item = stack.pop()
        pairs = list(item.items()) if isinstance(item, dict) else list(enumerate(item))
        for key, child in reversed(pairs):
            found.append((item, key))
            if isinstance(child, (dict, list)):
                stack.append(child)
    return found


def mutate_value(data: st.DataObject, doc: Any, raw_values: list[str]) -> tuple[Any, dict[str, str]]:
    """Change one place of ``doc`` (in place); returns it and the raw snippets to put in the text."""
    raws: dict[str, str] = {}
    for _ in range(data.draw(st.integers(1, 3), label="changes")):
        places = _places(doc)
        if not places:
            return data.draw(st.sampled_from(ODD_VALUES), label="document"), raws
        # Places near the top (meta, interactions, request, response) are the interesting ones:
        # favour them, and still reach deep into bodies.
        index = data.draw(st.one_of(st.integers(0, min(40, len(places) - 1)), st.integers(0, len(places) - 1)))
        container, key = places[index]
        operation = data.draw(st.sampled_from(["delete", "swap", "raw", "deepen", "copy", "rename"]), label="op")
        note(f"{operation} at {key!r} of a {type(container).__name__}")
        if operation == "delete":
            del container[key]
        elif operation == "swap":
            container[key] = data.draw(st.sampled_from(ODD_VALUES), label="value")
        elif operation == "raw":
            marker = f"__FUZZ_RAW_{len(raws)}__"
            raws[marker] = data.draw(st.sampled_from(raw_values), label="raw")
            container[key] = marker
        elif operation == "deepen":
            levels = data.draw(st.sampled_from([5, 95, 99, 100, 101, 120, 127, 128, 129, 200]), label="levels")
            value = container[key]
            for _ in range(levels):
                value = [value]
            container[key] = value
        elif operation == "copy":
            other, other_key = places[data.draw(st.integers(0, len(places) - 1), label="from")]
            container[key] = copy.deepcopy(other[other_key])
        elif isinstance(container, dict):
            container[data.draw(st.sampled_from(["", "\u0000", "JSON", key * 2, "__proto__"]), label="key")] = (
                container.pop(key)
            )
    return doc, raws


def with_raws(text: str, raws: dict[str, str], quote: str) -> str:
    for marker, raw in raws.items():
        text = text.replace(f"{quote}{marker}{quote}", raw)
    return text


def mutate_bytes(data: st.DataObject, raw: bytes) -> bytes:
    operation = data.draw(
        st.sampled_from(["cut", "flip", "insert", "delete", "repeat", "utf16", "bom", "latin1", "nul", "crlf"]),
        label="byte op",
    )
    size = len(raw)
    at = data.draw(st.integers(0, max(0, size - 1)), label="at")
    note(f"{operation} at byte {at} of {size}")
    if operation == "cut":
        return raw[:at]
    if operation == "flip":
        return raw[:at] + bytes([raw[at] ^ data.draw(st.integers(1, 255))]) + raw[at + 1 :]
    if operation == "insert":
        junk = data.draw(
            st.one_of(
                st.binary(min_size=1, max_size=8),
                st.sampled_from([b"{", b"]", b'"', b"\\", b"\xff", b"\xed\xa0\x80", b"\n- ", b": &a", b"*a", b"\t"]),
            ),
            label="junk",
        )
        return raw[:at] + junk + raw[at:]
    if operation == "delete":
        return raw[:at] + raw[at + data.draw(st.integers(1, 64)) :]
    if operation == "repeat":
        end = min(size, at + data.draw(st.integers(1, 400)))
        return raw[:end] + raw[at:end] * data.draw(st.integers(1, 3)) + raw[end:]
    if operation == "utf16":
        return raw.decode("utf-8").encode("utf-16")
    if operation == "bom":
        return b"\xef\xbb\xbf" + raw
    if operation == "latin1":
        return raw.decode("utf-8").encode("latin-1", "replace").replace(b" ", b"\xe9", 3)
    if operation == "nul":
        return raw[:at] + b"\x00" + raw[at:]
    return raw.replace(b"\n", b"\r\n") if b"\r\n" not in raw else raw.replace(b"\r\n", b"\r")


# --------------------------------------------------------------------------- running everything


class Hang(BaseException):
    """An example ran longer than HANG_SECONDS (a BaseException, so nothing on the way catches it)."""


@contextlib.contextmanager
def hang_guard(seconds: float) -> Iterator[None]:
    if not hasattr(signal, "setitimer"):  # pragma: no cover - Windows: no alarm, no guard
        yield
        return

    def alarm(signum: int, frame: FrameType | None) -> None:
        raise Hang(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


#: Crashes found by this test in code outside the reading of input, while their fix is pending:
#: (file, exception type) -> what. An example that hits one goes on with the other commands.
#: Empty now; an entry is removed once its fix lands and a test below holds the fix.
KNOWN_ELSEWHERE: dict[tuple[str, str], str] = {}


class Crash(AssertionError):
    """An uncaught exception; ``site`` is the innermost runreplay frame that raised it."""

    def __init__(self, what: str, exc: BaseException) -> None:
        self.file, self.line = crash_site(exc)
        self.site = f"{self.file}:{self.line}"
        self.known = KNOWN_ELSEWHERE.get((self.file, type(exc).__name__))
        super().__init__(f"{what} raised {exc!r} at {self.site}")


def crash_site(exc: BaseException) -> tuple[str, int]:
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "/runreplay/" in f.filename or "/pytest_plugin/" in f.filename]
    frame = (ours or frames)[-1]
    where = Path(frame.filename)
    return (where.relative_to(REPO).as_posix() if REPO in where.parents else str(where)), frame.lineno or 0


def known(crash: Crash) -> bool:
    if crash.known is None:
        return False
    note(f"known crash outside the input readers ({crash.known}): {crash}")
    return True


def api_survives(call: Callable[[], Any], what: str) -> Any:
    """The Python API returns or raises CassetteError/ConfigError, nothing else."""
    try:
        return call()
    except (CassetteError, ConfigError) as exc:
        assert str(exc), "an error without a message"
        return None
    except Exception as exc:
        crash = Crash(what, exc)
        if known(crash):
            return None
        raise crash from exc


def run_cli(args: list[str], named: Path) -> int | None:
    """Run a command; its exit code, or None after a known crash (KNOWN_ELSEWHERE)."""
    result = CliRunner().invoke(main, args, catch_exceptions=True)
    output = result.output
    command = " ".join(args[:2])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        crash = Crash(f"`runreplay {command}`", result.exception)
        if known(crash):
            return None
        raise crash from result.exception
    assert "Traceback" not in output, f"`runreplay {command}` printed a traceback:\n{output[-3000:]}"
    assert result.exit_code in (0, 1, 2), f"`runreplay {command}` exited {result.exit_code}:\n{output[-2000:]}"
    if result.exit_code == 2:
        errors = [line for line in output.splitlines() if "error" in line.lower()]
        assert errors, f"`runreplay {command}` exited 2 without an error message:\n{output[-2000:]}"
        assert named.name in output, f"`runreplay {command}` did not name {named.name}:\n{output[-2000:]}"
    return result.exit_code


def exercise(path: Path, seed: Path, work: Path) -> None:
    """The loader, the importer and every command on one mutated file."""
    cassette = api_survives(lambda: load(path), "runreplay.load")
    if cassette is not None:
        # What loads must save and load again, unchanged.
        copy = save(cassette, work / "saved.json")
        assert dumps(load(copy)) == dumps(cassette)
    api_survives(lambda: import_file(path), "import_file")
    out = work / "imported"
    commands = [
        ["show", str(path)],
        ["show", "--format", "json", str(path)],
        ["validate", str(path)],
        ["drift", str(path)],
        ["drift", "--compare", str(seed), str(path)],
        ["drift", "--compare", str(path), str(seed)],
        ["scrub", "--check", str(path)],
        ["scrub", "--dry-run", str(path)],
        ["import", "-o", str(out), str(path)],
    ]
    for args in commands:
        run_cli(args, path)
    # Scrubbing in place either rewrites a cassette that still loads or leaves the file alone.
    before = path.read_bytes()
    scrubbed = run_cli(["scrub", str(path)], path)
    if scrubbed == 0:
        api_survives(lambda: load(path), "runreplay.load after scrub")
    elif scrubbed is not None:
        assert path.read_bytes() == before, "a failed scrub changed the file"


@contextlib.contextmanager
def workspace() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="runreplay-fuzz-") as folder, hang_guard(HANG_SECONDS):
        yield Path(folder)


def write_and_exercise(work: Path, name: str, content: bytes, seed_bytes: bytes) -> None:
    seed = work / f"seed{Path(name).suffix}"
    seed.write_bytes(seed_bytes)
    target = work / name
    target.write_bytes(content)
    exercise(target, seed, work)


# --------------------------------------------------------------------------- the properties


@fuzz_settings(80)
@given(st.data())
def test_mutated_cassette_values(data: st.DataObject) -> None:
    name, raw = data.draw(st.sampled_from(cassette_seeds()), label="seed")
    note(f"seed: {name}")
    doc, raws = mutate_value(data, json.loads(raw), RAW_JSON)
    text = with_raws(json.dumps(doc, indent=2, ensure_ascii=data.draw(st.booleans(), label="ascii")), raws, '"')
    with workspace() as work:
        write_and_exercise(work, "mutated.json", text.encode("utf-8", "surrogatepass"), raw)


@fuzz_settings(50)
@given(st.data())
def test_mutated_cassette_bytes(data: st.DataObject) -> None:
    name, raw = data.draw(st.sampled_from(cassette_seeds()), label="seed")
    note(f"seed: {name}")
    with workspace() as work:
        write_and_exercise(work, "mutated.json", mutate_bytes(data, raw), raw)


def _foreign_raw(kind: str) -> bytes:
    return FOREIGN[kind].read_bytes()


@fuzz_settings(70)
@given(st.data())
def test_mutated_foreign_values(data: st.DataObject) -> None:
    kind = data.draw(st.sampled_from(sorted(FOREIGN)), label="format")
    source = FOREIGN[kind]
    raw = _foreign_raw(kind)
    if source.suffix in (".yaml", ".yml"):
        doc, raws = mutate_value(data, yaml.load(raw, Loader=_Loader), RAW_YAML)
        unicode = data.draw(st.booleans(), label="unicode")
        text = with_raws(yaml.dump(doc, Dumper=SafeDumper, allow_unicode=unicode), raws, "")
    else:
        doc, raws = mutate_value(data, json.loads(raw), RAW_JSON)
        text = with_raws(json.dumps(doc, indent=1), raws, '"')
    with workspace() as work:
        write_and_exercise(work, f"mutated{source.suffix}", text.encode("utf-8", "surrogatepass"), raw)


@fuzz_settings(50)
@given(st.data())
def test_mutated_foreign_bytes(data: st.DataObject) -> None:
    kind = data.draw(st.sampled_from(sorted(FOREIGN)), label="format")
    raw = _foreign_raw(kind)
    with workspace() as work:
        write_and_exercise(work, f"mutated{FOREIGN[kind].suffix}", mutate_bytes(data, raw), raw)


@pytest.mark.parametrize("index", range(len(YAML_DOCUMENTS)))
@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_hostile_yaml_documents(index: int, suffix: str) -> None:
    with workspace() as work:
        write_and_exercise(work, f"hostile{suffix}", YAML_DOCUMENTS[index].encode(), _foreign_raw("ruby"))


def test_unhashable_union_tag_is_reported_as_drift(tmp_path: Path) -> None:
    """Found by this fuzz test: a list where a tagged union's tag belongs crashed the schema walker."""
    doc = json.loads((CASSETTES / "demo" / "openai_tool_run.json").read_text())
    doc["interactions"][0]["response"]["body"]["json"]["tools"][0]["type"] = []
    path = tmp_path / "tag.json"
    path.write_text(json.dumps(doc))
    result = CliRunner().invoke(main, ["validate", str(path)], catch_exceptions=False)
    assert result.exit_code == 1, result.output
    assert "tools[0].type" in result.output, result.output
