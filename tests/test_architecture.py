"""The package's shape: layers that import only downwards, no import cycle, no vendor in the engine.

Every ``import`` statement of the package and the plugin is read (module level, inside
functions and under ``TYPE_CHECKING`` alike), so a lazy import cannot hide a cycle or a
layer broken upwards.
"""

from __future__ import annotations

import ast
import io
import tokenize
from collections.abc import Iterator
from pathlib import Path

import pytest
from _paths import REPO

PACKAGES = {"runreplay": REPO / "runreplay", "runreplay_pytest": REPO / "pytest_plugin"}

#: Lowest first. A module may import its own layer and the layers below it, except that
#: the packages sharing a layer with ``independent`` set must not import each other.
LAYERS: tuple[tuple[tuple[str, ...], bool], ...] = (
    # Leaf helpers and configuration (their order among themselves: no cycle, tested below).
    (
        (
            "runreplay._version",
            "runreplay._real_time",
            "runreplay._json",
            "runreplay._jsonpath",
            "runreplay._github",
            "runreplay.errors",
            "runreplay.config",
            "runreplay.scrub_rules",
            "runreplay.options",
        ),
        False,
    ),
    (("runreplay.sse",), True),
    (("runreplay.cassette",), True),
    (("runreplay.models",), True),
    (("runreplay.schema",), True),
    (("runreplay.providers",), True),
    (("runreplay.checks", "runreplay.importers"), True),
    (("runreplay.engine", "runreplay.emulator"), True),
    (("runreplay.server",), True),  # `runreplay serve`: sessions behind an HTTP server
    (("runreplay",), True),  # the curated public API (the package's __init__)
    (("runreplay.cli", "runreplay_pytest"), True),
)

#: Packages, and single modules, that must not name an API family: the engine, the checks,
#: the data layer and the generic parts of the providers, the schemas and the emulator.
VENDOR_FREE_PACKAGES = (
    "runreplay.engine",
    "runreplay.checks",
    "runreplay.cassette",
    "runreplay.schema",
    "runreplay_pytest",
)
VENDOR_FREE_MODULES = (
    "runreplay.sse",
    "runreplay.options",
    "runreplay.providers",
    "runreplay.providers.base",
    "runreplay.emulator.server",
    "runreplay.emulator.common",
)


def vendor_free(module: str) -> bool:
    return module in VENDOR_FREE_MODULES or any(module == p or module.startswith(p + ".") for p in VENDOR_FREE_PACKAGES)


VENDORS = ("openai", "coze", "azure")


def modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package, root in PACKAGES.items():
        for path in sorted(root.rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join([package, *parts])] = path
    return found


MODULES = modules()


def imports(name: str, path: Path) -> Iterator[str]:
    """The modules of this project that ``name`` imports (a package means its ``__init__``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # ``from a import b`` imports the module a.b when there is one, else a name of a.
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != name:
                yield target


GRAPH = {name: sorted(set(imports(name, path))) for name, path in MODULES.items()}


def layer_of(module: str) -> tuple[int, str]:
    """The layer of a module and the package (or module) of that layer it belongs to."""
    best: tuple[int, str] | None = None
    for level, (names, _) in enumerate(LAYERS):
        for prefix in names:
            if (module == prefix or module.startswith(prefix + ".")) and (best is None or len(prefix) > len(best[1])):
                best = (level, prefix)
    assert best is not None, f"{module} belongs to no layer: add it to LAYERS"
    return best


def test_every_module_has_a_layer_and_the_graph_is_not_empty() -> None:
    assert len(MODULES) > 60
    assert sum(len(v) for v in GRAPH.values()) > 150
    for module in MODULES:
        layer_of(module)


def test_layers_import_only_downwards() -> None:
    broken = []
    for module, targets in GRAPH.items():
        level, home = layer_of(module)
        for target in targets:
            target_level, target_home = layer_of(target)
            independent = LAYERS[level][1]
            if target_level > level or (target_level == level and independent and target_home != home):
                broken.append(f"{module} ({home}) imports {target} ({target_home})")
    assert not broken, "\n".join(broken)


def test_the_import_graph_has_no_cycle() -> None:
    cycles = strongly_connected(GRAPH)
    assert not cycles, "\n".join(" -> ".join(c) for c in cycles)


def strongly_connected(graph: dict[str, list[str]]) -> list[list[str]]:
    """Tarjan's algorithm: every group of modules that import each other, directly or not."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert strongly_connected({"a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"]}) == [["a", "b", "c"]]
    assert strongly_connected({"a": ["b"], "b": []}) == []


def test_no_generic_module_imports_a_family_module() -> None:
    families = {
        m for m in MODULES if m.startswith(("runreplay.providers.", "runreplay.models.", "runreplay.emulator."))
    }
    families -= {
        "runreplay.providers.base",
        "runreplay.models._base",
        "runreplay.emulator.server",
        "runreplay.emulator.common",
    }
    offenders = [
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        if vendor_free(module)
        for target in targets
        if target in families
    ]
    assert not offenders, "\n".join(offenders)


def code_tokens(path: Path) -> Iterator[tuple[int, str]]:
    """Names and string literals of a module, without its docstrings and comments."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        node.body[0].value.lineno
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
        and isinstance(node.body[0].value.value, str)
    }
    source = io.StringIO(path.read_text(encoding="utf-8"))
    for token in tokenize.generate_tokens(source.readline):
        if token.type == tokenize.NAME or (token.type == tokenize.STRING and token.start[0] not in docstrings):
            yield token.start[0], token.string


@pytest.mark.parametrize("module", sorted(m for m in MODULES if vendor_free(m)))
def test_generic_modules_name_no_api_family(module: str) -> None:
    found = [
        f"{MODULES[module].name}:{line}: {text}"
        for line, text in code_tokens(MODULES[module])
        if any(vendor in text.lower() for vendor in VENDORS)
    ]
    assert not found, "\n".join(found)
