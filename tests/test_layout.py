"""The package layout: imports point one way, from the CLI down to the value types, no cycles.

Every module of batch_sms is read with `ast` (imports inside functions and under TYPE_CHECKING
count too: they are the same dependency, only later).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import batch_sms

ROOT = Path(batch_sms.__file__).resolve().parent
# Each top-level package or module of batch_sms by layer, lowest first; a module may import its
# own layer's (without cycles) and lower ones, never higher ones.
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"models", "errors", "config"}),
    frozenset({"provider", "journal"}),
    frozenset({"input", "checks", "dispatch", "report", "sandbox"}),
    frozenset({"commands"}),
    # The doors: the CLI, what it prints, the Python API (batch_sms itself), the web app.
    frozenset({"batch_sms", "__main__", "cli", "cli_sandbox", "console", "api", "web"}),
)
LAYER = {unit: i for i, units in enumerate(LAYERS) for unit in units}


def _modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its own name)."""
    found = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = ("batch_sms", *path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> Iterator[tuple[int, str]]:
    """(line, module) of each batch_sms module that `name` imports, anywhere in its source."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "batch_sms":
                    yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            if base.split(".")[0] != "batch_sms":
                continue
            for alias in node.names:
                # `from batch_sms.x import y` imports the module batch_sms.x.y when there is one.
                sub = f"{base}.{alias.name}"
                yield node.lineno, sub if sub in MODULES else base


def _unit(module: str) -> str:
    """The top-level package or module a module belongs to ("batch_sms" for the package's own
    __init__, the Python API)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _graph() -> dict[str, dict[str, int]]:
    """Module → the batch_sms modules it imports, with the line of the first such import."""
    graph: dict[str, dict[str, int]] = {}
    for name, path in MODULES.items():
        edges: dict[str, int] = {}
        for line, target in _imports(name, path):
            if target != name:
                edges.setdefault(target, line)
        graph[name] = edges
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle through each strongly connected part of `graph` that has one (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    parts: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            part = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                part.append(top)
                if top == node:
                    break
            if len(part) > 1:
                parts.append(sorted(part))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_path_through(graph, set(part)) for part in parts]


def _path_through(graph: dict[str, set[str]], part: set[str]) -> list[str]:
    """The shortest cycle from the part's first node back to it, first node repeated at the end."""
    start = min(part)
    previous: dict[str, str] = {}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for nxt in sorted(graph[node] & part):
            if nxt == start:
                path = [node]
                while path[-1] != start:
                    path.append(previous[path[-1]])
                return [*reversed(path), start]
            if nxt not in previous:
                previous[nxt] = node
                queue.append(nxt)
    raise AssertionError(part)  # a strongly connected part always has a cycle


def test_every_module_belongs_to_a_layer() -> None:
    unknown = sorted({_unit(name) for name in MODULES} - set(LAYER))
    assert not unknown, f"add {unknown} to a layer in LAYERS"


def test_no_module_imports_a_higher_layer() -> None:
    wrong = [
        f"{MODULES[name].relative_to(ROOT.parent)}:{line}: {name} ({_unit(name)}) imports "
        f"{target} ({_unit(target)}), a higher layer"
        for name, edges in _graph().items()
        for target, line in edges.items()
        if LAYER.get(_unit(target), 0) > LAYER.get(_unit(name), 0)
    ]
    assert not wrong, "\n".join(wrong)


def test_no_import_cycle_between_modules() -> None:
    graph = {name: set(edges) for name, edges in _graph().items()}
    found = [" -> ".join(cycle) for cycle in _cycles(graph)]
    assert not found, "import cycles:\n" + "\n".join(found)


def test_packages_of_one_layer_import_each_other_one_way() -> None:
    """Two stage packages of one layer may not import each other, however indirectly."""
    graph: dict[str, set[str]] = defaultdict(set)
    lines: dict[tuple[str, str], str] = {}
    for name, edges in _graph().items():
        for target, line in edges.items():
            here, there = _unit(name), _unit(target)
            if here != there and LAYER.get(here) == LAYER.get(there):
                graph[here].add(there)
                lines.setdefault((here, there), f"{name}:{line} imports {target}")
    for unit in list(graph):
        for other in graph[unit]:
            graph.setdefault(other, set())
    found = [
        " -> ".join(cycle) + " (" + "; ".join(lines[pair] for pair in pairwise(cycle)) + ")"
        for cycle in _cycles(dict(graph))
    ]
    assert not found, "packages importing each other:\n" + "\n".join(found)
