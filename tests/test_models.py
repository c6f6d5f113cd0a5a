"""The models cover the documented types field by field, read from the seed files themselves.

The seeds (go-openai run.go, openai-node runs.d.ts, coze-go chats.go) are parsed here,
so a field or a constant the seeds name and the models lack fails the test.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, get_args

import pytest
from _paths import SEEDS
from pydantic import BaseModel, ValidationError

from runreplay.models import NAMESPACES, unknown_fields
from runreplay.models import coze_chat as coze
from runreplay.models.openai_assistants import common as openai_common
from runreplay.models.openai_assistants import v1 as openai_v1
from runreplay.models.openai_assistants import v2 as openai_v2

GO_OPENAI = SEEDS / "000_5bd726eae92d0c75.txt"
NODE = SEEDS / "002_d11e4dbef3395577.txt"
COZE_GO = SEEDS / "004_387093196009e7d1.txt"


# --------------------------------------------------------------------------- reading the seeds


def go_structs(path: Path) -> dict[str, set[str]]:
    """``type X struct {...}`` -> the JSON names of its tagged fields (``json:"-"`` left out)."""
    text = path.read_text(encoding="utf-8")
    out = {}
    for name, body in re.findall(r"^type (\w+) struct \{\n(.*?)^\}", text, re.M | re.S):
        out[name] = {tag for tag in re.findall(r'json:"([^",]+)', body) if tag != "-"}
    return out


def go_consts(path: Path) -> dict[str, set[str]]:
    """``Name Type = "value"`` constants grouped by their type."""
    found: dict[str, set[str]] = {}
    for kind, value in re.findall(r'^\s*\w+\s+(\w+)\s*=\s*"([^"]*)"', path.read_text(encoding="utf-8"), re.M):
        found.setdefault(kind, set()).add(value)
    return found


def ts_interfaces(path: Path) -> dict[str, dict[str, str]]:
    """``interface X { name?: type; }`` -> {field: type text}, for every (nested) interface."""
    out: dict[str, dict[str, str]] = {}
    for name, body in re.findall(r"interface (\w+)(?: extends \w+)? \{\n(.*?)^\}", path.read_text(), re.M | re.S):
        fields = re.findall(r"^(\w+)\??: (.*?);$", body, re.M)
        out.setdefault(name, {}).update(fields)
    return out


def literals(type_text: str) -> set[str]:
    return set(re.findall(r"'([^']+)'", type_text))


def json_fields(*models: Any) -> set[str]:
    """The JSON keys a model (or the members of a union of models) declares."""
    names: set[str] = set()
    for model in models:
        members = [m for m in _flatten(model) if isinstance(m, type) and issubclass(m, BaseModel)]
        for member in members:
            names |= {field.alias or name for name, field in member.model_fields.items()}
    return names


def _flatten(tp: Any) -> list[Any]:
    args = get_args(tp)
    return [leaf for arg in args for leaf in _flatten(arg)] if args else [tp]


def literal_values(tp: Any) -> set[str]:
    return {str(v) for v in _flatten(tp) if isinstance(v, str)}


# --------------------------------------------------------------------------- go-openai (v1)

GO_MODELS = {
    "Run": openai_v1.Run,
    "RunRequiredAction": openai_common.RequiredAction,
    "SubmitToolOutputs": openai_common.SubmitToolOutputs,
    "RunLastError": openai_v1.LastError,
    "RunRequest": openai_v1.RunCreateParams,
    "RunModifyRequest": openai_common.RunModifyRequest,
    "RunList": openai_v1.RunList,
    "SubmitToolOutputsRequest": openai_common.SubmitToolOutputsRequest,
    "ToolOutput": openai_common.ToolOutput,
    "CreateThreadAndRunRequest": openai_v1.CreateThreadAndRunRequest,
    "RunStep": openai_v1.RunStep,
    "StepDetails": openai_v1.StepDetails,
    "StepDetailsMessageCreation": openai_common.MessageCreation,
    "RunStepList": openai_v1.RunStepList,
}


def test_go_openai_create_thread_and_run_embeds_the_run_request() -> None:
    # RunRequest is embedded without a tag, so its fields are the request's own.
    assert go_structs(GO_OPENAI)["RunRequest"] <= json_fields(openai_v1.CreateThreadAndRunRequest)


def test_go_openai_pagination_is_the_list_query() -> None:
    text = GO_OPENAI.read_text()
    params = set(re.findall(r'urlValues\.Add\("(\w+)"', text))
    assert params == {"limit", "order", "after", "before"}
    for model in (openai_common.RunListParams, openai_v1.StepListParams, openai_v2.StepListParams):
        assert params <= json_fields(model)


@pytest.mark.parametrize(
    ("kind", "values"),
    [
        ("RunStatus", get_args(openai_v1.RunStatus)),
        ("RunError", literal_values(openai_v1.LastError.model_fields["code"].annotation)),
        ("RunStepStatus", get_args(openai_common.StepStatus)),
        ("RunStepType", literal_values(openai_common.RunStepCore.model_fields["type"].annotation)),
        ("RequiredActionType", literal_values(openai_common.RequiredAction.model_fields["type"].annotation)),
    ],
)
def test_every_go_openai_constant_is_an_allowed_value(kind: str, values: tuple[str, ...]) -> None:
    assert go_consts(GO_OPENAI)[kind] <= set(values)


# --------------------------------------------------------------------------- openai-node (v1)

NODE_MODELS = {
    "Run": openai_v1.Run,
    "RequiredActionFunctionToolCall": openai_common.RequiredActionFunctionToolCall,
    "Function": openai_common.ToolCallFunction,
    "LastError": openai_v1.LastError,
    "RequiredAction": openai_common.RequiredAction,
    "SubmitToolOutputs": openai_common.SubmitToolOutputs,
    "Usage": openai_common.Usage,
    "RunCreateParams": openai_v1.RunCreateParams,
    "RunUpdateParams": openai_common.RunModifyRequest,
    "RunListParams": openai_common.RunListParams,
    "RunSubmitToolOutputsParams": openai_common.SubmitToolOutputsRequest,
    "ToolOutput": openai_common.ToolOutput,
    "AssistantToolsCode": openai_common.CodeInterpreterTool,
    "AssistantToolsRetrieval": openai_v1.RetrievalTool,
    "AssistantToolsFunction": openai_common.FunctionTool,
}


@pytest.mark.parametrize("interface", sorted(NODE_MODELS))
def test_every_openai_node_field_is_modelled(interface: str) -> None:
    fields = set(ts_interfaces(NODE)[interface])
    assert fields, f"parsed no fields of {interface}"
    assert fields <= json_fields(NODE_MODELS[interface]), fields - json_fields(NODE_MODELS[interface])


def test_openai_node_literals_are_allowed_values() -> None:
    run = ts_interfaces(NODE)["Run"]
    assert literals(run["status"]) <= set(get_args(openai_v1.RunStatus))
    assert literals(ts_interfaces(NODE)["LastError"]["code"]) <= literal_values(
        openai_v1.LastError.model_fields["code"].annotation
    )
    tool_types = {
        t
        for name in ("AssistantToolsCode", "AssistantToolsRetrieval", "AssistantToolsFunction")
        for t in literals(ts_interfaces(NODE)[name]["type"])
    }
    assert tool_types == {"code_interpreter", "retrieval", "function"}
    assert tool_types == json_tags(openai_v1.Tool)


def json_tags(union: Any) -> set[str]:
    members = [m for m in _flatten(union) if isinstance(m, type) and issubclass(m, BaseModel)]
    return {v for m in members for v in literal_values(m.model_fields["type"].annotation)}


# --------------------------------------------------------------------------- coze-go

COZE_MODELS = {
    "Chat": coze.Chat,
    "ChatError": coze.ChatError,
    "ChatUsage": coze.ChatUsage,
    "ChatRequiredAction": coze.ChatRequiredAction,
    "ChatSubmitToolOutputs": coze.ChatSubmitToolOutputs,
    "ChatToolCall": coze.ChatToolCall,
    "ChatToolCallFunction": coze.ChatToolCallFunction,
    "ToolOutput": coze.ToolOutput,
    "CreateChatsReq": coze.CreateChatsReq,
    "CancelChatsReq": coze.CancelChatsReq,
    "RetrieveChatsReq": coze.ChatIdsQuery,
    "SubmitToolOutputsChatReq": coze.SubmitToolOutputsChatReq,
}


GO_STRUCTS = [(GO_OPENAI, name, model) for name, model in GO_MODELS.items()]
GO_STRUCTS += [(COZE_GO, name, model) for name, model in COZE_MODELS.items()]


@pytest.mark.parametrize(("seed", "struct", "model"), GO_STRUCTS, ids=[f"{p.name[:3]}-{n}" for p, n, _ in GO_STRUCTS])
def test_every_field_of_a_go_seed_struct_is_modelled(seed: Path, struct: str, model: Any) -> None:
    fields = go_structs(seed)[struct]
    assert fields, f"parsed no fields of {struct}"
    assert fields <= json_fields(model), fields - json_fields(model)


def test_coze_go_query_only_fields_are_in_the_query_models() -> None:
    # json:"-" fields travel in the query string: ?conversation_id= (&chat_id=).
    text = COZE_GO.read_text()
    query = set(re.findall(r'withHTTPQuery\("(\w+)"', text))
    assert query == {"conversation_id", "chat_id"}
    assert query <= json_fields(coze.ChatIdsQuery)
    assert "conversation_id" in json_fields(coze.CreateChatsQuery)


def test_coze_go_statuses_and_events() -> None:
    consts = go_consts(COZE_GO)
    assert consts["ChatStatus"] == set(get_args(coze.ChatStatus))
    assert "canceled" in consts["ChatStatus"]
    assert consts["ChatEventType"] == set(coze.EVENTS)


def _first(pattern: str, text: str) -> str:
    found = re.search(pattern, text)
    assert found, pattern
    return found.group(1)


def test_coze_go_parses_event_data_as_chat_or_message() -> None:
    text = COZE_GO.read_text()
    message_events = _first(r"case (ChatEventConversationMessageDelta.*?):\n\s*message", text)
    chat_events = _first(r"case (ChatEventConversationChatCreated.*?):\n\s*chat", text)
    by_const = dict(re.findall(r"(ChatEvent\w+) ChatEventType = \"([^\"]+)\"", text))
    assert len(by_const) == 10
    for const in re.findall(r"\w+", message_events):
        assert coze.EVENTS[by_const[const]] == "Message"
    for const in re.findall(r"\w+", chat_events):
        assert coze.EVENTS[by_const[const]] == "Chat"


# --------------------------------------------------------------------------- v1 against v2


def test_v1_and_v2_differ_where_the_versions_did() -> None:
    v1, v2 = json_fields(openai_v1.Run), json_fields(openai_v2.Run)
    assert "file_ids" in v1 - v2
    assert {"parallel_tool_calls", "tool_resources"} <= v2 - v1
    assert "incomplete" in set(get_args(openai_v2.RunStatus)) - set(get_args(openai_v1.RunStatus))
    assert json_tags(openai_v1.Tool) - json_tags(openai_v2.Tool) == {"retrieval"}
    assert json_tags(openai_v2.Tool) - json_tags(openai_v1.Tool) == {"file_search"}
    assert "attachments" in json_fields(openai_v2.Message) - json_fields(openai_v1.Message)
    assert "additional_instructions" in json_fields(openai_v1.RunCreateParams) & json_fields(openai_v2.RunCreateParams)


def test_every_type_name_of_every_stream_table_resolves() -> None:
    for space in NAMESPACES.values():
        for event, type_name in space.events.items():
            assert issubclass(space.resolve(type_name), BaseModel), (space.name, event)


# --------------------------------------------------------------------------- open models


V1_RUN: dict[str, Any] = {
    "id": "run_1", "object": "thread.run", "created_at": 1699998569, "assistant_id": "asst_1",
    "thread_id": "thread_1", "status": "queued", "started_at": None, "expires_at": 1699999169,
    "cancelled_at": None, "failed_at": None, "completed_at": None, "last_error": None,
    "model": "gpt-4", "instructions": None, "tools": [{"type": "code_interpreter"}],
    "file_ids": [], "metadata": {},
}  # fmt: skip


def test_models_accept_and_record_unknown_fields() -> None:
    run = openai_v1.Run.model_validate({**V1_RUN, "tools": [{"type": "code_interpreter", "beta": 1}], "new": {}})
    assert unknown_fields(run) == ["$.new", "$.tools[0].beta"]
    assert unknown_fields(openai_v1.Run.model_validate(V1_RUN)) == []


def test_models_reject_what_the_documented_types_forbid() -> None:
    with pytest.raises(ValidationError, match="status"):
        openai_v1.Run.model_validate({**V1_RUN, "status": "incomplete"})  # a v2-only status
    with pytest.raises(ValidationError, match="created_at"):
        openai_v1.Run.model_validate({**V1_RUN, "created_at": "1699998569"})  # strict: no coercion
    with pytest.raises(ValidationError, match="file_search"):
        openai_v1.Run.model_validate({**V1_RUN, "tools": [{"type": "file_search"}]})
    openai_v2.Run.model_validate({**V1_RUN, **V2_ADDITIONS, "status": "incomplete"})


V2_ADDITIONS: dict[str, Any] = {
    "required_action": None, "usage": None, "temperature": 1.0, "top_p": 1.0, "max_prompt_tokens": None,
    "max_completion_tokens": None, "truncation_strategy": {"type": "auto", "last_messages": None},
    "incomplete_details": None, "response_format": "auto", "tool_choice": "auto",
}  # fmt: skip


def test_unknown_fields_of_a_v1_run_read_as_v2() -> None:
    run = openai_v2.Run.model_validate({**V1_RUN, **V2_ADDITIONS})
    assert unknown_fields(run) == ["$.file_ids"]
