"""Each malformed input found by hand or by the fuzz test: one paragraph naming the file and the
place, exit code 2, never a traceback; limits at the edge still work; symlinked cassettes are
written through to their target."""

from __future__ import annotations

import errno
import itertools
import json
import os
import resource
import stat
import time
from pathlib import Path
from typing import Any

import pytest
from _paths import CASSETTES, TRAFFIC
from click.testing import CliRunner, Result

from runreplay import _json
from runreplay.cassette import BodyKind, decode_body, dumps, load, save
from runreplay.cassette.codec import MAX_MS, atomic_write_text
from runreplay.cli import main
from runreplay.errors import CassetteError
from runreplay.importers import import_file, import_many
from runreplay.providers.base import requested_tool_calls, submitted_tool_outputs

TOOL_RUN = CASSETTES / "demo" / "openai_tool_run.json"
COZE = CASSETTES / "demo" / "coze_chat.json"
READERS = [
    ["show"],
    ["validate"],
    ["drift"],
    ["scrub", "--check"],
    ["scrub", "--dry-run"],
    ["scrub"],
]


def cli(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def assert_refused(result: Result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    error = [line for line in result.output.splitlines() if line.startswith("runreplay: error:")]
    assert len(error) == 1, result.output
    for fragment in fragments:
        assert fragment in error[0], error[0]


def edited(tmp_path: Path, source: Path, text_edit: Any = None, **replace: str) -> Path:
    """A copy of ``source``; ``text_edit`` edits the parsed document, ``replace`` swaps markers in the text."""
    doc = json.loads(source.read_text())
    if text_edit is not None:
        text_edit(doc)
    text = json.dumps(doc, indent=2)
    for marker, raw in replace.items():
        text = text.replace(f'"{marker}"', raw)
    target = tmp_path / "bad.json"
    target.write_text(text, encoding="utf-8")
    return target


def set_first_response(doc: dict[str, Any], value: Any) -> None:
    doc["interactions"][0]["response"]["body"] = {"json": {"deep": value}}


# --------------------------------------------------------------------------- limits of the JSON itself


def test_an_integer_of_thousands_of_digits_is_refused_with_its_line(tmp_path: Path) -> None:
    path = edited(tmp_path, TOOL_RUN, lambda d: d["interactions"][0].update(at_ms="HUGE"), HUGE="9" * 5000)
    for args in READERS:
        assert_refused(cli(*args, path), "bad.json at line 14, column 16", "more than 4300 digits")


def test_nesting_a_hundred_thousand_deep_is_refused(tmp_path: Path) -> None:
    path = edited(tmp_path, TOOL_RUN, lambda d: d.update(extra="DEEP"), DEEP="[" * 100_000 + "]" * 100_000)
    for args in READERS:
        assert_refused(cli(*args, path), "bad.json at line", "nested deeper than 128 levels")


def test_a_body_nested_a_thousand_deep_is_refused_at_load_with_its_json_path(tmp_path: Path) -> None:
    deep = "[" * 1000 + "1" + "]" * 1000
    path = edited(tmp_path, TOOL_RUN, lambda d: set_first_response(d, "DEEP"), DEEP=deep)
    before = path.read_bytes()
    with pytest.raises(CassetteError) as caught:
        load(path)
    assert caught.value.location is not None
    assert caught.value.location.startswith("$.interactions[0].response.body.json.deep[0][0]")
    for args in [*READERS, ["drift", "--compare", TOOL_RUN]]:
        assert_refused(cli(*args, path), "bad.json at $.interactions[0].response.body.json.deep[0]", "128 levels")
    assert path.read_bytes() == before


def nested(levels: int) -> Any:
    value: Any = "x"
    for _ in range(levels):
        value = [value]
    return value


def test_a_cassette_at_the_depth_limit_goes_through_every_command(tmp_path: Path) -> None:
    # Levels: $, interactions, [0], response, body, {"deep": ...}: 6, so 122 lists make 128.
    path = edited(tmp_path, TOOL_RUN, lambda d: set_first_response(d, nested(_json.MAX_DEPTH - 6)))
    assert load(path).interactions[0].response.body.value["deep"]
    for args in [*READERS, ["show", "--format", "json"], ["drift", "--compare", TOOL_RUN]]:
        result = cli(*args, path)
        assert result.exit_code in (0, 1), (args, result.output)
    one_more = edited(tmp_path, TOOL_RUN, lambda d: set_first_response(d, nested(_json.MAX_DEPTH - 5)))
    assert_refused(cli("show", one_more), "nested deeper than 128 levels")


def test_recording_stores_json_it_could_not_read_back_as_text() -> None:
    too_deep = "[" * (_json.MAX_BODY_DEPTH + 1) + "]" * (_json.MAX_BODY_DEPTH + 1)
    for text in (too_deep, "[" * 5000 + "]" * 5000, '{"a": "\\ud800"}', '{"n": ' + "9" * 5000 + "}"):
        body = decode_body(text.encode(), "application/json")
        assert body.kind is BodyKind.TEXT and body.value == text
    at_limit = "[" * _json.MAX_BODY_DEPTH + "]" * _json.MAX_BODY_DEPTH
    assert decode_body(at_limit.encode(), "application/json").kind is BodyKind.JSON


def test_recording_stores_an_over_deep_event_data_as_text(tmp_path: Path) -> None:
    data = "[" * 300 + "]" * 300
    stream = f'event: a\ndata: {data}\n\nevent: b\ndata: {{"ok": 1}}\n\n'.encode()
    body = decode_body(stream, "text/event-stream")
    first, second = body.events
    assert not first.data_is_json and first.data == data
    assert second.data_is_json
    cassette = load(TOOL_RUN)
    cassette.interactions[0].response.body = body
    again = load(save(cassette, tmp_path / "sse.json"))
    assert again.interactions[0].response.body.events[0].data == data


def test_json_limit_errors_name_the_place() -> None:
    with pytest.raises(_json.JSONLimitError) as caught:
        _json.loads('{"a": [{"b": "\\udc80"}]}')
    assert caught.value.location == "$.a[0].b"
    assert "lone surrogate" in caught.value.message
    with pytest.raises(_json.JSONLimitError) as caught:
        _json.loads('{"odd key": ' + "[" * 120 + "]" * 120 + "}")
    assert caught.value.location is not None and caught.value.location.startswith('$["odd key"][0][0]')
    assert "more levels" in caught.value.location, "a deep place is shortened"
    assert _json.loads('["\\ud83d\\ude00"]') == ["\U0001f600"], "a surrogate pair is one character"


# --------------------------------------------------------------------------- wrong types in a cassette


def test_wrong_sse_framing_is_refused_with_its_path(tmp_path: Path) -> None:
    def edit(value: Any) -> Any:
        def change(doc: dict[str, Any]) -> None:
            stream = next(i for i in doc["interactions"] if (i["response"]["body"] or {}).get("sse"))
            stream["response"]["body"]["sse"]["framing"] = value

        return change

    for value, fragment in [
        (5, "framing must be an object, found 5"),
        ({"space_after_colon": "yes"}, "space_after_colon must be true or false"),
        ({"line_ending": "\n\n"}, "line_ending must be a line ending"),
        ({"line_ending": 5}, "line_ending must be a line ending"),
    ]:
        path = edited(tmp_path, COZE, edit(value))
        for args in READERS:
            assert_refused(cli(*args, path), ".response.body.sse.framing", fragment)


def test_times_meta_and_decoded_from_of_the_wrong_type_are_refused(tmp_path: Path) -> None:
    cases: list[tuple[Any, str]] = [
        (lambda d: d["interactions"][0].update(at_ms="INF"), "$.interactions[0].at_ms"),
        (lambda d: d["interactions"][0].update(at_ms="NAN"), "$.interactions[0].at_ms"),
        (lambda d: d["interactions"][0].update(at_ms=MAX_MS + 1), "$.interactions[0].at_ms"),
        (lambda d: d["interactions"][0].update(duration_ms=10**40), "$.interactions[0].duration_ms"),
        (lambda d: d["meta"].update(client="openai"), "$.meta.client"),
        (lambda d: d["meta"].update(provider=["openai"]), "$.meta.provider"),
        (lambda d: d["interactions"][0]["response"]["body"].update(decoded_from=1), "body.decoded_from"),
    ]
    for edit, place in cases:
        path = edited(tmp_path, TOOL_RUN, edit, INF="1e999", NAN="NaN")
        for args in READERS:
            assert_refused(cli(*args, path), place)


def test_a_lone_surrogate_in_a_url_is_refused(tmp_path: Path) -> None:
    def edit(doc: dict[str, Any]) -> None:
        doc["interactions"][0]["request"]["url"] += "\ud800"

    path = tmp_path / "bad.json"
    path.write_text(json.dumps(_with(TOOL_RUN, edit)), encoding="utf-8")  # written as the escape "\ud800"
    for args in [*READERS, ["show", "--format", "json"]]:
        assert_refused(cli(*args, path), "bad.json at $.interactions[0].request.url", "lone surrogate (\\ud800)")


def _with(source: Path, edit: Any) -> Any:
    doc = json.loads(source.read_text())
    edit(doc)
    return doc


def test_tool_calls_of_the_wrong_type_are_not_tool_calls(tmp_path: Path) -> None:
    for value in ("oops", 5, [1], {"submit_tool_outputs": "x"}, {"submit_tool_outputs": {"tool_calls": 5}}):
        assert requested_tool_calls({"required_action": value}) == []
    for outputs in (5, "abc", None, [5]):
        assert submitted_tool_outputs({"tool_outputs": outputs}) == {}

    def edit(doc: dict[str, Any]) -> None:
        for item in doc["interactions"]:
            found = (item["response"]["body"] or {}).get("json")
            if isinstance(found, dict) and found.get("required_action"):
                found["required_action"] = "oops"
            sent = (item["request"]["body"] or {}).get("json")
            if isinstance(sent, dict) and "tool_outputs" in sent:
                sent["tool_outputs"] = 5

    path = edited(tmp_path, TOOL_RUN, edit)
    assert cli("show", path).exit_code == 0
    assert cli("drift", "--compare", TOOL_RUN, path).exit_code == 1


# --------------------------------------------------------------------------- foreign recordings


def test_a_ruby_vcr_response_that_is_a_string_names_the_place(tmp_path: Path) -> None:
    source = tmp_path / "ruby.yml"
    source.write_text(
        "---\nhttp_interactions:\n- request:\n    method: get\n    uri: https://api.openai.com/v1/x\n"
        '  response: "oops"\nrecorded_with: VCR 6.2.0\n'
    )
    for args in (["import", "-o", tmp_path / "out"], ["validate"], ["drift"]):
        assert_refused(cli(*args, source), "ruby.yml at $.http_interactions[0].response (line 6", "a mapping")


def _laughs(levels: int) -> str:
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    names = "abcdefghijklmnop"
    for previous, name in itertools.pairwise(names[:levels]):
        lines.append(f"{name}: &{name} [{', '.join(['*' + previous] * 9)}]")
    lines.append(f"interactions: [*{names[levels - 1]}]")
    return "\n".join(lines) + "\n"


def test_a_billion_laughs_is_refused_before_it_grows(tmp_path: Path) -> None:
    source = tmp_path / "laughs.yml"
    source.write_text(_laughs(9))
    started = time.monotonic()
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert_refused(cli("import", "-o", tmp_path / "out", source), "laughs.yml at line 1", "aliases would expand")
    assert time.monotonic() - started < 5
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before
    assert grown_kb < 100_000, f"grew {grown_kb} KB"
    assert not (tmp_path / "out").exists()


def test_aliases_within_the_limit_still_import(tmp_path: Path) -> None:
    source = tmp_path / "shared.yaml"
    source.write_text(
        "interactions:\n"
        "- request: &req {method: GET, uri: 'https://api.openai.com/v1/models', body: null, headers: {}}\n"
        "  response: &resp {status: {code: 200, message: OK}, headers: {}, body: {string: '{}'}}\n"
        "- request: *req\n"
        "  response: *resp\n"
    )
    assert len(import_file(source).interactions) == 2


def test_a_recursive_yaml_alias_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "loop.yaml"
    source.write_text("interactions: &x [*x]\n")
    assert_refused(
        cli("import", "-o", tmp_path / "out", source), "loop.yaml at line 1", "refers to a node that contains"
    )


def test_yaml_nested_past_the_limit_is_refused_with_its_path(tmp_path: Path) -> None:
    source = tmp_path / "deep.yaml"
    source.write_text("interactions: " + "[" * 200 + "]" * 200 + "\n")
    assert_refused(cli("import", "-o", tmp_path / "out", source), "deep.yaml at $.interactions[0]", "128 levels")


def test_explicit_yaml_tags_with_bad_values_are_refused(tmp_path: Path) -> None:
    for value in ("!!int " + "9" * 5000, "!!timestamp 2020-13-45"):
        source = tmp_path / "tagged.yaml"
        source.write_text(f"interactions:\n- request: {{method: GET, uri: {value}}}\n")
        assert_refused(cli("import", "-o", tmp_path / "out", source), "tagged.yaml", "invalid YAML")


def test_azure_json_with_a_huge_integer_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "azure.json"
    source.write_text('{"Entries": [{"StatusCode": ' + "2" * 5000 + "}]}")
    assert_refused(cli("import", "-o", tmp_path / "out", source), "azure.json at line 1, column 29", "4300 digits")


def test_an_azure_body_deeper_than_the_body_limit_is_kept_as_text(tmp_path: Path) -> None:
    doc = json.loads((TRAFFIC / "openai-responses" / "openai-dotnet__FunctionCallStreamingWorks.json").read_text())
    doc["Entries"][0]["ResponseBody"] = {"deep": nested(110)}
    source = tmp_path / "azure.json"
    source.write_text(json.dumps(doc))
    body = import_file(source).interactions[0].response.body
    assert body.kind is BodyKind.TEXT and json.loads(body.value) == {"deep": nested(110)}
    assert load(save(import_file(source), tmp_path / "out.json"))


def test_an_r_vcr_body_file_that_is_not_a_file_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "r.yml"
    source.write_text(
        "http_interactions:\n- request: {method: get, uri: 'https://x/'}\n"
        "  response:\n    status: {status_code: '200'}\n    body: {encoding: '', file: yes, string: /dev/zero}\n"
        "  recorded_with: vcr/1.0\n"
    )
    assert_refused(cli("import", "-o", tmp_path / "out", source), "r.yml at", "not a readable file")


def test_an_unwritable_import_target_is_named(tmp_path: Path) -> None:
    source = TRAFFIC / "openai-assistants" / "ruby-openai__runs_cancel.yml"
    out = tmp_path / "out"
    (out / f"{source.stem}.json").mkdir(parents=True)  # a folder where the cassette goes
    with pytest.raises(CassetteError, match="cannot write the cassette: Is a directory") as caught:
        import_many([source], out)
    assert isinstance(caught.value, OSError) and caught.value.errno == errno.EISDIR
    assert_refused(cli("import", "-o", out, source), f"{source.stem}.json")


# --------------------------------------------------------------------------- arguments


def test_a_folder_without_recordings_is_named(tmp_path: Path) -> None:
    empty = tmp_path / "empty-folder"
    empty.mkdir()
    for args in (["import", "-o", tmp_path / "out"], ["validate"], ["drift"], ["scrub"], ["scrub", "--check"]):
        result = cli(*args, empty)
        assert result.exit_code == 2 and "no recordings found in" in result.output and str(empty) in result.output


def test_a_folder_where_a_cassette_file_is_expected_is_named(tmp_path: Path) -> None:
    assert_refused(cli("show", tmp_path), f"{tmp_path}: is a folder; give a")


def test_an_error_message_with_undecodable_text_still_prints(tmp_path: Path) -> None:
    path = tmp_path / os.fsdecode(b"caf\xe9.json")  # a file name that is not UTF-8
    path.write_text("{")
    assert_refused(cli("show", path), "caf\\udce9.json")


# --------------------------------------------------------------------------- symlinks


def test_a_symlinked_cassette_is_written_through_to_its_target(tmp_path: Path) -> None:
    real = tmp_path / "store" / "real.json"
    real.parent.mkdir()
    real.write_text(COZE.read_text())
    real.chmod(0o640)
    link = tmp_path / "tests" / "link.json"
    link.parent.mkdir()
    link.symlink_to(os.path.relpath(real, link.parent))  # relative, as in a repository
    cassette = load(link)
    cassette.meta["note"] = "edited"
    save(cassette, link)
    assert link.is_symlink() and os.readlink(link) == os.path.relpath(real, link.parent)
    assert load(real).meta["note"] == "edited"
    assert stat.S_IMODE(real.stat().st_mode) == 0o640
    assert not [p for p in tmp_path.rglob("*.runreplay-tmp")], "no temp file left"
    assert sorted(p.name for p in link.parent.iterdir()) == ["link.json"], "nothing written beside the link"


def test_a_chain_of_links_and_a_dangling_link(tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    real.write_text("old")
    middle = tmp_path / "middle.json"
    middle.symlink_to(real)
    outer = tmp_path / "outer.json"
    outer.symlink_to(middle)
    atomic_write_text(outer, "new")
    assert outer.is_symlink() and middle.is_symlink() and real.read_text() == "new"
    dangling = tmp_path / "dangling.json"
    dangling.symlink_to(tmp_path / "sub" / "created.json")
    atomic_write_text(dangling, "made")
    assert dangling.is_symlink() and (tmp_path / "sub" / "created.json").read_text() == "made"
    loop = tmp_path / "loop.json"
    loop.symlink_to(loop)
    with pytest.raises(OSError):
        atomic_write_text(loop, "x")
    assert loop.is_symlink()


def test_scrub_writes_through_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    doc = json.loads(COZE.read_text())
    doc["interactions"][0]["request"]["headers"]["authorization"] = "Bearer pat_" + "a1B2c3D4" * 8
    real.write_text(json.dumps(doc, indent=2))
    link = tmp_path / "link.json"
    link.symlink_to(real.name)
    assert cli("scrub", link).exit_code == 0
    assert link.is_symlink()
    assert "a1B2c3D4" not in real.read_text()


def test_what_loads_saves_and_loads_again(tmp_path: Path) -> None:
    for source in (TOOL_RUN, COZE):
        cassette = load(source)
        assert dumps(load(save(cassette, tmp_path / source.name))) == dumps(cassette)
