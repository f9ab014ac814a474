"""`pipectl smoke`: check deployed pipelines (collector answers, state machine runs, dashboard exists)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from generator.cli import context, options
from generator.cli.errors import ExitCode
from generator.cli.output import TEXT_ONLY, Output

if TYPE_CHECKING:
    from generator.deploy.smoke import Check


@dataclass
class SmokeReport:
    ok: bool
    checks: list[Check]
    summary: str = field(default="", metadata=TEXT_ONLY)


def configure(p: argparse.ArgumentParser) -> None:
    options.target(p)
    p.add_argument("pipeline", nargs="?", help="only this pipeline")
    p.add_argument("--env", help="only this environment (the nightly run checks test)")
    p.add_argument(
        "--timeout", type=float, default=900.0, metavar="SECONDS", help="how long a state machine may run (default 900)"
    )
    p.add_argument(
        "--collect-timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="on the local target, how long posted events may take to reach the data bucket (default 60)",
    )
    p.set_defaults(func=run)


def smoke(args: argparse.Namespace, out: Output) -> SmokeReport:
    from generator.deploy.smoke import LocalCollector, SmokeOptions
    from generator.deploy.smoke import smoke as check

    manifest = context.load_manifest(args)
    with context.target(args, manifest) as aws:
        collectors: dict[tuple[str, str], LocalCollector] = {}
        if aws.target.is_local:
            from generator.deploy.local.collectors import collector_status

            for r in collector_status(Path.cwd()):
                prefix = r["variables"].get("BUCKET_PREFIX") or r.get("raw_prefix") or "raw/"
                collectors[(r["pipeline"], r["env"])] = LocalCollector(r["url"], prefix)
        opts = SmokeOptions(
            execution_timeout=args.timeout,
            local_collectors=collectors,
            collect_timeout=args.collect_timeout,
            workdir=Path.cwd(),
        )
        result = check(aws, manifest, args.pipeline, args.env, opts)
    return SmokeReport(result.ok, result.checks, result.summary())


def render(report: SmokeReport, out: Output) -> None:
    for check in report.checks:
        out.line(f"  {check.result:<7} {check.pipeline}/{check.env} {check.name}: {check.detail}")
    out.line(f"smoke: {report.summary}" if report.checks else "smoke: no deployed pipeline to check")


def run(args: argparse.Namespace, out: Output) -> ExitCode:
    report = smoke(args, out)
    out.result(report, render)
    return ExitCode.OK if report.ok else ExitCode.FINDINGS
