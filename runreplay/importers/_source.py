"""Read a recording file as JSON or YAML, judged by its content, with positioned errors.

Limits (docs/importing.md): the parsed document nests at most :data:`runreplay._json.MAX_DEPTH`
levels and holds no lone surrogates; YAML aliases may repeat at most :data:`MAX_ALIAS_EXPANSION`
units of the document (each node counts one, plus the length of its text) and may not refer
to a node that contains them. A "billion laughs" file is refused before it is built.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from runreplay import _json
from runreplay.cassette.codec import read_file
from runreplay.errors import CassetteError
from runreplay.importers._fields import Where

#: How much YAML aliases (``*name``) may add to a document when expanded: each node counts
#: one, plus the length of a scalar's text.
MAX_ALIAS_EXPANSION = 10_000_000

_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):  # type: ignore[valid-type,misc]
    """A safe loader that leaves plain scalars as text.

    Header values such as ``3.10`` or ``2020-10-01`` must not become a float or a date:
    "without loss" means the text the recorder wrote. Only null and merge keys resolve.
    """


class AliasError(yaml.MarkedYAMLError):
    """YAML aliases that refer to their own container, or expand the document too far."""


def _check_aliases(root: yaml.Node) -> None:
    """Refuse a recursive alias, or aliases that would expand the document beyond the limit.

    Aliases make one node appear in several places; a converter walks every place. The walk
    is iterative and counts each node once per place (``expanded``) and once in all
    (``own``), so the check costs one pass over the distinct nodes however far they expand.
    """
    expanded: dict[int, int] = {}
    open_nodes: set[int] = set()
    own = 0
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        children = _children(node)
        if finished:
            open_nodes.discard(key)
            expanded[key] = 1 + sum(expanded[id(c)] for c in children)
            continue
        if key in expanded:
            continue
        if isinstance(node, yaml.ScalarNode):
            weight = 1 + len(node.value)
            expanded[key] = weight
            own += weight
            continue
        own += 1
        open_nodes.add(key)
        stack.append((node, True))
        for child in children:
            if id(child) in open_nodes:
                raise AliasError(
                    problem="an alias refers to a node that contains it (a recursive structure)",
                    problem_mark=child.start_mark,
                )
            if id(child) not in expanded:
                stack.append((child, False))
    extra = expanded[id(root)] - own
    if extra > MAX_ALIAS_EXPANSION:
        raise AliasError(
            problem=f"aliases would expand the document by {extra:,} nodes and characters "
            f"(the most runreplay accepts is {MAX_ALIAS_EXPANSION:,}; a 'billion laughs' file?)",
            problem_mark=root.start_mark,
        )


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _construct_document(self: yaml.SafeLoader, node: yaml.Node) -> Any:
    _check_aliases(node)
    return yaml.SafeLoader.construct_document(self, node)


_Loader.construct_document = _construct_document
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
    document: Document | None = None
    if text.lstrip()[:1] in ("{", "["):
        try:
            document = Document(path, _json.loads(text, max_depth=_json.MAX_DEPTH), text, "json")
        except _json.JSONLimitError as exc:
            raise CassetteError(exc.message, path=path, location=exc.location) from None
        except json.JSONDecodeError as exc:
            if path.suffix.lower() not in (".yaml", ".yml"):  # a YAML flow mapping is rare but legal
                location = f"line {exc.lineno}, column {exc.colno}"
                raise CassetteError(f"invalid JSON: {exc.msg}", path=path, location=location) from None
    if document is None:
        document = Document(path, _load_yaml(text, path), text, "yaml")
        try:
            # What YAML builds: plain values, bytes (!!binary), and tuples or sets from explicit tags.
            _json.check_value(document.data, _json.MAX_DEPTH, split=2)
        except _json.JSONLimitError as exc:
            raise CassetteError(exc.message, path=path, location=exc.location) from None
    return document


def _load_yaml(text: str, path: Path) -> Any:
    try:
        return yaml.load(text, Loader=_Loader)  # _Loader derives from SafeLoader
    except RecursionError:  # the pure-Python parser (libyaml stops at 1,000 levels by itself)
        raise CassetteError(f"invalid YAML: nested deeper than {_json.MAX_DEPTH} levels", path=path) from None
    except (ValueError, TypeError, OverflowError) as exc:  # an explicit tag (!!int, !!timestamp) with a bad value
        raise CassetteError(f"invalid YAML: {exc}", path=path) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        location = f"line {mark.line + 1}, column {mark.column + 1}" if mark else None
        problem = exc.problem or "malformed YAML"
        if exc.context:
            problem += f" ({exc.context})"
        raise CassetteError(f"invalid YAML: {problem}", path=path, location=location) from None
    except yaml.YAMLError as exc:
        raise CassetteError(f"invalid YAML: {exc}", path=path) from None
