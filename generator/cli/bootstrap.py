"""`pipectl bootstrap`: create or update the control plane (bootstrap bucket, console, delivery stacks)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from generator.cli import context, options
from generator.cli.apply import render_stacks
from generator.cli.errors import ExitCode, UserError
from generator.cli.output import TEXT_ONLY, JsonValue, Output
from generator.cli.plan import render_plan
from generator.cli.status import StatusRow, rows
from generator.manifest_model import entry_data

if TYPE_CHECKING:
    from generator.deploy.results import Plan, StackResult
    from generator.policy.lint import LintFinding
    from generator.stacks.bootstrap import BootstrapBuild


@dataclass
class BootstrapFindings:
    """The control-plane templates did not pass lint: nothing was deployed."""

    findings: list[LintFinding]
    directory: Path = field(metadata=TEXT_ONLY)


@dataclass
class BootstrapDryRun:
    """--dry-run: the templates written under BUILD_DIR/bootstrap/ (the bucket stack's shown, not listed)."""

    build_dir: str
    stacks: list[dict[str, JsonValue]]
    written: list[tuple[str, Path]] = field(default_factory=list, metadata=TEXT_ONLY)


@dataclass
class BootstrapReport:
    """What was deployed, and the control plane's outputs (the console URL, the execution role) once it is."""

    ok: bool
    stacks: dict[str, StackResult]
    outputs: list[StatusRow]
    plan: Plan = field(metadata=TEXT_ONLY)
    plan_dir: Path = field(metadata=TEXT_ONLY)


BootstrapResult = BootstrapFindings | BootstrapDryRun | BootstrapReport


def configure(p: argparse.ArgumentParser) -> None:
    options.target(p)
    options.pipelines(p)
    p.add_argument("--codecommit", metavar="NAME", help="create a CodeCommit repository NAME as the source")
    p.add_argument("--connection-arn", metavar="ARN", help="a CodeStar connection to GitHub, GitLab or Bitbucket")
    p.add_argument("--repository", metavar="OWNER/NAME", help="the repository behind --connection-arn")
    p.add_argument("--branch", default="main", help="the branch a push to which is delivered (default: main)")
    p.add_argument(
        "--schedule",
        default="cron(0 3 * * ? *)",
        help="when the nightly test run starts, an EventBridge Scheduler expression in UTC "
        "(default: cron(0 3 * * ? *), 03:00 UTC daily)",
    )
    p.add_argument(
        "--approvers",
        nargs="+",
        default=[],
        metavar="EMAIL",
        help="who is e-mailed to approve plans (required, or --no-approvers)",
    )
    p.add_argument(
        "--no-approvers",
        action="store_true",
        help="nobody is e-mailed: plans wait in the console's Approve stage until someone with access approves",
    )
    p.add_argument("--auth", choices=("cognito", "oidc"), help="console sign-in (default: _console.yaml's)")
    p.add_argument("--issuer", metavar="URL", help="OpenID Connect issuer, with --auth oidc")
    p.add_argument("--client-id", metavar="ID", help="OpenID Connect client id, with --auth oidc")
    p.add_argument("--dry-run", action="store_true", help="only write the templates under BUILD_DIR/bootstrap/")
    options.revision(p)
    options.template_bucket(p)
    options.locking(p)
    p.set_defaults(func=run)


def synthesize(args: argparse.Namespace) -> BootstrapBuild:
    from generator.stacks.bootstrap import BootstrapInputError, BootstrapRequest, synthesize_bootstrap

    request = BootstrapRequest(
        codecommit=args.codecommit,
        connection_arn=args.connection_arn,
        repository=args.repository,
        branch=args.branch,
        schedule=args.schedule,
        approvers=tuple(args.approvers),
        no_approvers=args.no_approvers,
        auth=args.auth,
        issuer=args.issuer,
        client_id=args.client_id,
    )
    try:
        return synthesize_bootstrap(Path(args.pipelines), Path(args.build_dir), request)
    except BootstrapInputError as exc:
        raise UserError(str(exc)) from None


def bootstrap(args: argparse.Namespace, out: Output) -> BootstrapResult:
    from generator.deploy.apply import ApplyOptions
    from generator.deploy.bootstrap import deploy_bootstrap
    from generator.deploy.manifest import load_manifest
    from generator.deploy.revision import resolve_revision
    from generator.policy.lint import LintJob, lint_templates

    built = synthesize(args)
    for note in built.notes:
        out.line(note)
    jobs = [LintJob(b.entry.template, b.entry.region) for b in built.builds]
    jobs.insert(0, LintJob(built.bucket.entry.template, built.bucket.entry.regions[0]))
    findings = lint_templates(built.directory, jobs)
    if findings:
        return BootstrapFindings(findings, built.directory)
    if args.dry_run:
        entries = (built.bucket.entry, *(b.entry for b in built.builds))
        written = [(entry.name, built.directory / entry.template) for entry in entries]
        return BootstrapDryRun(str(built.directory), [entry_data(b.entry) for b in built.builds], written)
    manifest = load_manifest(built.directory)
    opts = ApplyOptions(lock_timeout=args.lock_timeout, template_bucket=args.template_bucket)
    with context.target(args, manifest) as aws:
        out.line(f"target: {aws.target.describe()}")
        revision = resolve_revision(args.revision)
        plan, result = deploy_bootstrap(aws, manifest, revision, context.progress(out, args), opts)
        outputs = rows(aws, manifest) if result.ok else []
    return BootstrapReport(result.ok, result.stacks, outputs, plan, built.directory)


def render(result: BootstrapResult, out: Output) -> None:
    if isinstance(result, BootstrapFindings):
        for finding in result.findings:
            out.line(f"{result.directory}/{finding}")
    elif isinstance(result, BootstrapDryRun):
        for name, template in result.written:
            out.line(f"  {name:<20} {template}")
        out.line(f"wrote {result.build_dir}/ (lint: no findings); nothing was deployed (--dry-run)")
    else:
        render_plan(result.plan, out, result.plan_dir)
        render_stacks(result.stacks, out)
        for stack in result.outputs:
            for key, value in sorted(stack.outputs.items()):
                out.line(f"  {stack.stack}: {key} = {value}")


def run(args: argparse.Namespace, out: Output) -> ExitCode:
    result = bootstrap(args, out)
    out.result(result, render)
    if isinstance(result, BootstrapFindings):
        out.error(f"{len(result.findings)} finding(s) in the control-plane templates: nothing was deployed")
        return ExitCode.FINDINGS
    if isinstance(result, BootstrapReport) and not result.ok:
        return ExitCode.FINDINGS
    return ExitCode.OK
