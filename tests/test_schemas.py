"""The generated JSON schemas: current on disk, well-formed, and read the same way by
jsonschema and by the drift walker."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
from _paths import TRAFFIC
from jsonschema import Draft202012Validator

from runreplay import schema
from runreplay.checks.validation import check_cassette
from runreplay.importers import import_file
from runreplay.models import unknown_fields
from runreplay.providers import Unrouted, match
from runreplay.schema.generate import DIALECT, generate, key_of, model_classes
from runreplay.schema.walker import ANNOTATIONS, SCHEMA_VIOLATIONS, UNDERSTOOD_KEYWORDS, UNKNOWN_FIELD

ASSISTANTS = TRAFFIC / "openai-assistants"
SCHEMAS = generate()


def test_committed_schemas_are_current() -> None:
    stale = schema.stale_files(schema.DEFAULT_DIR)
    assert stale == [], f"{len(stale)} stale file(s) in schemas/, run `runreplay schemas export`: {stale[:5]}"


def test_export_writes_removes_and_keeps_hand_written_files(tmp_path: Path) -> None:
    (tmp_path / "deviations.yaml").write_text("[]\n")
    (tmp_path / "openai" / "v3").mkdir(parents=True)
    (tmp_path / "openai" / "v3" / "Gone.json").write_text("{}")
    assert schema.stale_files(tmp_path)  # nothing generated there yet
    schema.export(tmp_path)
    assert schema.stale_files(tmp_path) == []
    assert not (tmp_path / "openai" / "v3" / "Gone.json").exists()
    assert (tmp_path / "deviations.yaml").read_text() == "[]\n"
    run = tmp_path / "openai" / "v2" / "Run.json"
    run.write_text(run.read_text().replace('"queued"', '"waiting"'))
    assert schema.stale_files(tmp_path) == ["openai/v2/Run.json"]


def test_one_file_per_type_with_an_id_and_the_2020_12_dialect() -> None:
    assert {"openai/v1/Run", "openai/v2/Run", "openai/v2/RunStep", "coze/Chat", "coze/ChatEvent"} <= set(SCHEMAS)
    for key, body in SCHEMAS.items():
        assert body["$schema"] == DIALECT
        assert body["$id"] == f"{schema.BASE_URI}{key}.json"
        Draft202012Validator.check_schema(body)


def _nodes(node: Any) -> list[dict[str, Any]]:
    """Every schema object inside ``node`` (not the property-name maps themselves)."""
    if isinstance(node, list):
        return [n for item in node for n in _nodes(item)]
    if not isinstance(node, dict):
        return []
    found = [node]
    for key, value in node.items():
        if key == "properties":
            found += [n for sub in value.values() for n in _nodes(sub)]
        elif key not in ("discriminator", "enum", "const", "required"):
            found += _nodes(value)
    return found


def test_every_reference_resolves_to_a_generated_file() -> None:
    ids = {body["$id"] for body in SCHEMAS.values()}
    for body in SCHEMAS.values():
        for node in _nodes(body):
            targets = [node["$ref"]] if "$ref" in node else []
            targets += list(node.get("discriminator", {}).get("mapping", {}).values())
            for target in targets:
                assert urljoin(body["$id"], target) in ids, (body["$id"], target)


def test_the_walker_understands_every_keyword_the_generator_emits() -> None:
    used = {key for body in SCHEMAS.values() for node in _nodes(body) for key in node}
    assert used <= UNDERSTOOD_KEYWORDS | ANNOTATIONS, used - UNDERSTOOD_KEYWORDS - ANNOTATIONS


def test_documented_objects_are_open_and_maps_are_maps() -> None:
    run = SCHEMAS["openai/v2/Run"]
    assert run["additionalProperties"] is True  # vendors add fields: accepted, reported by drift
    assert "properties" not in SCHEMAS["openai/v2/Run"]["properties"]["metadata"]
    assert SCHEMAS["coze/Chat"]["properties"]["meta_data"]["anyOf"][0]["additionalProperties"] == {"type": "string"}


def test_validators_are_compiled_once() -> None:
    assert schema.validator("openai/v2/Run") is schema.validator("openai/v2/Run")


# --------------------------------------------------------------------------- the walker agrees with jsonschema


def _payloads() -> list[tuple[str, Any]]:
    """(schema key, payload) of every response body and stream event in the real recordings."""
    out = []
    for path in sorted(ASSISTANTS.iterdir()):
        for interaction in import_file(path).interactions:
            matched = match(interaction)
            assert not isinstance(matched, Unrouted) and matched.route.response
            body = interaction.response.body
            if body.kind == "json" and interaction.response.status < 400:
                out.append((matched.schema_key(matched.route.response), body.value))
            elif body.kind == "sse":
                out += [(str(matched.event_key(e.event)), e.data) for e in body.events if e.data_is_json]
    return out


PAYLOADS = _payloads()


def _mutations(value: dict[str, Any]) -> list[dict[str, Any]]:
    """Broken copies of a payload: one per kind of change, at the top and one level down."""
    out = []
    for key in list(value)[:6]:
        broken: Any
        for broken in (None, "text", 12345, [], {"x": 1}):
            copied = copy.deepcopy(value)
            copied[key] = broken
            out.append(copied)
        removed = copy.deepcopy(value)
        del removed[key]
        out.append(removed)
    return out


def test_real_payloads_are_valid_for_both() -> None:
    assert len(PAYLOADS) > 500
    for key, value in PAYLOADS:
        assert schema.is_valid(key, value), key
        assert not [i for i in schema.classify(key, value) if i.category in SCHEMA_VIOLATIONS], key


def test_broken_payloads_are_invalid_for_both() -> None:
    checked = 0
    for key, value in PAYLOADS[::7]:
        for broken in _mutations(value):
            rejected = not schema.is_valid(key, broken)
            walker_rejects = any(i.category in SCHEMA_VIOLATIONS for i in schema.classify(key, broken))
            assert rejected == walker_rejects, (key, broken)
            checked += rejected
    assert checked > 200


MODELS = {key_of(model): model for model in model_classes()}


def test_models_and_schemas_agree_on_unknown_fields() -> None:
    for key, value in PAYLOADS:
        from_model = unknown_fields(MODELS[key].model_validate(value))
        from_schema = [i.path for i in schema.classify(key, value) if i.category == UNKNOWN_FIELD]
        assert sorted(from_model) == sorted(from_schema), key
    extra = {**PAYLOADS[0][1], "brand_new": {"x": 1}}
    assert unknown_fields(MODELS[PAYLOADS[0][0]].model_validate(extra)) == ["$.brand_new"]


def test_a_v1_recording_read_as_v2_shows_its_v1_fields() -> None:
    found = check_cassette(import_file(ASSISTANTS / "lemur_v1__runs.yml"), api_version="v2")
    kinds = {(v.category, v.path.rsplit(".", 1)[-1], v.found) for v in found}
    assert ("unknown_field", "file_ids", "array of 0 items") in kinds
    assert ("new_enum_value", "type", 'string "retrieval"') in kinds


def test_generation_is_deterministic() -> None:
    first = json.dumps(generate(), sort_keys=True)
    assert json.dumps(generate(), sort_keys=True) == first


@pytest.mark.parametrize("key", ["openai/v2/AssistantStreamEvent", "coze/ChatEvent"])
def test_stream_event_schemas_validate_events(key: str) -> None:
    event = "thread.run.created" if key.startswith("openai") else "conversation.chat.created"
    good = next(v for k, v in PAYLOADS if k == "openai/v2/Run") if key.startswith("openai") else _coze_chat()
    assert schema.is_valid(key, {"event": event, "data": good})
    assert not schema.is_valid(key, {"event": event + ".new", "data": good})


def _coze_chat() -> dict[str, Any]:
    return {"id": "1", "conversation_id": "2", "bot_id": "3", "status": "created"}


# --------------------------------------------------------------------------- the compiled checks agree with jsonschema


def _jsonschema_says(key: str, value: Any) -> bool:
    return bool(schema.validator(key).is_valid(value))


def test_compiled_checks_agree_with_jsonschema_on_real_and_broken_payloads() -> None:
    checked = 0
    for key, value in PAYLOADS[::3]:
        assert schema.is_valid(key, value) == _jsonschema_says(key, value), key
        for broken in _mutations(value):
            assert schema.is_valid(key, broken) == _jsonschema_says(key, broken), (key, broken)
            checked += 1
    assert checked > 1000


_PROBES: list[Any] = [None, True, 0, 1.0, 2.5, "x", "", [], {}, {"x": 1}, ["x"], "completed"]


def test_compiled_checks_agree_with_jsonschema_on_every_value_swapped_deep_inside() -> None:
    checked = 0
    for key, value in PAYLOADS[::9]:
        slots = [
            (holder, slot)
            for holder in _containers(value)
            for slot in (holder if isinstance(holder, dict) else range(len(holder)))
        ]
        for holder, slot in slots[:: max(1, len(slots) // 15)]:
            original = holder[slot]
            for probe in _PROBES:
                holder[slot] = probe
                assert schema.is_valid(key, value) == _jsonschema_says(key, value), (key, slot, probe)
                checked += 1
            holder[slot] = original
    assert checked > 3000


_TINY: list[tuple[dict[str, Any], list[Any]]] = [
    ({"type": "integer"}, [1, 1.0, 1.5, True, "1", None]),
    ({"type": ["number", "null"]}, [1, 2.5, None, False, "x"]),
    ({"const": 1}, [1, 1.0, True, "1"]),
    ({"const": "a", "type": "string"}, ["a", "b", 1]),
    ({"enum": ["a", 1, None, [1]]}, ["a", 1, 1.0, True, None, [1], [True], "b"]),
    ({"oneOf": [{"type": "integer"}, {"type": "number"}]}, [1, 1.5, "x"]),
    ({"anyOf": [{"type": "string"}, {"type": "null"}]}, ["x", None, 1]),
    (
        {"properties": {"a": {"type": "string"}}, "required": ["a"], "additionalProperties": False},
        [{"a": "x"}, {"a": 1}, {}, {"a": "x", "b": 1}, "not an object", []],
    ),
    ({"additionalProperties": {"type": "string"}}, [{"k": "v"}, {"k": 1}, {}, 3]),
    ({"type": "array", "items": {"type": "boolean"}}, [[], [True], [1], [True, None], {"0": True}]),
    ({"discriminator": {"propertyName": "t", "mapping": {}}, "type": "object"}, [{}, {"t": 1}, []]),
]


@pytest.mark.parametrize(("body", "values"), _TINY)
def test_compiled_checks_mean_what_json_schema_means(body: dict[str, Any], values: list[Any]) -> None:
    from runreplay.schema.compiled import Compiler

    uri = "https://example.test/tiny.json"
    check = Compiler({uri: body}).check(uri)
    reference = Draft202012Validator(body)
    for value in values:
        assert check(value) == reference.is_valid(value), value


def test_compiled_checks_follow_references_round_a_cycle() -> None:
    from runreplay.schema.compiled import Compiler

    tree = {"type": "object", "properties": {"kids": {"type": "array", "items": {"$ref": "Tree.json"}}}}
    check = Compiler({"https://example.test/Tree.json": tree}).check("https://example.test/Tree.json")
    assert check({"kids": [{"kids": []}, {}]})
    assert not check({"kids": [{"kids": [1]}]})


def _containers(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        yield value
        for item in value.values() if isinstance(value, dict) else value:
            yield from _containers(item)


def test_json_equality_is_json_schemas() -> None:
    from runreplay.schema.compiled import json_equal

    assert json_equal(1, 1.0) and not json_equal(True, 1) and not json_equal(0, False)
    assert json_equal([1, {"a": None}], [1.0, {"a": None}]) and not json_equal({"a": 1}, {"a": 1, "b": 2})
    assert not json_equal("1", 1) and json_equal(None, None) and not json_equal(None, [])


@pytest.mark.parametrize("typed", [True, False])
def test_a_tagged_union_is_checked_against_the_named_branch_only_when_that_means_the_same(typed: bool) -> None:
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    from runreplay.schema.compiled import Compiler

    base = "https://example.test/"

    def branch(tag: str, extra: dict[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {"properties": {"type": {"const": tag}, **extra}, "required": ["type"]}
        return {**body, "type": "object"} if typed else body

    schemas = {
        base + "A.json": branch("a", {"n": {"type": "integer"}}),
        base + "B.json": branch("b", {"s": {"type": "string"}}),
        base + "U.json": {
            "oneOf": [{"$ref": "A.json"}, {"$ref": "B.json"}],
            "discriminator": {"propertyName": "type", "mapping": {"a": "A.json", "b": "B.json"}},
        },
    }
    registry = Registry().with_resources(
        (uri, Resource.from_contents(body, DRAFT202012)) for uri, body in schemas.items()
    )
    reference = Draft202012Validator({**schemas[base + "U.json"], "$id": base + "U.json"}, registry=registry)
    check = Compiler(schemas).check(base + "U.json")
    for value in [
        {"type": "a", "n": 1},
        {"type": "a", "n": "x"},
        {"type": "b", "s": "x"},
        {"type": "c"},
        {},
        {"type": 1},
        "text",
        3,
        None,
        [],
    ]:
        assert check(value) == reference.is_valid(value), value


# --------------------------------------------------------------------------- the shipped catalog


def test_the_shipped_catalog_is_current() -> None:
    from runreplay.schema import catalog

    assert catalog.PATH.read_text(encoding="utf-8") == catalog.render(catalog.build()), (
        "runreplay/schema/catalog.json is stale: run `python -m runreplay.schema`"
    )


def test_the_catalog_names_the_types_the_models_resolve() -> None:
    from runreplay.models import NAMESPACES
    from runreplay.providers import registry
    from runreplay.schema.catalog import namespaces

    spaces = namespaces()
    used = {r.response for p in registry() for r in p.routes} | {r.request for p in registry() for r in p.routes}
    used |= {r.query for p in registry() for r in p.routes}
    for name, space in NAMESPACES.items():
        names = {n for n in used if n} | set(space.events.values())
        for type_name in sorted(names):
            try:
                expected = key_of(space.resolve(type_name))
            except KeyError:
                with pytest.raises(KeyError):
                    spaces[name].key(type_name)
                continue
            assert spaces[name].key(type_name) == expected, (name, type_name)
        assert spaces[name].events == space.events


def test_replay_validation_does_not_import_the_models() -> None:
    # Validating replayed payloads must not cost every test process the pydantic models.
    code = (
        "import sys\n"
        "from runreplay.cassette import load\n"
        "from runreplay.checks.validation import validate_interaction\n"
        "c = load('cassettes/demo/openai_tool_run.json')\n"
        "assert all(not validate_interaction(i) for i in c.interactions)\n"
        "print(sorted(m for m in sys.modules if m.startswith(('runreplay.models', 'pydantic', 'jsonschema'))))\n"
    )
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=Path(__file__).parents[1]
    )
    assert out.stdout.strip() == "[]", out.stdout


def test_every_model_has_its_own_schema_even_when_another_family_has_its_twin() -> None:
    # pydantic gives two models of one name and equal content one definition; the Assistants
    # and Responses families each have a RefusalContent, and each keeps its own file.
    keys = set(generate())
    assert {key_of(cls) for cls in model_classes()} <= keys
    assert {"openai/common/RefusalContent", "openai/responses/RefusalContent"} <= keys
