"""`pipectl graph`: the stack dependency graph, as Mermaid (default) or Graphviz DOT.

The same graph apply walks and plan.md embeds; `--pipeline` narrows it to one pipeline's stacks and
what they depend on, so a team sees its own pipeline without the rest of the installation.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from generator.cli import context, options
from generator.cli.errors import ExitCode, UserError
from generator.cli.output import Output


@dataclass
class GraphResult:
    """`edges` are (dependency, dependent) pairs: the order apply walks them."""

    format: str
    text: str
    stacks: list[str]
    edges: list[list[str]]


def configure(p: argparse.ArgumentParser) -> None:
    options.source(p)
    options.jobs(p, "synth")
    p.add_argument("--format", "-f", choices=("mermaid", "dot"), default="mermaid", help="default: mermaid")
    p.add_argument("--pipeline", metavar="NAME", help="only this pipeline's stacks and what they depend on")
    p.set_defaults(func=run, no_cache=False)


def graph(args: argparse.Namespace, out: Output) -> GraphResult:
    from generator.deploy.diagram import dot, mermaid, restrict

    context.synth_builds(args, out)
    manifest = context.load_manifest(args)
    nodes = manifest.dependencies()
    if args.pipeline is not None:
        if args.pipeline not in manifest.pipelines:
            valid = ", ".join(sorted(manifest.pipelines)) or "none"
            raise UserError(f"--pipeline: no pipeline named {args.pipeline!r}; expected one of: {valid}")
        nodes = restrict(nodes, {s.name for s in manifest.stacks if s.pipeline == args.pipeline})
    text = (dot if args.format == "dot" else mermaid)(nodes)
    edges = sorted([dep, name] for name, deps in nodes.items() for dep in deps)
    return GraphResult(args.format, text, sorted(nodes), edges)


def render(result: GraphResult, out: Output) -> None:
    out.line(result.text.rstrip("\n"))


def run(args: argparse.Namespace, out: Output) -> ExitCode:
    out.result(graph(args, out), render)
    return ExitCode.OK
