"""`pipectl validate`: pipeline files, synth, then cfn-lint and the project rules on every template."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from generator.cli import context, options
from generator.cli.errors import ExitCode
from generator.cli.output import TEXT_ONLY, Output

if TYPE_CHECKING:
    from generator.policy.lint import LintFinding


@dataclass
class ValidateResult:
    templates: int
    findings: list[LintFinding] = field(default_factory=list)
    build_dir: str = field(default="build", metadata=TEXT_ONLY)

    @property
    def ok(self) -> bool:
        return not self.findings


def configure(p: argparse.ArgumentParser) -> None:
    options.source(p)
    options.jobs(p, "synth and lint")
    p.add_argument(
        "--no-cache",
        action="store_true",
        help="rebuild and re-lint everything, ignoring build/.synth-cache and build/.lint-cache (same result)",
    )
    p.set_defaults(func=run)


def validate(args: argparse.Namespace, out: Output) -> ValidateResult:
    from generator.policy.lint import LintJob, LintService, lint_templates

    notes: list[str] = []
    use_cache = not getattr(args, "no_cache", False)
    with LintService() as service:  # cfn-lint's rules load in another process while synth runs
        builds = context.synth_builds(args, out)
        jobs = [LintJob(b.entry.template, b.entry.region) for b in builds]
        if builds:
            from generator.stacks.synth import BOOTSTRAP_TEMPLATE

            jobs.append(LintJob(BOOTSTRAP_TEMPLATE, builds[0].entry.region))
        findings = lint_templates(Path(args.build_dir), jobs, args.jobs, use_cache, notes, service)
    for note in notes:
        out.note(note)
    return ValidateResult(len(jobs), findings, args.build_dir)


def render(result: ValidateResult, out: Output) -> None:
    for finding in result.findings:
        out.line(f"{result.build_dir}/{finding}")
    verdict = "no findings" if result.ok else f"{len(result.findings)} finding(s)"
    out.line(f"validated {result.templates} templates with cfn-lint and the project rules: {verdict}")


def run(args: argparse.Namespace, out: Output) -> ExitCode:
    result = validate(args, out)
    out.result(result, render)
    return ExitCode.OK if result.ok else ExitCode.FINDINGS
