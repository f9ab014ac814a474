"""`pipectl status`: what is deployed, in sync or not, with endpoints and dashboards."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from generator.cli import context, options
from generator.cli.errors import ExitCode, UserError
from generator.cli.output import TEXT_ONLY, Output

if TYPE_CHECKING:
    from generator.deploy.aws import Aws
    from generator.deploy.manifest import Manifest
    from generator.deploy.status import StackStatus

HEADLINE = ("CollectorEndpoint", "GraphQLUrl", "DashboardName")  # what the table shows of the outputs


@dataclass
class StatusRow:
    """One stack as `status --output json` lists it."""

    stack: str
    pipeline: str | None
    env: str | None
    kind: str
    status: str  # the CloudFormation status, or NOT_DEPLOYED
    in_sync: bool
    last_updated: str | None
    orphan: bool
    outputs: dict[str, str]
    headline: dict[str, str] = field(default_factory=dict, metadata=TEXT_ONLY)

    @classmethod
    def of(cls, s: StackStatus) -> StatusRow:
        return cls(
            s.name, s.pipeline, s.env, s.kind, s.status, s.in_sync, s.last_updated, s.orphan, s.outputs, s.headline
        )


def configure(p: argparse.ArgumentParser) -> None:
    options.target(p)
    p.add_argument("pipeline", nargs="?", help="only this pipeline")
    p.set_defaults(func=run)


def rows(aws: Aws, manifest: Manifest, pipeline: str | None = None) -> list[StatusRow]:
    from generator.deploy.status import status

    return [StatusRow.of(s) for s in status(aws, manifest, pipeline)]


def status(args: argparse.Namespace, out: Output) -> list[StatusRow]:
    manifest = context.load_manifest(args)
    with context.target(args, manifest) as aws:
        found = rows(aws, manifest, args.pipeline)
    if args.pipeline is not None and not found:  # neither in the files nor deployed: a typo
        known = ", ".join(sorted(manifest.pipelines)) or "none"
        raise UserError(f"status: no pipeline named {args.pipeline!r}; expected one of: {known}")
    return found


def render(stacks: list[StatusRow], out: Output) -> None:
    """A table: stack, status, in sync (or orphan), and the outputs a person looks for first."""
    table = [("stack", "status", "in sync", "endpoint / API / dashboard")]
    for s in stacks:
        sync = "orphan" if s.orphan else "yes" if s.in_sync else "no"
        table.append((s.stack, s.status, sync, "  ".join(s.headline[k] for k in HEADLINE if k in s.headline)))
    widths = [max(len(row[i]) for row in table) for i in range(3)]
    for index, row in enumerate(table):
        text = "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[3]
        out.line(text.rstrip(), style="bold" if index == 0 else None)


def run(args: argparse.Namespace, out: Output) -> ExitCode:
    out.result(status(args, out), render)
    return ExitCode.OK
