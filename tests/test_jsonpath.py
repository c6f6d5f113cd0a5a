"""One JSON-path syntax for matching, scrubbing, drift and messages (runreplay._jsonpath)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from _servers import Handler, serve

from runreplay import DriftConfig, Scrubber, ScrubRules, UnmatchedRequestError, find_secrets, use_cassette
from runreplay._jsonpath import join_index, join_key, parse, split
from runreplay.cassette import Body, Cassette, Headers, Interaction, Request, Response, load
from runreplay.checks import compare as comparing
from runreplay.checks.drift import drift, load_config
from runreplay.checks.validation import Violation
from runreplay.errors import ConfigError
from runreplay.scrub_rules import load_rules

pytest_plugins = ["pytester"]

# ---------------------------------------------------------------------------- the parser

#: path -> its canonical form (each step printed as findings print it)
VALID = {
    "$.metadata.trace_id": "$.metadata.trace_id",
    "$.a_1._b": "$.a_1._b",
    '$["a b"].c': '$["a b"].c',
    '$["x-request-id"]': '$["x-request-id"]',
    '$["quote \\" inside"]': '$["quote \\" inside"]',
    '$["\\u00e9t\\u00e9"]': '$["été"]',
    '$["0"]': '$["0"]',
    '$[""]': '$[""]',
    "$[0]": "$[0]",
    "$.items[12].id": "$.items[12].id",
    "$.items[*].id": "$.items[*].id",
    "$.items.*.id": "$.items[*].id",
    "$.*": "$[*]",
    "$..trace_id": "$..trace_id",
    '$..["x-y"]': '$..["x-y"]',
    "$..[0]": "$..[0]",
    "$..*": "$..[*]",
    "$..[*]": "$..[*]",
    "$.a..b.c": "$.a..b.c",
}


@pytest.mark.parametrize(("text", "canonical"), VALID.items())
def test_valid_paths_parse_and_print_back_in_the_same_syntax(text: str, canonical: str) -> None:
    path = parse(text, "opt")
    assert path.text == text
    assert "$" + "".join(str(step) for step in path.steps) == canonical
    assert parse(canonical, "opt").steps == path.steps


#: bad path -> (what the message says is wrong, the suggestion or None)
ERRORS: dict[str, tuple[str, str | None]] = {
    "": ("it is empty", None),
    " $.a": ("it has spaces around it", "$.a"),
    "metadata.trace_id": ("it does not start with $", "$.metadata.trace_id"),
    "messages.*.id": ("it does not start with $", "$.messages[*].id"),
    "trace_id": ("it does not start with $", "$..trace_id (at any depth) or $.trace_id (at the top)"),
    "metadata[trace_id]": ("it does not start with $", "$.metadata.trace_id"),
    "$.metadata[trace_id]": ("a key in brackets must be quoted", "$.metadata.trace_id"),
    "$.metadata['trace id']": ("quote keys with double quotes", '$.metadata["trace id"]'),
    "$metadata": ("$ must be followed by . or [", "$.metadata"),
    "$": ("$ alone names the whole body", None),
    "$.a.": ("it ends with a dot", "$.a"),
    "$..": ("it ends with a dot", None),
    "$...a": ("use two dots for any depth, not three", "$..a"),
    "$.a[0": ("its brackets are unbalanced (1 [ and 0 ])", "$.a[0]"),
    "$.a]": ("its brackets are unbalanced (0 [ and 1 ])", None),
    '$["abc': ("its brackets are unbalanced", "$.abc"),
    '$["abc]': ("the quoted key is not closed", "$.abc"),
    '$["a b]': ("the quoted key is not closed", '$["a b"]'),
    "$.x-y": ("expected .key", '$["x-y"]'),
    "$.2nd": ("a key after a dot must be an identifier", '$["2nd"]'),
    "$.a[-1]": ("negative indexes, slices and filters are not supported", None),
    "$.a[1:2]": ("negative indexes, slices and filters are not supported", None),
    "$.a[?(@.x)]": ("negative indexes, slices and filters are not supported", None),
    '$["\\q"]': ("is not a JSON string", '$["\\\\q"]'),
    "$.interactions[3].request.body.json.metadata.trace_id": ("a path in a cassette file", "$.metadata.trace_id"),
    "$.interactions[0].response.body.sse.events[2].data.run.id": ("a path in a cassette file", "$.run.id"),
    "$.interactions[0].request.url": ("a path in a cassette file", None),
}


@pytest.mark.parametrize(("text", "expected"), ERRORS.items())
def test_a_path_that_cannot_match_is_an_error_naming_option_path_problem_and_fix(
    text: str, expected: tuple[str, str | None]
) -> None:
    problem, fix = expected
    with pytest.raises(ConfigError) as caught:
        parse(text, "match_ignore_paths")
    message = str(caught.value)
    assert message.startswith(f"match_ignore_paths: {text!r} is not a usable JSON path: ")
    assert problem in message
    if fix is None:
        assert "did you mean" not in message
    else:
        assert f"did you mean {fix}?" in message
        if " or " not in fix:
            parse(fix, "x")  # every suggestion is itself a valid path
    assert "\n" not in message


@pytest.mark.parametrize(
    "key", ["plain", "_x1", "with space", "x-request-id", "0", "", 'q"uote', "back\\slash", "été", "a.b", "[*]"]
)
def test_what_join_key_prints_split_reads_back(key: str) -> None:
    printed = join_index(join_key(join_key("$", "items"), key), 3)
    assert split(printed) == ("items", key, 3)
    assert parse(printed, "x").matches(("items", key, 3))


# ---------------------------------------------------------------------------- the matcher

BODY: dict[str, Any] = {
    "id": "top",
    "metadata": {"trace_id": "t1", "keep": 1},
    "items": [{"id": "a", "n": 1}, {"id": "b", "n": 2}],
    "nested": {"deeper": {"trace_id": "t2", "list": [[{"trace_id": "t3"}]]}},
    "odd key": {"0": "zero-key"},
}

DROPS: dict[str, dict[str, Any]] = {
    "$.metadata.trace_id": {**BODY, "metadata": {"keep": 1}},
    "$.items[*].id": {**BODY, "items": [{"n": 1}, {"n": 2}]},
    "$.items[1]": {**BODY, "items": [{"id": "a", "n": 1}]},
    "$.items[*]": {**BODY, "items": []},
    '$["odd key"]["0"]': {**BODY, "odd key": {}},
    '$["odd key"][0]': BODY,  # an index never names an object key
    "$.items.id": BODY,  # a key never names a list element
    "$.absent.trace_id": BODY,
    "$.items[7].id": BODY,
    "$..trace_id": {
        **BODY,
        "metadata": {"keep": 1},
        "nested": {"deeper": {"list": [[{}]]}},
    },
    "$.nested..trace_id": {**BODY, "nested": {"deeper": {"list": [[{}]]}}},
    "$..list[0][0].trace_id": {**BODY, "nested": {"deeper": {"trace_id": "t2", "list": [[{}]]}}},
    "$..n": {**BODY, "items": [{"id": "a"}, {"id": "b"}]},
}


@pytest.mark.parametrize(("text", "expected"), DROPS.items())
def test_drop_removes_exactly_what_the_path_names_and_never_changes_its_input(
    text: str, expected: dict[str, Any]
) -> None:
    before = json.dumps(BODY, sort_keys=True)
    assert parse(text, "x").drop(BODY) == expected
    assert json.dumps(BODY, sort_keys=True) == before


def test_drop_hands_back_the_same_object_when_nothing_is_named() -> None:
    assert parse("$.absent", "x").drop(BODY) is BODY
    assert parse("$..absent", "x").drop(BODY) is BODY


def test_replace_gives_each_value_and_the_key_above_it() -> None:
    seen: list[tuple[Any, str | None]] = []

    def mark(value: Any, name: str | None) -> Any:
        seen.append((value, name))
        return f"<{value}>"

    out = parse("$..id", "x").replace({"id": 1, "tags": ["a"], "items": [{"id": "a"}]}, mark)
    assert out == {"id": "<1>", "tags": ["a"], "items": [{"id": "<a>"}]}
    assert sorted(seen, key=str) == [("a", "id"), (1, "id")]
    assert parse("$.tags[*]", "x").replace({"tags": ["a", "b"]}, mark) == {"tags": ["<a>", "<b>"]}
    assert seen[-1] == ("b", "tags")  # a list element is named by the list's key


MATCHES = [
    ("$.metadata.trace_id", ("metadata", "trace_id"), True),
    ("$.metadata.trace_id", ("metadata",), False),
    ("$.metadata.trace_id", ("metadata", "trace_id", "x"), False),
    ("$.items[*].id", ("items", 4, "id"), True),
    ("$.items[*].id", ("items", "4", "id"), True),  # * is any key or index
    ("$.items[4].id", ("items", "4", "id"), False),  # an index is not a key
    ("$.items[0]", ("items", 0), True),
    ("$..trace_id", ("trace_id",), True),
    ("$..trace_id", ("a", 0, "b", "trace_id"), True),
    ("$..trace_id", ("a", "trace_id", "b"), False),
    ("$.a..b", ("a", "b"), True),
    ("$.a..b", ("x", "a", "b"), False),
    ("$..a..b", ("x", "a", "y", 3, "b"), True),
    ("$.*", ("anything",), True),
    ("$.*", (0,), True),
]


@pytest.mark.parametrize(("text", "parts", "expected"), MATCHES)
def test_matches_a_concrete_place(text: str, parts: tuple[str | int, ...], expected: bool) -> None:
    assert parse(text, "x").matches(parts) is expected


def test_or_inside_also_matches_places_below() -> None:
    path = parse("$.metadata", "x")
    assert not path.matches(("metadata", "trace_id"))
    assert path.matches(("metadata", "trace_id"), or_inside=True)
    assert not path.matches(("other", "trace_id"), or_inside=True)


# ---------------------------------------------------------------------------- matching, for real


class Echo(Handler):
    def do_POST(self) -> None:
        size = int(self.headers.get("content-length", "0"))
        self.reply("application/json", json.dumps({"echo": json.loads(self.rfile.read(size))}).encode())


def _body(trace: str, item_ids: tuple[str, str]) -> dict[str, Any]:
    return {
        "metadata": {"trace_id": trace, "user": "u1"},
        "context": {"spans": [{"trace_id": trace}]},
        "items": [{"id": item_ids[0], "q": 1}, {"id": item_ids[1], "q": 2}],
    }


@pytest.fixture
def recording(tmp_path: Path) -> Path:
    path = tmp_path / "echo.json"
    with serve(Echo) as url, use_cassette(path, record_mode="once", validate="off"):
        assert httpx.post(f"{url}/v1/things", json=_body("trace-1", ("i1", "i2"))).status_code == 200
    return path


@pytest.mark.parametrize(
    ("ignore", "changed"),
    [
        (["$.metadata.trace_id", "$.context.spans[*].trace_id"], _body("trace-2", ("i1", "i2"))),
        (["$..trace_id"], _body("trace-2", ("i1", "i2"))),
        (["$.items[*].id"], _body("trace-1", ("x1", "x2"))),
        (["$..trace_id", "$.items[*].id"], _body("trace-3", ("y1", "y2"))),
    ],
)
def test_match_ignore_paths_leave_those_fields_out_of_replay_matching(
    recording: Path, ignore: list[str], changed: dict[str, Any]
) -> None:
    with use_cassette(recording, match_ignore_paths=ignore, validate="off"):
        reply = httpx.post("http://127.0.0.1:9/v1/things", json=changed)  # nothing listens there
    assert reply.json() == {"echo": _body("trace-1", ("i1", "i2"))}
    # Without the paths the same request is a miss: what was ignored really differs.
    with pytest.raises(UnmatchedRequestError), use_cassette(recording, validate="off"):
        httpx.post("http://127.0.0.1:9/v1/things", json=changed)


def test_ignoring_one_field_still_matches_on_the_others(recording: Path) -> None:
    changed = _body("trace-2", ("i1", "i2"))
    changed["metadata"]["user"] = "u2"
    with pytest.raises(UnmatchedRequestError), use_cassette(recording, match_ignore_paths="$..trace_id"):
        httpx.post("http://127.0.0.1:9/v1/things", json=changed)


@pytest.mark.parametrize("bad", ["metadata.trace_id", "trace_id", "metadata[trace_id]", "$.metadata["])
def test_a_bad_match_ignore_path_fails_at_session_start(recording: Path, bad: str) -> None:
    expected = r"runreplay options for .*echo\.json: match_ignore_paths: "
    with (
        pytest.raises(ConfigError, match=expected) as caught,
        use_cassette(recording, match_ignore_paths=["$..fine", bad]),
    ):
        pytest.fail("the session must not start")
    assert repr(bad) in str(caught.value)


def test_a_bad_match_ignore_path_in_a_marker_fails_the_test_naming_it(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.runreplay(match_ignore_paths=["metadata.trace_id"])
        def test_x():
            pass
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:asyncio")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*test_x*match_ignore_paths: 'metadata.trace_id'*did you mean $.metadata.trace_id?*"])


# ---------------------------------------------------------------------------- scrubbing


def test_scrub_paths_use_the_same_syntax() -> None:
    rules = ScrubRules(json_paths=("$..user_id", "$.meta.email", "$.messages[*].content", '$["x-tenant"]'))
    body = {
        "user_id": "u-123456",
        "deep": [{"user_id": 42}],
        "meta": {"email": "ann@example.org", "nested": {"email": "kept@example.org"}},
        "messages": [{"content": "hello there"}, {"content": "bye now"}],
        "x-tenant": "tenant-9",
        "flag": True,
    }
    out = Scrubber(rules).json(body)
    assert out["user_id"].startswith("scrubbed-user_id-")
    assert out["deep"][0]["user_id"].startswith("scrubbed-user_id-")
    assert out["meta"]["email"].startswith("scrubbed-email-")
    assert out["meta"]["nested"]["email"] == "kept@example.org"  # $.meta.email is not at any depth
    assert [m["content"][:17] for m in out["messages"]] == ["scrubbed-content-"] * 2
    assert out["x-tenant"].startswith("scrubbed-x_tenant-")
    assert out["flag"] is True


def test_find_secrets_reports_values_at_configured_paths_in_the_same_syntax() -> None:
    request = Request("POST", "https://api.example.com/v1/x", Headers([]), Body.json({"who": {"user id": "u-1234567"}}))
    cassette = Cassette([Interaction(request, Response(200, body=Body.json({})))])
    found = find_secrets(cassette, ScrubRules(json_paths=('$..["user id"]',)))
    assert [(f.location, f.kind) for f in found] == [
        ('$.interactions[0].request.body.json.who["user id"]', 'value at configured path $..["user id"]')
    ]


def test_a_rules_file_with_a_bad_path_names_file_key_and_fix(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text('json_paths = ["$..user_id", "meta.email"]\n')
    with pytest.raises(ConfigError) as caught:
        load_rules(rules)
    message = str(caught.value)
    assert message.startswith(f"{rules}: json_paths: 'meta.email' is not a usable JSON path")
    assert "did you mean $.meta.email?" in message


def test_the_cli_refuses_a_rules_file_with_a_bad_path_with_exit_2(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from runreplay.cli import main

    rules = tmp_path / "pyproject.toml"
    rules.write_text('[tool.runreplay.scrub]\njson_paths = ["user_id"]\n')
    cassette = tmp_path / "c.json"
    cassette.write_text(json.dumps({"version": 1, "interactions": []}))
    result = CliRunner().invoke(main, ["scrub", "--rules", str(rules), str(cassette)])
    assert result.exit_code == 2, result.output
    assert "[tool.runreplay.scrub]: json_paths: 'user_id' is not a usable JSON path" in result.output
    assert "did you mean $..user_id (at any depth) or $.user_id (at the top)?" in result.output
    assert "Traceback" not in result.output


# ---------------------------------------------------------------------------- drift


def _violation(path: str) -> Violation:
    return Violation("unknown_field", path, "a documented field", "x", 0, "c.json")


def test_drift_ignore_paths_drop_findings_at_or_inside_those_places() -> None:
    config = DriftConfig(ignore_paths=("$..trace_id", "$.metadata"))
    assert config.ignores(_violation("$.interactions[0].response.body.json.trace_id"))
    assert config.ignores(_violation("$.interactions[0].response.body.json.run.trace_id"))
    assert config.ignores(_violation("$.interactions[2].request.body.json.metadata.anything.at.all"))
    assert config.ignores(_violation("$.interactions[1].response.body.sse.events[3].data.trace_id"))
    assert not config.ignores(_violation("$.interactions[0].response.body.json.status"))
    assert not config.ignores(_violation("$.interactions[0].request.url"))
    assert not DriftConfig().ignores(_violation("$.interactions[0].response.body.json.trace_id"))


def test_drift_config_with_a_bad_path_names_file_key_and_fix(tmp_path: Path) -> None:
    project = tmp_path / "pyproject.toml"
    project.write_text('[tool.runreplay.drift]\nunknown_field = "warning"\nignore_paths = ["metadata[trace_id]"]\n')
    with pytest.raises(ConfigError) as caught:
        load_config(project)
    message = str(caught.value)
    assert message.startswith(f"{project}: [tool.runreplay.drift]: ignore_paths: 'metadata[trace_id]'")
    assert "did you mean $.metadata.trace_id?" in message
    with pytest.raises(ConfigError, match="ignore_paths"):
        DriftConfig(ignore_paths=("trace_id",))


DEMO = Path(__file__).resolve().parents[1] / "cassettes" / "demo" / "openai_tool_run.json"


def test_drift_ignore_paths_from_pyproject_leave_out_real_findings(tmp_path: Path) -> None:
    cassette = load(DEMO)
    response = next(i for i in cassette.interactions if i.response.body.kind.value == "json").response
    response.body = Body.json({**response.body.value, "trace_id": "t-1", "extra": {"a": 1}})
    paths = {f.violation.path.rsplit(".", 1)[-1] for f in drift([cassette]).findings}
    assert {"trace_id", "extra"} <= paths
    project = tmp_path / "pyproject.toml"
    project.write_text('[tool.runreplay.drift]\nignore_paths = ["$..trace_id"]\n')
    paths = {f.violation.path.rsplit(".", 1)[-1] for f in drift([cassette], load_config(project)).findings}
    assert "trace_id" not in paths
    assert "extra" in paths


def test_compare_prints_paths_in_the_syntax_and_ignores_them(tmp_path: Path) -> None:
    old, new = load(DEMO), load(DEMO)
    target = next(i for i in new.interactions if i.response.body.kind.value == "json").response
    target.body = Body.json({**target.body.value, "trace": [{"span_id": "s"}]})
    details = [c.detail for c in comparing.compare(old, new) if c.kind == "field added"]
    assert any(d.startswith("$.trace[*].span_id:") for d in details), details
    parse(details[0].split(":")[0], "x")  # what compare prints, a path reads
    ignored = comparing.compare(old, new, ignore=DriftConfig(ignore_paths=("$.trace",)).compiled_paths)
    assert [c for c in ignored if c.kind == "field added"] == []


def test_the_drift_command_refuses_a_bad_ignore_path_with_exit_2(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from runreplay.cli import main

    project = tmp_path / "pyproject.toml"
    project.write_text('[tool.runreplay.drift]\nignore_paths = ["$.a[0"]\n')
    result = CliRunner().invoke(main, ["drift", "--config", str(project), str(DEMO)])
    assert result.exit_code == 2, result.output
    assert "ignore_paths: '$.a[0' is not a usable JSON path: its brackets are unbalanced" in result.output
    assert "Traceback" not in result.output
