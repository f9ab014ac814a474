"""The `pipectl` command: argument parsing and output only; the work happens in spec/stacks/policy/deploy.

Exit codes: 0 success; 1 findings or a failed deployment; 2 invalid input (a pipeline file, a flag,
a plan file); 3 the environment is not usable (no credentials, endpoint unreachable, lock held, no writable
template bucket);
130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_FINDINGS, EXIT_INPUT, EXIT_ENV, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


class UserError(Exception):
    """A mistake the user can fix; printed as one line, exit code 2."""


class Output:
    """Where pipectl speaks: colour only on a terminal without NO_COLOR, plain lines elsewhere."""

    def __init__(self, fmt: str = "text") -> None:
        self.format = fmt
        self.interactive = sys.stdout.isatty() and "NO_COLOR" not in os.environ and not os.environ.get("CI")

    @cached_property
    def out(self) -> Any:
        """rich is imported on first use: `pipectl --help` and `pipectl schema` never load it."""
        from rich.console import Console

        interactive = self.interactive
        return Console(highlight=False, no_color=not interactive, force_terminal=interactive or None, soft_wrap=True)

    @cached_property
    def err(self) -> Any:
        from rich.console import Console

        return Console(stderr=True, highlight=False, no_color=not self.interactive, soft_wrap=True)

    def line(self, text: str = "", style: str | None = None) -> None:
        if self.format == "json":
            return
        self.out.print(text, style=style, markup=False)

    def error(self, text: str) -> None:
        self.err.print(text, style="red", markup=False)

    def json(self, data: Any) -> None:
        import json

        sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def _add_source_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--pipelines",
        "-p",
        default="pipelines.d",
        metavar="DIR",
        help="directory of pipeline files (default: pipelines.d)",
    )
    parser.add_argument("--build-dir", default="build", metavar="DIR", help="where synth writes (default: build)")


def _load(args: argparse.Namespace) -> Any:
    from generator.spec.loader import load_directory

    return load_directory(Path(args.pipelines), args.pipelines.rstrip("/"))


def cmd_schema(args: argparse.Namespace, out: Output) -> int:
    if args.write:
        from generator.spec.schema import schema_text

        Path(args.write).write_text(schema_text())
        out.line(f"wrote {args.write}")
        return EXIT_OK
    # The committed schema is the models' export (a test keeps them equal): printing it skips pydantic.
    shipped = Path(__file__).resolve().parent / "spec" / "pipeline.schema.json"
    if shipped.is_file():
        sys.stdout.write(shipped.read_text(encoding="utf-8"))
    else:
        from generator.spec.schema import schema_text

        sys.stdout.write(schema_text())
    return EXIT_OK


def _synth(args: argparse.Namespace, out: Output) -> list[Any]:
    installation = _load(args)
    from generator.stacks.cache import CacheReport
    from generator.stacks.synth import synthesize

    report = CacheReport()
    use_cache = not getattr(args, "no_cache", False)
    builds = synthesize(installation, Path(args.build_dir), use_cache, getattr(args, "jobs", None), report)
    for note in report.notes:
        out.error(f"pipectl: note: {note}")
    return builds


def cmd_synth(args: argparse.Namespace, out: Output) -> int:
    builds = _synth(args, out)
    if out.format == "json":
        out.json({"build_dir": args.build_dir, "stacks": [b.entry.model_dump(mode="json") for b in builds]})
        return EXIT_OK
    pipelines = {b.entry.pipeline for b in builds if b.entry.pipeline}
    out.line(f"synthesized {len(builds)} stacks for {len(pipelines)} pipelines into {args.build_dir}/")
    for build in builds:
        out.line(f"  {build.entry.name:<48} {args.build_dir}/{build.entry.template}")
    return EXIT_OK


def cmd_validate(args: argparse.Namespace, out: Output) -> int:
    from generator.policy.lint import LintJob, LintService, lint_templates

    notes: list[str] = []
    use_cache = not getattr(args, "no_cache", False)
    with LintService() as service:  # cfn-lint's rules load in another process while synth runs
        builds = _synth(args, out)
        jobs = [LintJob(b.entry.template, b.entry.region) for b in builds]
        if builds:
            from generator.stacks.synth import BOOTSTRAP_TEMPLATE

            jobs.append(LintJob(BOOTSTRAP_TEMPLATE, builds[0].entry.region))
        findings = lint_templates(Path(args.build_dir), jobs, args.jobs, use_cache, notes, service)
    for note in notes:
        out.error(f"pipectl: note: {note}")
    if out.format == "json":
        out.json({"templates": len(jobs), "findings": [f.__dict__ for f in findings]})
    else:
        for finding in findings:
            out.line(f"{args.build_dir}/{finding}")
        verdict = "no findings" if not findings else f"{len(findings)} finding(s)"
        out.line(f"validated {len(jobs)} templates with cfn-lint and the project rules: {verdict}")
    return EXIT_FINDINGS if findings else EXIT_OK


def _manifest(args: argparse.Namespace) -> Any:
    from generator.deploy.manifest import load_manifest

    return load_manifest(Path(args.build_dir))


def _region(args: argparse.Namespace, manifest: Any) -> str:
    if args.region:
        return str(args.region)
    if manifest.console is not None:
        return str(manifest.console.region)
    fallback = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if fallback:
        return fallback
    raise UserError("no region: pass --region, or synthesize a console stack")


def _target(args: argparse.Namespace, manifest: Any, keep_running: bool = False) -> Any:
    from generator.deploy.targets import open_target

    return open_target(
        args.target,
        _region(args, manifest),
        args.profile,
        Path.cwd(),
        keep_running=keep_running,
        role_arn=getattr(args, "role_arn", None),
    )


def _for_target(aws: Any, manifest: Any, out: Output, announce: bool = False) -> tuple[Any, list[str]]:
    """On the local target: refuse what it cannot create, and stand in for what belongs to a real account."""
    if not aws.target.is_local:
        return manifest, []
    from generator.deploy.targets import check_materialisable, stand_in_networks

    check_materialisable(manifest)
    manifest, notes = stand_in_networks(aws, manifest)
    if announce and notes:
        names = sorted({note.split(": ", 1)[1].split(" ", 1)[0] for note in notes})
        out.line(
            f"local target: {len(notes)} values that belong to a real account are stood in by local ones "
            f"({', '.join(names)}); `pipectl plan --output json` lists each"
        )
    return manifest, notes


def _progress(out: Output, args: argparse.Namespace | None = None) -> Any:
    from generator.deploy.progress import NullProgress, make_progress

    if args is not None and getattr(args, "log_format", "text") == "json":
        return make_progress(sys.stderr, log_format="json")
    return NullProgress() if out.format == "json" else make_progress(sys.stderr)


def _print_plan(plan: Any, out: Output, plan_dir: Path | None) -> None:
    if out.format == "json":
        return
    for stack in plan.stacks:
        if stack.action.deferred:
            out.line(
                f"  {stack.action.base:<7} {stack.name} (after {', '.join(stack.after)}; "
                f"{len(stack.changes)} resources listed from the template; change set created at apply time)"
            )
        elif stack.action != "none":
            extra = f" ({len(stack.changes)} resource changes)" if stack.changes else ""
            out.line(f"  {stack.action:<7} {stack.name}{extra}")
    out.line(f"plan: {plan.summary()}")
    if plan_dir is not None:
        out.line(f"wrote {plan_dir / 'plan.json'} and {plan_dir / 'plan.md'}")


def _short(text: str, limit: int = 400) -> str:
    """AWS error messages can list every availability zone; keep the part a person reads."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _print_apply(result: Any, out: Output) -> None:
    if out.format == "json":
        return
    for stack in result.stacks.values():
        if stack.result in ("failed", "skipped"):
            out.line(f"  {stack.result:<7} {stack.name}: {_short(stack.detail)}")
            for event in stack.events:
                out.line(f"           {event}")
    out.line(f"apply: {result.summary()}")


def cmd_plan(args: argparse.Namespace, out: Output) -> int:
    from generator.deploy.plan import make_plan, write_plan
    from generator.deploy.revision import resolve_revision
    from generator.deploy.uploads import uploaded

    if not args.no_synth:
        _synth(args, out)
    manifest = _manifest(args)
    with _target(args, manifest) as aws:
        manifest, stand_ins = _for_target(aws, manifest, out, announce=True)
        _local_bootstrap(aws, manifest, args, out)
        plan = make_plan(
            aws,
            manifest,
            resolve_revision(args.revision),
            _progress(out, args),
            args.concurrency,
            template_bucket=args.template_bucket,
            env=args.env,
        )
        sent = uploaded(aws)
    plan_dir = Path(args.out)
    plan_dir.mkdir(parents=True, exist_ok=True)
    write_plan(plan, manifest, plan_dir)
    if out.format == "json":
        import json

        out.json({**json.loads(plan.to_json()), "local_stand_ins": stand_ins, "uploaded": sent})
    if sent:
        out.line(f"uploaded {len(sent)} object(s) the change sets read: {', '.join(sent)}")
    _print_plan(plan, out, plan_dir)
    return EXIT_FINDINGS if plan.count("error") else EXIT_OK


def cmd_apply(args: argparse.Namespace, out: Output) -> int:
    from generator.deploy.apply import ApplyOptions, apply_now, apply_plan
    from generator.deploy.plan import read_plan
    from generator.deploy.revision import resolve_revision

    if args.auto_approve == bool(args.plan):
        raise UserError("give either --plan plan.json (apply a reviewed plan) or --auto-approve (plan and apply)")
    manifest = _manifest(args)
    options = ApplyOptions(
        concurrency=args.concurrency,
        lock_timeout=args.lock_timeout,
        allow_replace=frozenset(args.allow_replace),
        template_bucket=args.template_bucket,
    )
    reviewed = None
    if args.plan:
        plan_path = Path(args.plan)
        if not plan_path.is_file():
            raise UserError(f"{plan_path}: no such plan file; run `pipectl plan` first")
        reviewed = read_plan(plan_path)
    with _target(args, manifest) as aws:
        manifest, _ = _for_target(aws, manifest, out)
        _local_bootstrap(aws, manifest, args, out)
        if args.auto_approve:
            plan, result = apply_now(
                aws,
                manifest,
                resolve_revision(args.revision),
                _progress(out, args),
                options,
                plan_dir=Path(args.out),
                env=args.env,
            )
            _print_plan(plan, out, Path(args.out))
        else:
            assert reviewed is not None
            result = apply_plan(aws, manifest, reviewed, _progress(out, args), options)
    if out.format == "json":
        out.json(
            {
                "revision": result.revision,
                "run_id": result.run_id,
                "ok": result.ok,
                "stacks": {name: r.__dict__ for name, r in result.stacks.items()},
            }
        )
    _print_apply(result, out)
    return EXIT_OK if result.ok else EXIT_FINDINGS


def _status_rows(stacks: list[Any]) -> list[dict[str, Any]]:
    return [
        {
            "stack": s.name,
            "pipeline": s.pipeline,
            "env": s.env,
            "kind": s.kind,
            "status": s.status,
            "in_sync": s.in_sync,
            "last_updated": s.last_updated,
            "orphan": s.orphan,
            "outputs": s.outputs,
        }
        for s in stacks
    ]


def _print_status(stacks: list[Any], out: Output) -> None:
    if out.format == "json":
        out.json(_status_rows(stacks))
        return
    rows = [("stack", "status", "in sync", "endpoint / API / dashboard")]
    for s in stacks:
        sync = "orphan" if s.orphan else "yes" if s.in_sync else "no"
        keys = ("CollectorEndpoint", "GraphQLUrl", "DashboardName")
        rows.append((s.name, s.status, sync, "  ".join(s.headline[k] for k in keys if k in s.headline)))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for index, row in enumerate(rows):
        text = "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[3]
        out.line(text.rstrip(), style="bold" if index == 0 else None)


def cmd_status(args: argparse.Namespace, out: Output) -> int:
    from generator.deploy.status import status

    manifest = _manifest(args)
    with _target(args, manifest) as aws:
        stacks = status(aws, manifest, args.pipeline)
    _print_status(stacks, out)
    return EXIT_OK


def cmd_drift(args: argparse.Namespace, out: Output) -> int:
    from generator.deploy.drift import drift

    manifest = _manifest(args)
    with _target(args, manifest) as aws:
        results = drift(aws, manifest, args.pipeline)
    if out.format == "json":
        out.json([r.__dict__ for r in results])
    else:
        for r in results:
            out.line(f"{r.name:<48} {r.status:<14} {r.detail}".rstrip())
    return EXIT_FINDINGS if any(r.status == "DRIFTED" for r in results) else EXIT_OK


def _print_removal(result: Any, out: Output) -> None:
    if out.format == "json":
        out.json({"executed": result.executed, "ok": result.ok, "stacks": [r.__dict__ for r in result.stacks]})
        return
    for r in result.stacks:
        kept = f"; keeps {', '.join(r.retained)}" if r.retained else ""
        lost = f"; DELETES DATA {', '.join(r.data_deleted)}" if r.data_deleted else ""
        out.line(f"  {r.result:<8} {r.name}{kept}{lost}{(': ' + r.detail) if r.detail else ''}")
    if not result.stacks:
        out.line("nothing to remove")
    elif result.held:
        refused = sum(1 for r in result.stacks if r.result == "refused")
        out.line(
            f"nothing was deleted: {refused} of {len(result.stacks)} stacks refused; all of them go or none do. "
            f"To delete them, run again with --yes {' '.join(result.needs)}"
        )
    elif not result.executed:
        out.line("nothing was deleted: run again with --yes to delete these stacks (retained data stays)")


def _removal_options(args: argparse.Namespace) -> Any:
    from generator.deploy.teardown import RemovalOptions

    return RemovalOptions(
        yes=args.yes,
        delete_data=args.delete_data,
        disable_protection=args.disable_protection,
        lock_timeout=args.lock_timeout,
    )


def cmd_prune(args: argparse.Namespace, out: Output) -> int:
    from generator.deploy.prune import prune

    # What is gone is what pipelines.d no longer holds, not what an older build/ says.
    _synth(args, out)
    manifest = _manifest(args)
    with _target(args, manifest) as aws:
        result = prune(aws, manifest, _removal_options(args), _progress(out, args))
    _print_removal(result, out)
    return EXIT_FINDINGS if result.held or (result.executed and not result.ok) else EXIT_OK


def cmd_destroy(args: argparse.Namespace, out: Output) -> int:
    from generator.deploy.destroy import destroy

    manifest = _manifest(args)
    with _target(args, manifest) as aws:
        result = destroy(aws, manifest, args.pipeline, args.env, _removal_options(args), _progress(out, args))
    _print_removal(result, out)
    return EXIT_FINDINGS if result.held or (result.executed and not result.ok) else EXIT_OK


def cmd_local(args: argparse.Namespace, out: Output) -> int:
    from generator.deploy.local import background_status, start_background, stop_background

    workdir = Path.cwd()
    running = background_status(workdir)
    if args.action == "start":
        endpoint = running["endpoint"] if running else start_background(workdir, args.resource_delay)
        info = {"running": True, "endpoint": endpoint, "already_running": bool(running)}
    elif args.action == "stop":
        info = {"running": False, "stopped": stop_background(workdir)}
    else:
        info = {"running": bool(running), **(running or {})}
    if out.format == "json":
        out.json(info)
    elif args.action == "start":
        out.line(
            f"local AWS {'already running' if running else 'started'} at {info['endpoint']} "
            f"(AWS_ENDPOINT_URL={info['endpoint']}; credentials: any)"
        )
    elif args.action == "stop":
        out.line("local AWS stopped" if info["stopped"] else "local AWS was not running")
    else:
        out.line(
            f"local AWS running at {info['endpoint']} (pid {info['pid']})" if running else "local AWS is not running"
        )
    return EXIT_OK


def _local_bootstrap(aws: Any, manifest: Any, args: argparse.Namespace, out: Output) -> None:
    """On the local target, plan, apply and up work on a fresh machine: the bootstrap stack is created when absent."""
    if not aws.target.is_local or args.template_bucket:
        return
    from generator.deploy.bootstrap import ensure_bootstrap
    from generator.deploy.revision import resolve_revision

    created = ensure_bootstrap(aws, manifest, resolve_revision(args.revision), _progress(out, args), only_absent=True)
    if created:
        out.line(
            f"local target: created the {manifest.bootstrap.name} stack (template and asset bucket) in "
            f"{', '.join(created)}; on AWS, `pipectl bootstrap` creates it"
        )


def cmd_up(args: argparse.Namespace, out: Output) -> int:
    from generator.deploy.apply import ApplyOptions, apply_now
    from generator.deploy.revision import resolve_revision
    from generator.deploy.status import status

    if cmd_validate(args, Output("json") if out.format == "json" else out) != EXIT_OK:
        out.error("validation found problems: nothing was deployed")
        return EXIT_FINDINGS
    manifest = _manifest(args)
    with _target(args, manifest, keep_running=True) as aws:
        out.line(f"target: {aws.target.describe()}")
        manifest, _ = _for_target(aws, manifest, out, announce=True)
        _local_bootstrap(aws, manifest, args, out)
        options = ApplyOptions(
            concurrency=args.concurrency,
            lock_timeout=args.lock_timeout,
            allow_replace=frozenset(args.allow_replace),
            template_bucket=args.template_bucket,
        )
        plan, result = apply_now(
            aws,
            manifest,
            resolve_revision(args.revision),
            _progress(out, args),
            options,
            plan_dir=Path(args.out),
            env=args.env,
        )
        if not plan.has_changes:
            out.line(f"no changes: all {plan.count('none')} stacks are up to date")
        else:
            _print_plan(plan, out, Path(args.out))
            _print_apply(result, out)
        stacks = status(aws, manifest)
    headline = [s for s in stacks if s.kind in ("ingestion", "monitoring", "console")]
    _print_status(headline, out)
    return EXIT_OK if result.ok else EXIT_FINDINGS


def cmd_bootstrap(args: argparse.Namespace, out: Output) -> int:
    from generator.deploy.apply import ApplyOptions
    from generator.deploy.bootstrap import deploy_bootstrap
    from generator.deploy.manifest import load_manifest
    from generator.deploy.revision import resolve_revision
    from generator.deploy.status import status
    from generator.policy.lint import LintJob, lint_templates
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
        built = synthesize_bootstrap(Path(args.pipelines), Path(args.build_dir), request)
    except BootstrapInputError as exc:
        raise UserError(str(exc)) from None
    for note in built.notes:
        out.line(note)
    jobs = [LintJob(b.entry.template, b.entry.region) for b in built.builds]
    jobs.insert(0, LintJob(built.bucket.entry.template, built.bucket.entry.regions[0]))
    findings = lint_templates(built.directory, jobs)
    for finding in findings:
        out.line(f"{built.directory}/{finding}")
    if findings:
        out.error(f"{len(findings)} finding(s) in the control-plane templates: nothing was deployed")
        return EXIT_FINDINGS
    if args.dry_run:
        if out.format == "json":
            out.json(
                {"build_dir": str(built.directory), "stacks": [b.entry.model_dump(mode="json") for b in built.builds]}
            )
        for entry in (built.bucket.entry, *(b.entry for b in built.builds)):
            out.line(f"  {entry.name:<20} {built.directory / entry.template}")
        out.line(f"wrote {built.directory}/ (lint: no findings); nothing was deployed (--dry-run)")
        return EXIT_OK
    manifest = load_manifest(built.directory)
    options = ApplyOptions(lock_timeout=args.lock_timeout, template_bucket=args.template_bucket)
    with _target(args, manifest) as aws:
        out.line(f"target: {aws.target.describe()}")
        plan, result = deploy_bootstrap(aws, manifest, resolve_revision(args.revision), _progress(out, args), options)
        _print_plan(plan, out, built.directory)
        _print_apply(result, out)
        stacks = status(aws, manifest) if result.ok else []
    if out.format == "json":
        out.json(
            {
                "ok": result.ok,
                "stacks": {n: r.__dict__ for n, r in result.stacks.items()},
                "outputs": _status_rows(stacks),
            }
        )
    for stack in stacks:
        for key, value in sorted(stack.outputs.items()):
            out.line(f"  {stack.name}: {key} = {value}")
    return EXIT_OK if result.ok else EXIT_FINDINGS


def cmd_smoke(args: argparse.Namespace, out: Output) -> int:
    from generator.deploy.smoke import SmokeOptions, smoke

    manifest = _manifest(args)
    with _target(args, manifest) as aws:
        result = smoke(aws, manifest, args.pipeline, args.env, SmokeOptions(execution_timeout=args.timeout))
    if out.format == "json":
        out.json({"ok": result.ok, "checks": [c.__dict__ for c in result.checks]})
    for check in result.checks:
        out.line(f"  {check.result:<7} {check.pipeline}/{check.env} {check.name}: {check.detail}")
    out.line(f"smoke: {result.summary()}" if result.checks else "smoke: no deployed pipeline to check")
    return EXIT_OK if result.ok else EXIT_FINDINGS


def _add_deploy_commands(sub: Any) -> None:
    def deploy_parser(name: str, help_text: str) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = sub.add_parser(name, help=help_text, description=help_text)
        _add_target_options(p)
        return p

    def planning(p: argparse.ArgumentParser) -> None:
        p.add_argument("--revision", help="names the change sets and tags the stacks (default: the git commit)")
        p.add_argument(
            "--env", metavar="ENV", help="plan only this environment (and the console), e.g. the nightly run's test"
        )
        p.add_argument("--concurrency", type=int, default=4, help="stacks worked on at once (default: 4)")
        p.add_argument("--out", default=".", metavar="DIR", help="where plan.json and plan.md go (default: .)")
        template_bucket(p)

    def template_bucket(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--template-bucket",
            metavar="NAME",
            default=os.environ.get("PIPECTL_TEMPLATE_BUCKET") or None,
            help="S3 bucket (in each stack's region) for templates over 51,200 bytes and Lambda code assets "
            "(default: PIPECTL_TEMPLATE_BUCKET, else the pipectl-bootstrap stack's bucket in that region)",
        )

    def replacing(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--allow-replace",
            action="append",
            default=[],
            metavar="LOGICAL_ID",
            help="allow this run to replace or delete this stateful resource (repeatable); "
            "without it such a plan is refused",
        )

    def locking(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--lock-timeout",
            type=float,
            default=600.0,
            metavar="SECONDS",
            help="how long to wait for another run's lock (default: 600)",
        )

    p = deploy_parser("plan", "synthesize, then create change sets for the stacks that changed; write plan.json/.md")
    p.add_argument(
        "--pipelines", "-p", default="pipelines.d", metavar="DIR", help="pipeline files (default: pipelines.d)"
    )
    p.add_argument("--no-synth", action="store_true", help="plan build/ as it is (a CI artifact)")
    planning(p)
    p.set_defaults(func=cmd_plan)

    p = deploy_parser("apply", "execute a reviewed plan's change sets along the dependency graph")
    p.add_argument("--plan", metavar="FILE", help="the plan to execute (stale change sets are refused)")
    p.add_argument("--auto-approve", action="store_true", help="plan and apply in one go")
    planning(p)
    replacing(p)
    locking(p)
    p.set_defaults(func=cmd_apply)

    p = deploy_parser("up", "validate, plan, apply and show status (starts the local AWS when --target local)")
    p.add_argument(
        "--pipelines", "-p", default="pipelines.d", metavar="DIR", help="pipeline files (default: pipelines.d)"
    )
    p.add_argument("--jobs", "-j", type=int, default=None, help="parallel lint workers (default: CPU count)")
    planning(p)
    replacing(p)
    locking(p)
    p.set_defaults(func=cmd_up)

    p = deploy_parser("status", "what is deployed, in sync or not, with endpoints and dashboards")
    p.add_argument("pipeline", nargs="?", help="only this pipeline")
    p.set_defaults(func=cmd_status)

    p = deploy_parser("drift", "compare deployed stacks with their templates (CloudFormation drift detection)")
    p.add_argument("pipeline", nargs="?", help="only this pipeline")
    p.set_defaults(func=cmd_drift)

    for name, help_text in (
        ("prune", "list (and with --yes delete) stacks of pipelines whose file is gone; retained data stays"),
        ("destroy", "list (and with --yes delete) the stacks of one pipeline; retained data stays"),
    ):
        p = deploy_parser(name, help_text)
        if name == "prune":
            p.add_argument(
                "--pipelines",
                "-p",
                default="pipelines.d",
                metavar="DIR",
                help="pipeline files; stacks of pipelines not in it are pruned (default: pipelines.d)",
            )
        if name == "destroy":
            p.add_argument("pipeline", help="the pipeline to destroy")
            p.add_argument("--env", help="only this environment")
        p.add_argument("--yes", action="store_true", help="really delete (default: only list)")
        p.add_argument(
            "--delete-data",
            action="store_true",
            help="also allow deleting stacks whose data is not retained (deletion: delete)",
        )
        p.add_argument("--disable-protection", action="store_true", help="turn termination protection off first")
        locking(p)
        p.set_defaults(func=cmd_prune if name == "prune" else cmd_destroy)

    p = deploy_parser(
        "bootstrap",
        "create or update the control plane: the pipectl-bootstrap (template and asset bucket, per region), "
        "pipectl-console and pipectl-delivery (CodePipeline) stacks",
    )
    p.add_argument(
        "--pipelines", "-p", default="pipelines.d", metavar="DIR", help="pipeline files (default: pipelines.d)"
    )
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
    p.add_argument("--revision", help="names the change sets and tags the stacks (default: the git commit)")
    template_bucket(p)
    locking(p)
    p.set_defaults(func=cmd_bootstrap)

    p = deploy_parser("smoke", "check deployed pipelines: collector answers, state machine runs, dashboard exists")
    p.add_argument("pipeline", nargs="?", help="only this pipeline")
    p.add_argument("--env", help="only this environment (the nightly run checks test)")
    p.add_argument(
        "--timeout", type=float, default=900.0, metavar="SECONDS", help="how long a state machine may run (default 900)"
    )
    p.set_defaults(func=cmd_smoke)

    p = sub.add_parser(
        "local",
        help="the embedded local AWS: start, status, stop",
        description="Run the embedded local AWS (moto's server on a loopback port) in the background.",
    )
    p.add_argument("action", choices=("start", "status", "stop"))
    p.add_argument(
        "--resource-delay",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="simulate provisioning time per resource (for benchmarks and kill tests; default 0)",
    )
    p.set_defaults(func=cmd_local)


ROLE_ARN = r"^arn:aws(-cn|-us-gov)?:iam::\d{12}:role/[\w+=,.@/-]{1,512}$"


def _role_arn(value: str) -> str:
    """Checked before anything is written or deployed: CloudFormation would refuse it only at deploy time."""
    import re

    if not re.match(ROLE_ARN, value):
        raise argparse.ArgumentTypeError(f"expected arn:aws:iam::ACCOUNT:role/NAME, found {value!r}")
    return value


def _add_target_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--target",
        "-t",
        choices=("local", "aws"),
        default=os.environ.get("PIPECTL_TARGET", "local"),
        help="local: the embedded AWS (default; no account needed); aws: the standard credential "
        "chain, with AWS_ENDPOINT_URL honoured. Default from PIPECTL_TARGET",
    )
    parser.add_argument("--region", help="where the state table lives (default: the console stack's region)")
    parser.add_argument("--profile", help="AWS profile for --target aws")
    parser.add_argument(
        "--role-arn",
        metavar="ARN",
        type=_role_arn,
        default=os.environ.get("PIPECTL_CLOUDFORMATION_ROLE_ARN") or None,
        help="the execution role CloudFormation deploys with (the delivery stack's ExecutionRoleArn output); "
        "default PIPECTL_CLOUDFORMATION_ROLE_ARN, else the caller's own rights",
    )
    parser.add_argument("--build-dir", default="build", metavar="DIR", help="synth output (default: build)")
    parser.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text",
        help="json: one JSON object per stack operation on standard error (default: text)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pipectl",
        description="GitOps for clickstream data pipelines on AWS: pipeline files in, CloudFormation stacks out.",
        epilog="Exit codes: 0 ok, 1 findings or failed deployment, 2 invalid input, 3 environment not usable, "
        "130 interrupted.",
    )
    parser.add_argument("--output", "-o", choices=("text", "json"), default="text", help="output format")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("schema", help="print the JSON Schema of pipeline files")
    p.add_argument("--write", metavar="FILE", help="write it to FILE instead of standard output")
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser("synth", help="write build/ templates and manifest.json from pipelines.d/")
    _add_source_options(p)
    p.add_argument("--jobs", "-j", type=int, default=None, help="parallel synth workers (default: CPU count)")
    p.add_argument(
        "--no-cache", action="store_true", help="rebuild every stack, ignoring build/.synth-cache (same output)"
    )
    p.set_defaults(func=cmd_synth)

    p = sub.add_parser("validate", help="check pipeline files, synthesize, and lint every template")
    _add_source_options(p)
    p.add_argument("--jobs", "-j", type=int, default=None, help="parallel synth and lint workers (default: CPU count)")
    p.add_argument(
        "--no-cache",
        action="store_true",
        help="rebuild and re-lint everything, ignoring build/.synth-cache and build/.lint-cache (same result)",
    )
    p.set_defaults(func=cmd_validate)

    _add_deploy_commands(sub)
    for command in sub.choices.values():
        # `pipectl plan --output json` as well as `pipectl --output json plan`
        command.add_argument(
            "--output",
            "-o",
            choices=("text", "json"),
            default=argparse.SUPPRESS,
            help="output format (text, or json for scripts)",
        )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    out = Output(args.output)
    try:
        code: int = args.func(args, out)
    except KeyboardInterrupt:
        out.error("pipectl: interrupted")
        return EXIT_INTERRUPTED
    except Exception as exc:
        handled = _exit_code(exc, out)
        if handled is None:
            raise
        return handled
    return code


def _exit_code(exc: Exception, out: Output) -> int | None:
    """The exit code for an error pipectl explains, None for a bug.

    Error classes are looked up only among modules the command imported: a command that never loaded
    botocore or the controller cannot have raised their errors, and `--help` loads neither.
    """
    from generator.spec.errors import SpecErrors

    if isinstance(exc, SpecErrors):
        for error in exc.errors:
            out.error(str(error))
        out.error(f"{len(exc.errors)} error(s) in pipeline files; nothing was written or deployed")
        return EXIT_INPUT
    if isinstance(exc, UserError):
        out.error(f"pipectl: {exc}")
        return EXIT_INPUT
    assets = sys.modules.get("generator.stacks.assets")
    if assets is not None and isinstance(exc, assets.AssetError):
        out.error(str(exc))
        out.error("an asset could not be built; nothing was written, uploaded or deployed")
        return EXIT_INPUT
    if "generator.deploy.errors" in sys.modules:
        from generator.deploy import errors

        if isinstance(exc, errors.DeployError):
            out.error(f"pipectl: {exc}")
            unusable = (
                ("generator.deploy.targets", "UnsupportedLocally"),
                ("generator.deploy.uploads", "TemplateBucketError"),
            )
            if isinstance(exc, errors.LockTimeout) or _raised_by(exc, *unusable):
                return EXIT_ENV
            if isinstance(exc, (errors.ManifestError, errors.StalePlanError, errors.PlanError, errors.RefusedError)):
                return EXIT_INPUT
            return EXIT_FINDINGS
    if "botocore.exceptions" in sys.modules:
        from botocore import exceptions

        environment = (
            exceptions.NoCredentialsError,
            exceptions.NoRegionError,
            exceptions.EndpointConnectionError,
            exceptions.ProfileNotFound,
        )
        if isinstance(exc, environment):
            out.error(f"pipectl: {exc}")
            return EXIT_ENV
    return None


def _raised_by(exc: Exception, *classes: tuple[str, str]) -> bool:
    """Whether `exc` is one of the named classes, looked at only in modules already imported."""
    for module_name, class_name in classes:
        module = sys.modules.get(module_name)
        if module is not None and isinstance(exc, getattr(module, class_name)):
            return True
    return False


if __name__ == "__main__":
    sys.exit(main())
