"""Read a recording file as JSON or YAML, judged by its content, with positioned errors."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from runreplay.cassette.codec import read_file
from runreplay.errors import CassetteError
from runreplay.importers._fields import Where

_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):  # type: ignore[valid-type,misc]
    """A safe loader that leaves plain scalars as text.

    Header values such as ``3.10`` or ``2020-10-01`` must not become a float or a date:
    "without loss" means the text the recorder wrote. Only null and merge keys resolve.
    """


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag.endswith((":null", ":merge"))]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
# Ruby's Psych wrote binary strings as `!binary` before `!!binary`; other `!ruby/...` tags
# wrap plain mappings, sequences or strings.
_Loader.add_constructor("!binary", yaml.SafeLoader.construct_yaml_binary)


def _construct_ruby(loader: yaml.SafeLoader, _suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)  # type: ignore[arg-type]


_Loader.add_multi_constructor("!ruby/", _construct_ruby)


@dataclass(slots=True)
class Document:
    path: Path
    data: Any
    text: str
    syntax: str  # "json" or "yaml"

    def position(self, where: Where) -> str | None:
        """``line L, column C`` of the deepest YAML node on the way to ``where``."""
        if self.syntax != "yaml":
            return None
        try:
            node = yaml.compose(self.text, Loader=_Loader)
        except yaml.YAMLError:
            return None
        mark = node.start_mark if node is not None else None
        for key in where.keys:
            child = _child(node, key)
            if child is None:
                break
            node, mark = child, child.start_mark
        return None if mark is None else f"line {mark.line + 1}, column {mark.column + 1}"


def _child(node: yaml.Node | None, key: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode) and isinstance(key, str):
        return next((v for k, v in node.value if getattr(k, "value", None) == key), None)
    if isinstance(node, yaml.SequenceNode) and isinstance(key, int) and 0 <= key < len(node.value):
        child: yaml.Node = node.value[key]
        return child
    return None


def read_document(path: Path) -> Document:
    """Parse ``path``. JSON is tried for text that starts like JSON, YAML otherwise."""
    raw = read_file(path, "file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CassetteError("file is not UTF-8 text", path=path, location=f"byte {exc.start}") from None
    if not text.strip():
        raise CassetteError("file is empty", path=path)
    if text.lstrip()[:1] in ("{", "["):
        try:
            return Document(path, json.loads(text), text, "json")
        except json.JSONDecodeError as exc:
            if path.suffix.lower() not in (".yaml", ".yml"):  # a YAML flow mapping is rare but legal
                location = f"line {exc.lineno}, column {exc.colno}"
                raise CassetteError(f"invalid JSON: {exc.msg}", path=path, location=location) from None
    return Document(path, _load_yaml(text, path), text, "yaml")


def _load_yaml(text: str, path: Path) -> Any:
    try:
        return yaml.load(text, Loader=_Loader)  # _Loader derives from SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        location = f"line {mark.line + 1}, column {mark.column + 1}" if mark else None
        problem = exc.problem or "malformed YAML"
        if exc.context:
            problem += f" ({exc.context})"
        raise CassetteError(f"invalid YAML: {problem}", path=path, location=location) from None
    except yaml.YAMLError as exc:
        raise CassetteError(f"invalid YAML: {exc}", path=path) from None
