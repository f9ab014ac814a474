"""`pipectl drift`: compare deployed stacks with their templates (CloudFormation drift detection)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from generator.cli import context, options
from generator.cli.errors import ExitCode
from generator.cli.output import Output

if TYPE_CHECKING:
    from generator.deploy.results import StackDrift


def configure(p: argparse.ArgumentParser) -> None:
    options.target(p)
    p.add_argument("pipeline", nargs="?", help="only this pipeline")
    p.set_defaults(func=run)


def drift(args: argparse.Namespace, out: Output) -> list[StackDrift]:
    from generator.deploy.drift import drift as detect

    manifest = context.load_manifest(args)
    with context.target(args, manifest) as aws:
        return detect(aws, manifest, args.pipeline)


def render(results: list[StackDrift], out: Output) -> None:
    for r in results:
        out.line(f"{r.name:<48} {r.status:<14} {r.detail}".rstrip())


def run(args: argparse.Namespace, out: Output) -> ExitCode:
    from generator.deploy.results import DriftStatus

    results = drift(args, out)
    out.result(results, render)
    return ExitCode.FINDINGS if any(r.status == DriftStatus.DRIFTED for r in results) else ExitCode.OK
