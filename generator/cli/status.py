"""`pipectl status`: what is deployed, in sync or not, with endpoints and dashboards."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from generator.cli import context, options
from generator.cli.errors import ExitCode, UserError
from generator.cli.output import TEXT_ONLY, Output, to_json

if TYPE_CHECKING:
    from generator.deploy.aws import Aws
    from generator.deploy.manifest import Manifest
    from generator.deploy.status import StackStatus

# What the table shows of the outputs, and how it names them.
HEADLINE = {
    "LocalCollector": "local collector",
    "CollectorEndpoint": "collector",
    "LoadBalancerDnsName": "point DNS at",
    "GraphQLUrl": "API",
    "DashboardName": "dashboard",
}


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
    dashboard_url: str | None = None  # the CloudWatch console on AWS; None on the local target
    local_collector: str | None = None  # ingestion stacks on the local target: the collector `up` runs
    headline: dict[str, str] = field(default_factory=dict, metadata=TEXT_ONLY)

    @classmethod
    def of(cls, s: StackStatus, dashboard_url: str | None = None, local_collector: str | None = None) -> StatusRow:
        headline = dict(s.headline)
        if dashboard_url:
            headline["DashboardName"] = dashboard_url
        if local_collector:
            headline["LocalCollector"] = local_collector
        return cls(
            s.name,
            s.pipeline,
            s.env,
            s.kind,
            s.status,
            s.in_sync,
            s.last_updated,
            s.orphan,
            s.outputs,
            dashboard_url,
            local_collector,
            headline,
        )


@dataclass
class StatusReport:
    """`status --outputs`: the rows, and every output of every stack printed per pipeline."""

    stacks: list[StatusRow]
    show_outputs: bool = field(default=False, metadata=TEXT_ONLY)


def dashboard_url(region: str, name: str) -> str:
    return f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#dashboards/dashboard/{name}"


def configure(p: argparse.ArgumentParser) -> None:
    options.target(p)
    p.add_argument("pipeline", nargs="?", help="only this pipeline")
    p.add_argument("--outputs", action="store_true", help="also list every stack output, per pipeline")
    p.set_defaults(func=run)


def rows(aws: Aws, manifest: Manifest, pipeline: str | None = None) -> list[StatusRow]:
    from generator.deploy.status import status

    def link(s: StackStatus) -> str | None:
        spec = manifest.get(s.name)
        name = s.outputs.get("DashboardName")
        if aws.target.is_local or not name:
            return None  # the local target has no console to link to: the name alone is shown
        return dashboard_url(spec.region if spec else aws.target.region, name)

    collectors: dict[tuple[str | None, str | None], str] = {}
    if aws.target.is_local:
        from generator.deploy.local.collectors import collector_status

        collectors = {(r["pipeline"], r["env"]): r["url"] for r in collector_status(Path.cwd())}

    def local(s: StackStatus) -> str | None:
        return collectors.get((s.pipeline, s.env)) if s.kind == "ingestion" else None

    return [StatusRow.of(s, link(s), local(s)) for s in status(aws, manifest, pipeline)]


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
    table = [("stack", "status", "in sync", "collector / DNS target / API / dashboard")]
    for s in stacks:
        sync = "orphan" if s.orphan else "yes" if s.in_sync else "no"
        shown = "  ".join(f"{label}: {s.headline[k]}" for k, label in HEADLINE.items() if k in s.headline)
        table.append((s.stack, s.status, sync, shown))
    widths = [max(len(row[i]) for row in table) for i in range(3)]
    for index, row in enumerate(table):
        text = "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[3]
        out.line(text.rstrip(), style="bold" if index == 0 else None)


def render_report(report: StatusReport, out: Output) -> None:
    render(report.stacks, out)
    if not report.show_outputs:
        return
    for pipeline in sorted({s.pipeline or "(control plane)" for s in report.stacks}):
        out.line("")
        out.line(f"outputs of {pipeline}", style="bold")
        for s in report.stacks:
            if (s.pipeline or "(control plane)") == pipeline and s.outputs:
                out.line(f"  {s.stack}")
                for key, value in sorted(s.outputs.items()):
                    out.line(f"    {key} = {value}")


def run(args: argparse.Namespace, out: Output) -> ExitCode:
    report = StatusReport(status(args, out), args.outputs)
    if out.is_json:
        out.json(to_json(report.stacks))  # the rows, each with all of its outputs: the same document either way
    else:
        render_report(report, out)
    return ExitCode.OK
