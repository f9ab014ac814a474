"""The stack dependency graph as Mermaid (GitHub and GitLab draw it in plan.md) and as Graphviz DOT.

Edges point from a stack to the stacks that depend on it, in the order apply walks them. Stacks a
plan changes are marked with their action, so the reviewer sees what moves and what waits for it.
"""

from __future__ import annotations

from collections.abc import Mapping

from generator.deploy.graph import Graph, topological_order

# Fill colours per mark: the same in both formats.
COLOURS = {
    "create": "#d4f7d4",
    "update": "#fff3c4",
    "create-after": "#d4f7d4",
    "update-after": "#fff3c4",
    "error": "#f7d4d4",
}


def _edges(graph: Graph) -> list[tuple[str, str]]:
    return sorted((dep, name) for name, deps in graph.items() for dep in deps if dep in graph)


def mermaid(graph: Graph, marks: Mapping[str, str] | None = None) -> str:
    """`flowchart LR` with one node per stack; node ids are positional, labels the stack names."""
    order = topological_order(graph)
    ids = {name: f"s{index}" for index, name in enumerate(order)}
    marks = marks or {}
    lines = ["flowchart LR"]
    for name in order:
        label = f"{name}<br/>({marks[name]})" if name in marks else name
        lines.append(f'  {ids[name]}["{label}"]')
    lines += [f"  {ids[a]} --> {ids[b]}" for a, b in _edges(graph)]
    used = sorted({marks[n] for n in order if n in marks and marks[n] in COLOURS})
    for mark in used:
        lines.append(f"  classDef {_css(mark)} fill:{COLOURS[mark]},stroke:#333")
        members = ",".join(ids[n] for n in order if marks.get(n) == mark)
        lines.append(f"  class {members} {_css(mark)}")
    return "\n".join(lines) + "\n"


def _css(mark: str) -> str:
    return mark.replace("-", "_")


def dot(graph: Graph, marks: Mapping[str, str] | None = None) -> str:
    """A `digraph` for `dot -Tsvg`; marked stacks are filled and labelled with their action."""
    marks = marks or {}
    lines = ["digraph pipectl {", "  rankdir=LR;", '  node [shape=box, fontname="Helvetica"];']
    for name in topological_order(graph):
        if name in marks:
            colour = COLOURS.get(marks[name], "#eeeeee")
            lines.append(f'  "{name}" [label="{name}\\n({marks[name]})", style=filled, fillcolor="{colour}"];')
        else:
            lines.append(f'  "{name}";')
    lines += [f'  "{a}" -> "{b}";' for a, b in _edges(graph)]
    lines.append("}")
    return "\n".join(lines) + "\n"


def restrict(graph: Graph, pipeline_stacks: set[str]) -> dict[str, tuple[str, ...]]:
    """One pipeline's stacks and the stacks they depend on (the console), so its graph stands alone."""
    keep = set(pipeline_stacks)
    frontier = list(keep)
    while frontier:
        for dep in graph.get(frontier.pop(), ()):
            if dep not in keep and dep in graph:
                keep.add(dep)
                frontier.append(dep)
    return {name: tuple(d for d in graph[name] if d in keep) for name in graph if name in keep}
