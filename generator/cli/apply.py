"""`pipectl apply`: execute a reviewed plan's change sets along the dependency graph (or plan and apply)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from generator.cli import context, options
from generator.cli.errors import ExitCode, UserError
from generator.cli.output import TEXT_ONLY, Output, short
from generator.cli.plan import render_plan

if TYPE_CHECKING:
    from generator.deploy.apply import ApplyOptions
    from generator.deploy.aws import Aws
    from generator.deploy.manifest import Manifest
    from generator.deploy.progress import Progress
    from generator.deploy.results import ApplyResult, Plan, StackResult


@dataclass
class ApplyReport:
    """What apply did per stack; with --auto-approve, the plan it made is shown as text before it."""

    revision: str
    run_id: str
    ok: bool
    stacks: dict[str, StackResult]
    plan: Plan | None = field(default=None, metadata=TEXT_ONLY)
    plan_dir: Path | None = field(default=None, metadata=TEXT_ONLY)

    @classmethod
    def of(cls, result: ApplyResult, plan: Plan | None = None, plan_dir: Path | None = None) -> ApplyReport:
        return cls(result.revision, result.run_id, result.ok, result.stacks, plan, plan_dir)


def configure(p: argparse.ArgumentParser) -> None:
    options.target(p)
    p.add_argument("--plan", metavar="FILE", help="the plan to execute (stale change sets are refused)")
    p.add_argument("--auto-approve", action="store_true", help="synthesize, plan and apply in one go")
    options.pipelines(p)
    p.add_argument("--no-synth", action="store_true", help="with --auto-approve: plan build/ as it is")
    options.planning(p)
    options.replacing(p)
    options.locking(p)
    p.set_defaults(func=run)


def apply_options(args: argparse.Namespace) -> ApplyOptions:
    from generator.deploy.apply import ApplyOptions

    return ApplyOptions(
        concurrency=args.concurrency,
        lock_timeout=args.lock_timeout,
        allow_replace=frozenset(args.allow_replace),
        template_bucket=args.template_bucket,
    )


def apply(args: argparse.Namespace, out: Output) -> ApplyReport:
    from generator.deploy.apply import apply_plan
    from generator.deploy.plan import read_plan

    if args.auto_approve == bool(args.plan):
        raise UserError("give either --plan plan.json (apply a reviewed plan) or --auto-approve (plan and apply)")
    if args.auto_approve and not args.no_synth:
        context.synth_builds(args, out)  # what `plan` would have planned: the files as they are now
    manifest = context.load_manifest(args)
    reviewed = None
    if args.plan:
        plan_path = Path(args.plan)
        if not plan_path.is_file():
            raise UserError(f"{plan_path}: no such plan file; run `pipectl plan` first")
        reviewed = read_plan(plan_path)
    with context.target(args, manifest) as aws:
        prepared = context.for_target(aws, manifest, out)
        context.local_bootstrap(aws, prepared.manifest, args, out)
        progress = context.progress(out, args)
        if reviewed is not None:
            return ApplyReport.of(apply_plan(aws, prepared.manifest, reviewed, progress, apply_options(args)))
        _, result = plan_then_apply(aws, prepared.manifest, args, out, progress)
    return ApplyReport.of(result)


def plan_then_apply(
    aws: Aws, manifest: Manifest, args: argparse.Namespace, out: Output, progress: Progress
) -> tuple[Plan, ApplyResult]:
    """`--auto-approve` and `up`: the plan is written and shown before the apply starts, not after it ends."""
    from generator.deploy.apply import apply_plan
    from generator.deploy.plan import make_plan, write_plan
    from generator.deploy.revision import resolve_revision

    opts = apply_options(args)
    revision = resolve_revision(args.revision)
    made = make_plan(aws, manifest, revision, progress, opts.concurrency, opts.template_bucket, env=args.env)
    plan_dir = Path(args.out)
    write_plan(made, manifest, plan_dir)
    render_plan(made, out, plan_dir)  # text output only: with --output json the document says it
    return made, apply_plan(aws, manifest, made, progress, opts)


def render(report: ApplyReport, out: Output) -> None:
    if report.plan is not None:
        render_plan(report.plan, out, report.plan_dir)
    render_stacks(report.stacks, out)


def render_stacks(stacks: dict[str, StackResult], out: Output) -> None:
    """The failed and skipped stacks, with the events that explain each failure, then the counts."""
    from generator.deploy.results import apply_summary

    for stack in stacks.values():
        if not stack.ok:
            out.line(f"  {stack.result:<7} {stack.name}: {short(stack.detail)}")
            for event in stack.events:
                out.line(f"           {event}")
    out.line(f"apply: {apply_summary(stacks.values())}")


def run(args: argparse.Namespace, out: Output) -> ExitCode:
    report = apply(args, out)
    out.result(report, render)
    return ExitCode.OK if report.ok else ExitCode.FINDINGS
