"""The architecture, checked: layers import downward only (function-level imports
included), the core never touches the UI, the environment or the flags."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "gdcli"

# lowest first: a module may import only modules of its own layer or below
LAYERS = [
    ["gdcli", "gdcli.errors", "gdcli.limits"],
    ["gdcli.budget", "gdcli.params", "gdcli.checks"],
    ["gdcli.parse"],
    ["gdcli.problem", "gdcli.data"],
    ["gdcli.calculus", "gdcli.derivation", "gdcli.latex"],
    ["gdcli.engine"],
    ["gdcli.answers", "gdcli.exercises"],
    ["gdcli.optimizers", "gdcli.schedules", "gdcli.stopping", "gdcli.runs"],
    ["gdcli.descent"],
    ["gdcli.compile"],
    ["gdcli.reports"],
    ["gdcli.render"],
    ["gdcli.cli"],
    ["gdcli.__main__"],
]
UI = ("typer", "rich", "plotext", "click")
EDGE = ("gdcli.render", "gdcli.cli", "gdcli.__main__")  # may print and use the UI libraries


def modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def layer(module: str) -> int:
    best = None
    for rank, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if module == prefix or module.startswith(prefix + "."):
                if best is None or len(prefix) > best[1]:
                    best = (rank, len(prefix))
    assert best is not None, f"{module} has no layer: add it to LAYERS"
    return best[0]


def imports(module: str, path: Path, known: set[str]) -> set[str]:
    """Every gdcli module `module` imports, at any depth of its code."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, *([base] if base else [])])
            targets = [f"{base}.{a.name}" for a in node.names] + [base]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != module and not module.startswith(target + "."):
                found.add(target)
    return found


GRAPH = {m: imports(m, p, set(modules())) for m, p in modules().items()}


def test_every_module_has_a_layer():
    for module in GRAPH:
        layer(module)


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_imports_go_downward(module):
    upward = [t for t in GRAPH[module] if layer(t) > layer(module)]
    assert not upward, f"{module} (layer {layer(module)}) imports {upward} from above"


def test_no_import_circle():
    seen: set[str] = set()

    def visit(node: str, path: list[str]) -> None:
        for nxt in GRAPH[node]:
            assert nxt not in path, "import circle: " + " -> ".join([*path, nxt])
            if nxt not in seen:
                visit(nxt, [*path, nxt])
        seen.add(node)

    for module in sorted(GRAPH):
        visit(module, [module])


CORE = {m: p for m, p in modules().items() if not m.startswith(EDGE)}


@pytest.mark.parametrize("module", sorted(CORE))
def test_the_core_speaks_in_data(module):
    """No UI library, no environment, no printing, and no command-line flag."""
    source = CORE[module].read_text(encoding="utf-8")
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
            assert not any((n or "").split(".")[0] in UI for n in names), module
        if isinstance(node, ast.Attribute):
            assert node.attr not in ("environ", "getenv", "putenv"), module
        if isinstance(node, ast.Name):
            assert node.id not in ("print", "getenv", "environ"), module
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            assert (node.value.id, node.attr) not in {("sys", "stdout"), ("sys", "stderr")}
    flags = re.findall(r"(?<![\w-])--[a-z][\w-]*", source)
    assert not flags, f"{module} names command-line flags: {sorted(set(flags))}"
