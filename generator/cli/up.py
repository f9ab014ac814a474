"""`pipectl up`: validate, plan, apply and show status; on the local target the embedded AWS keeps running.

Composed of the other commands' functions (validate, the apply options, status rows) and their text
renderers; with --output json it prints one document holding each step's result.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from generator.cli import context, options
from generator.cli.apply import ApplyReport, plan_then_apply
from generator.cli.apply import render as render_apply
from generator.cli.console import ConsoleResult
from generator.cli.console import render as render_console
from generator.cli.errors import ExitCode
from generator.cli.output import Output
from generator.cli.status import StatusRow, rows
from generator.cli.status import render as render_status
from generator.cli.validate import ValidateResult, validate
from generator.cli.validate import render as render_validate

if TYPE_CHECKING:
    from generator.deploy.manifest import Manifest
    from generator.deploy.results import Plan

HEADLINE_KINDS = ("ingestion", "monitoring", "console")  # the stacks whose endpoints a person wants next


@dataclass
class CollectorRow:
    """A collector `up` runs on the local target: where to send events, and its log."""

    pipeline: str
    env: str
    url: str
    log: str


@dataclass
class UpResult:
    """Each step's result; the steps after a failed validation are absent (nothing was deployed)."""

    validate: ValidateResult
    plan: Plan | None = None
    apply: ApplyReport | None = None
    status: list[StatusRow] = field(default_factory=list)
    collectors: list[CollectorRow] = field(default_factory=list)
    collector_error: str | None = None
    console: ConsoleResult | None = None
    console_error: str | None = None

    @property
    def ok(self) -> bool:
        return (
            self.validate.ok
            and self.apply is not None
            and self.apply.ok
            and self.collector_error is None
            and self.console_error is None
        )


def configure(p: argparse.ArgumentParser) -> None:
    options.target(p)
    options.pipelines(p)
    options.jobs(p, "lint")
    options.planning(p)
    options.replacing(p)
    options.locking(p)
    p.add_argument(
        "--no-collectors",
        dest="collectors",
        action="store_false",
        help="on the local target, do not run the deployed pipelines' collectors (default: run them)",
    )
    p.add_argument(
        "--no-console",
        dest="console",
        action="store_false",
        help="on the local target, do not serve the web console (default: serve it, from before the deployment)",
    )
    p.set_defaults(func=run)


def up(args: argparse.Namespace, out: Output) -> UpResult:
    """Validation is shown as soon as it is done, before the (long) deployment starts."""
    checked = validate(args, out)
    render_validate(checked, out)
    if not checked.ok:
        return UpResult(checked)
    manifest = context.load_manifest(args)
    with context.target(args, manifest, keep_running=True) as aws:
        out.line(f"target: {aws.target.describe()}")
        prepared = context.for_target(aws, manifest, out, announce=True)
        context.local_bootstrap(aws, prepared.manifest, args, out)
        console, console_error = (
            _console(aws.target.endpoint_url, prepared.manifest, out)
            if (aws.target.is_local and args.console)
            else (None, None)
        )
        plan, result = plan_then_apply(aws, prepared.manifest, args, out, context.progress(out, args))
        stacks = rows(aws, prepared.manifest)
        collectors: list[CollectorRow] = []
        error: str | None = None
        if aws.target.is_local and args.collectors and result.ok:
            collectors, error = _collectors(aws.target.endpoint_url, prepared.manifest)
    headline = [s for s in stacks if s.kind in HEADLINE_KINDS]
    return UpResult(checked, plan, ApplyReport.of(result), headline, collectors, error, console, console_error)


def _console(endpoint: str | None, manifest: Manifest, out: Output) -> tuple[ConsoleResult | None, str | None]:
    """Served before the deployment starts, so a person can watch it happen in the browser."""
    from generator.cli.console import issuer_of, serve_console

    if endpoint is None or manifest.console is None:
        return None, None
    try:
        console = serve_console(endpoint, manifest.console.region, Path.cwd(), issuer=issuer_of(manifest))
    except (RuntimeError, OSError) as exc:
        out.error(f"the console did not start: {exc}")
        return None, str(exc)
    render_console(console, out)
    return console, None


def _collectors(endpoint: str | None, manifest: Manifest) -> tuple[list[CollectorRow], str | None]:
    """Run each deployed pipeline environment's collector against the local AWS (running ones are kept)."""
    from generator.deploy.local.collectors import start_collectors

    if endpoint is None:
        return [], "the local target has no endpoint to point the collectors at"
    try:
        records = start_collectors(endpoint, manifest, Path.cwd())
    except RuntimeError as exc:
        return [], str(exc)
    return [CollectorRow(r["pipeline"], r["env"], r["url"], r["log"]) for r in records], None


def render(result: UpResult, out: Output) -> None:
    """What followed validation (which `up` showed already)."""
    if result.plan is None or result.apply is None:
        return
    if not result.plan.has_changes:
        from generator.deploy.changes import PlanAction

        out.line(f"no changes: all {result.plan.count(PlanAction.NONE)} stacks are up to date")
    else:
        render_apply(result.apply, out)
    render_status(result.status, out)
    for collector in result.collectors:
        out.line(f"collector {collector.pipeline}/{collector.env}: POST events to {collector.url}")
    if result.collector_error:
        out.error(f"a collector did not start: {result.collector_error}")
    if result.console:
        # The password is shown once, by the run that set it; a later up points at how to set another.
        if result.console.issuer:
            out.line(f"console at {result.console.url} (sign in at {result.console.issuer})")
        else:
            where = "password above" if result.console.password else "`pipectl console --new-password` sets another"
            out.line(f"console at {result.console.url} (sign in as {result.console.user}; {where})")


def run(args: argparse.Namespace, out: Output) -> ExitCode:
    result = up(args, out)
    out.result(result, render)
    if not result.validate.ok:
        out.error("validation found problems: nothing was deployed")
        return ExitCode.FINDINGS
    return ExitCode.OK if result.ok else ExitCode.FINDINGS
