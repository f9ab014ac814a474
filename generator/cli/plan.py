"""`pipectl plan`: synthesize, create change sets for the stacks that changed, write plan.json and plan.md."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from generator.cli import context, options
from generator.cli.errors import ExitCode
from generator.cli.output import FLATTEN, TEXT_ONLY, Output

if TYPE_CHECKING:
    from generator.deploy.results import Plan


@dataclass
class PlanResult:
    """The plan as plan.json holds it, plus what the run did around it: in JSON, the plan's keys and these."""

    plan: Plan = field(metadata=FLATTEN)
    local_stand_ins: list[str] = field(default_factory=list)
    uploaded: list[str] = field(default_factory=list)
    plan_dir: Path = field(default=Path("."), metadata=TEXT_ONLY)

    @property
    def ok(self) -> bool:
        from generator.deploy.changes import PlanAction

        return not self.plan.count(PlanAction.ERROR)


def configure(p: argparse.ArgumentParser) -> None:
    options.target(p)
    options.pipelines(p)
    p.add_argument("--no-synth", action="store_true", help="plan build/ as it is (a CI artifact)")
    options.planning(p)
    p.set_defaults(func=run)


def plan(args: argparse.Namespace, out: Output) -> PlanResult:
    from generator.deploy.plan import make_plan, write_plan
    from generator.deploy.revision import resolve_revision
    from generator.deploy.uploads import uploaded

    if not args.no_synth:
        context.synth_builds(args, out)
    manifest = context.load_manifest(args)
    # On the local target the background server keeps running, as `up` leaves it: the change sets
    # this plan makes must still be there when `apply --plan` executes them.
    with context.target(args, manifest, keep_running=True) as aws:
        prepared = context.for_target(aws, manifest, out, announce=True)
        context.local_bootstrap(aws, prepared.manifest, args, out)
        made = make_plan(
            aws,
            prepared.manifest,
            resolve_revision(args.revision),
            context.progress(out, args),
            args.concurrency,
            template_bucket=args.template_bucket,
            env=args.env,
        )
        sent = uploaded(aws)
    plan_dir = Path(args.out)
    write_plan(made, prepared.manifest, plan_dir)
    return PlanResult(made, [str(s) for s in prepared.stand_ins], sent, plan_dir)


def render(result: PlanResult, out: Output) -> None:
    if result.uploaded:
        out.line(f"uploaded {len(result.uploaded)} object(s) the change sets read: {', '.join(result.uploaded)}")
    render_plan(result.plan, out, result.plan_dir)


def render_plan(plan: Plan, out: Output, plan_dir: Path | None) -> None:
    """One line per stack with something to do, the summary, and where the plan files went."""
    from generator.deploy.changes import PlanAction

    for stack in plan.stacks:
        if stack.action.deferred:
            out.line(
                f"  {stack.action.base:<7} {stack.name} (after {', '.join(stack.after)}; "
                f"{len(stack.changes)} resources listed from the template; change set created at apply time)"
            )
        elif stack.action != PlanAction.NONE:
            extra = f" ({len(stack.changes)} resource changes)" if stack.changes else ""
            out.line(f"  {stack.action:<7} {stack.name}{extra}")
    out.line(f"plan: {plan.summary()}")
    if plan_dir is not None:
        out.line(f"wrote {plan_dir / 'plan.json'} and {plan_dir / 'plan.md'}")


def run(args: argparse.Namespace, out: Output) -> ExitCode:
    result = plan(args, out)
    out.result(result, render)
    return ExitCode.OK if result.ok else ExitCode.FINDINGS
