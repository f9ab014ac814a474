"""No import cycles within `generator`: a module's results live below the modules that make and read them.

The graph holds every import a module makes when it is loaded, including those under
`if TYPE_CHECKING:` (a cycle there is the same layering knot, only hidden from the interpreter).
Imports inside functions are left out: they run after both modules are fully loaded, so they cannot
see a half-initialised module, and pipectl uses them on purpose to keep `pipectl --help` and synth
free of heavy libraries (the lazy imports of `generator/cli` and the synth worker processes).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "generator"


def module_name(path: Path, package: Path) -> str:
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def module_level_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Imports run when the module loads: at top level and inside top-level if/try/with blocks."""
    found: list[ast.Import | ast.ImportFrom] = []
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        elif isinstance(node, ast.If | ast.Try | ast.With):
            for block in ("body", "orelse", "finalbody", "handlers"):
                pending.extend(getattr(node, block, []))
        elif isinstance(node, ast.ExceptHandler):
            pending.extend(node.body)
    return found


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    modules = {module_name(p, package): p for p in package.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        is_package = path.name == "__init__.py"
        for node in module_level_imports(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
                continue
            base = node.module or ""
            if node.level:  # relative: from the module's package, one level up per extra dot
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                targets.add(submodule if submodule in modules else base)
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_generator_has_no_import_cycle() -> None:
    graph = import_graph()
    assert "generator.deploy.results" in graph and "generator.cli.plan" in graph  # the walk found the package
    assert cycles(graph) == []


def test_the_check_finds_a_cycle_through_type_checking_and_relative_imports(tmp_path: Path) -> None:
    package = tmp_path / "generator"
    (package / "deploy").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "deploy" / "__init__.py").write_text("")
    (package / "deploy" / "plan.py").write_text("from generator.deploy import telemetry\n")
    (package / "deploy" / "telemetry.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .report import Report\n"
    )
    (package / "deploy" / "report.py").write_text("import generator.deploy.plan\n")
    (package / "deploy" / "lazy.py").write_text("def f():\n    from generator.deploy import lazy2\n")
    (package / "deploy" / "lazy2.py").write_text("from generator.deploy import lazy\n")
    assert cycles(import_graph(package)) == [
        ["generator.deploy.plan", "generator.deploy.report", "generator.deploy.telemetry"]
    ]
