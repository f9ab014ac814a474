"""apply: execute exactly the planned change sets, along the dependency DAG, under the deploy lock.

Before anything runs, every planned stack is checked against the plan (same status, same last
event, change set still available): a stack that moved on refuses the whole apply, because the
change set a person approved no longer describes what would happen. The console stack holds the
state table and lock, so on a first install it is deployed first and the run recorded afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from generator.deploy import cfn, console_view, deferred, site, telemetry, uploads
from generator.deploy.aws import Aws, error_message
from generator.deploy.changes import PlanAction, allowed_in
from generator.deploy.deployed import DeployedStack, read_deployed, read_one
from generator.deploy.errors import DeployError, PlanError, StalePlanError
from generator.deploy.graph import subgraph, walk
from generator.deploy.manifest import CONSOLE_STACK, Manifest
from generator.deploy.plan import make_plan, write_plan
from generator.deploy.progress import NullProgress, Progress
from generator.deploy.report import render_plan
from generator.deploy.results import ApplyOutcome, ApplyResult, Plan, Recovery, StackPlan, StackResult
from generator.deploy.safety import lift_policy_for, protect, refuse_data_loss
from generator.deploy.state import Lock, RunRecord, StateStore, find_state_table, new_run_id, now_iso
from generator.deploy.state_layout import upgrade_layout

DONE_STATUSES = frozenset({"CREATE_COMPLETE", "UPDATE_COMPLETE"})


@dataclass(frozen=True)
class ApplyOptions:
    concurrency: int = 4
    lock_timeout: float = 600.0
    lock_lease: float = 15 * 60.0
    lock_poll: float = 2.0
    template_bucket: str | None = None
    allow_replace: frozenset[str] = frozenset()


def apply_now(
    aws: Aws,
    manifest: Manifest,
    revision: str,
    progress: Progress | None = None,
    options: ApplyOptions | None = None,
    plan_dir: Path | None = None,
    env: str | None = None,
) -> tuple[Plan, ApplyResult]:
    """`--auto-approve` and `up`: plan, write the plan if asked, then apply it at once."""
    opts = options or ApplyOptions()
    plan = make_plan(aws, manifest, revision, progress, opts.concurrency, opts.template_bucket, env=env)
    if plan_dir is not None:
        write_plan(plan, manifest, plan_dir)
    return plan, apply_plan(aws, manifest, plan, progress, opts)


def apply_plan(
    aws: Aws, manifest: Manifest, plan: Plan, progress: Progress | None = None, options: ApplyOptions | None = None
) -> ApplyResult:
    """Execute the plan's change sets (and recoveries) and nothing else; refuse a stale plan. What the
    apply did is published as pipectl's metrics (generator/deploy/telemetry.py)."""
    timer = telemetry.StackTimer(progress or NullProgress())
    result = _apply_plan(aws, manifest, plan, timer, options)
    telemetry.publish_apply(aws, manifest, result, timer, timer)
    return result


def _apply_plan(
    aws: Aws, manifest: Manifest, plan: Plan, progress: Progress | None = None, options: ApplyOptions | None = None
) -> ApplyResult:
    opts = options or ApplyOptions()
    out = progress or NullProgress()
    _check_matches(manifest, plan, aws)
    refuse_data_loss(plan, opts.allow_replace)
    run = RunRecord(new_run_id(), "apply", plan.revision, aws.actor(), now_iso())
    run.pipelines = {s.name: s.owner for s in manifest.stacks}
    results: dict[str, StackResult] = {}
    deployed = read_deployed(aws, tuple(sorted({*manifest.regions, aws.target.region})))
    table = find_state_table(deployed)
    console = plan.get(CONSOLE_STACK)
    if table is None and console is not None and console.action.changes_stack:
        out.note(
            None,
            "the console stack (state table and lock) is not deployed yet: deploying it first; "
            "this run is recorded once it exists",
        )
        _refuse_stale(aws, [console], deployed)
        results[CONSOLE_STACK] = _run_stack(aws, manifest, console, run, opts, out)
        deployed = read_deployed(aws, tuple(sorted({*manifest.regions, aws.target.region})))
        table = find_state_table(deployed)
        if results[CONSOLE_STACK].ok:
            site.publish(aws, manifest, deployed)
        if not results[CONSOLE_STACK].ok:
            return _finish_without_state(plan, run, manifest, results, out)
    if table is None:
        out.note(None, "no state table (no deployed console stack): this run is not recorded and takes no lock")
        return _run_all(aws, manifest, plan, run, results, deployed, None, opts, out)
    store = StateStore(aws, table)
    if not plan.recorded:
        _record_plan(store, manifest, plan, run.actor)
    lock = Lock(store, run.actor, run.run_id, lease=opts.lock_lease, poll=opts.lock_poll)
    lock.acquire(opts.lock_timeout)
    if lock.took_over:
        out.note(None, f"took over the deploy lock of run {lock.took_over}, whose process on this machine is gone")
    with lock:
        if (
            upgrade_layout(store.ddb, store.table.name) is None
        ):  # items of older versions join the console's lists first
            out.note(None, "the console lists older runs once an apply may scan the state table (dynamodb:Scan)")
        deployed = read_deployed(aws, tuple(sorted({*manifest.regions, aws.target.region})))
        return _run_all(aws, manifest, plan, run, results, deployed, store, opts, out)


def _check_matches(manifest: Manifest, plan: Plan, aws: Aws) -> None:
    if plan.target != aws.target.kind:
        raise PlanError(f"the plan was made for target {plan.target}, not {aws.target.kind}: plan again")
    problems = []
    for spec in manifest.stacks:
        if plan.env is not None and spec.env not in (None, plan.env):
            continue  # a plan of one environment says nothing about the others
        planned = plan.get(spec.name)
        if planned is None or planned.hash != spec.hash:
            problems.append(f"{spec.name}: build/ changed since the plan")
        elif planned.action == PlanAction.ERROR:
            problems.append(f"{spec.name}: could not be planned ({planned.reason})")
    if problems:
        raise PlanError("the plan does not match build/manifest.json; run plan again:\n  " + "\n  ".join(problems))


def _refuse_stale(aws: Aws, planned: list[StackPlan], deployed: dict[str, DeployedStack]) -> None:
    """Every stack must still be where the plan left it; otherwise nothing is executed."""
    stale = []
    for stack in planned:
        if not stack.action.changes_stack:
            continue
        live = deployed.get(stack.name)
        reason = _staleness(aws, stack, live)
        if reason:
            stale.append(f"{stack.name}: {reason}")
    if stale:
        raise StalePlanError(
            "stacks moved on since the plan; nothing was applied. Run plan again and review:\n  " + "\n  ".join(stale)
        )


def _staleness(aws: Aws, stack: StackPlan, live: DeployedStack | None) -> str:
    if stack.action.deferred:
        return deferred.staleness(aws, stack, live)
    if stack.recovery:
        if live is None or live.stack_id != stack.stack_id:
            return "the stack the plan meant to recover is gone or was replaced"
        return "" if cfn.fingerprint(aws, live) == stack.fingerprint else "the stack changed since the plan"
    if not stack.change_set:
        return "no change set in the plan"
    described = cfn.describe_change_set(aws, stack.region, stack.name, stack.change_set)
    if described is None or described.get("ExecutionStatus") != "AVAILABLE":
        state = described.get("ExecutionStatus") if described else "deleted"
        return f"change set {stack.change_set_name} is no longer available ({state})"
    if live is None or live.stack_id != stack.stack_id:
        return "the stack was deleted or replaced since the plan"
    if stack.action == PlanAction.CREATE:
        return "" if live.status == "REVIEW_IN_PROGRESS" else f"the stack was created meanwhile ({live.status})"
    return (
        ""
        if cfn.fingerprint(aws, live) == stack.fingerprint
        else (f"the stack was updated since the plan (now {live.status})")
    )


def _run_all(
    aws: Aws,
    manifest: Manifest,
    plan: Plan,
    run: RunRecord,
    results: dict[str, StackResult],
    deployed: dict[str, DeployedStack],
    store: StateStore | None,
    opts: ApplyOptions,
    out: Progress,
) -> ApplyResult:
    todo = [s for s in plan.stacks if manifest.get(s.name) and s.name not in results]
    try:
        if store is not None:
            store.record_run(run)
        _refuse_stale(aws, todo, deployed)
    except StalePlanError:
        if store is not None:
            run.result, run.ended_at = "refused", now_iso()
            store.record_run(run)
        raise
    site.publish(aws, manifest, deployed)  # before a change set points CloudFront at a new version of the app
    graph = subgraph(manifest.dependencies(), {s.name for s in todo})

    def work(name: str) -> StackResult:
        result = _run_stack(aws, manifest, plan.get(name) or StackPlan(name, PlanAction.NONE), run, opts, out)
        if store is not None and result.action != PlanAction.NONE:
            spec = manifest[name]
            live = read_one(aws, name, spec.region) if result.ok else None
            store.record_stack(spec, result.result, result.detail, plan.revision, live.outputs if live else None)
        if name == CONSOLE_STACK and result.ok and result.action != PlanAction.NONE:
            site.publish(aws, manifest, read_deployed(aws, (manifest[name].region,)))  # a first deploy, or new outputs
        return result

    def skipped(name: str, cause: str) -> None:
        results[name] = StackResult(name, _action(plan, name), ApplyOutcome.SKIPPED, f"{cause} failed")
        out.finish(name, ApplyOutcome.SKIPPED, f"{cause} failed")

    walked = walk(graph, work, lambda r: r.ok, opts.concurrency, skipped)
    results.update(walked.results)
    ordered = {s.name: results[s.name] for s in manifest.stacks if s.name in results}
    result = ApplyResult(plan.revision, run.run_id, ordered, recorded=store is not None)
    if store is not None:
        run.stacks = {name: r.result for name, r in ordered.items()}
        run.result, run.ended_at = ("succeeded" if result.ok else "failed"), now_iso()
        run.plan_markdown = render_plan(plan, manifest)
        store.record_run(run)
        for pipeline in sorted(manifest.pipelines):
            envs = sorted({s.env for s in manifest.stacks if s.pipeline == pipeline and s.env})
            store.record_pipeline(pipeline, envs, plan.revision, run.run_id)
        _record_console_view(aws, manifest, store, ordered, run)
    return result  # the caller shows the summary once (the CLI's result), not the progress stream too


def _record_console_view(
    aws: Aws, manifest: Manifest, store: StateStore, results: dict[str, StackResult], run: RunRecord
) -> None:
    """The environments the run touched, and the console's group mapping, as the console reads them."""
    after = read_deployed(aws, tuple(sorted({*manifest.regions, aws.target.region})))
    for env in console_view.environments(manifest, results, after, run.revision, run.run_id):
        store.record_environment(env)
    mapping = console_view.access(manifest)
    if mapping is not None:
        store.record_access(
            mapping
        )  # the caller shows the summary once (the CLI's result), not the progress stream too


def _finish_without_state(
    plan: Plan, run: RunRecord, manifest: Manifest, results: dict[str, StackResult], out: Progress
) -> ApplyResult:
    for spec in manifest.stacks:
        if spec.name not in results:
            results[spec.name] = StackResult(
                spec.name, _action(plan, spec.name), ApplyOutcome.SKIPPED, f"{CONSOLE_STACK} failed"
            )
            out.finish(spec.name, ApplyOutcome.SKIPPED, f"{CONSOLE_STACK} failed")
    return ApplyResult(plan.revision, run.run_id, results)


def _action(plan: Plan, name: str) -> PlanAction:
    stack = plan.get(name)
    return stack.action if stack else PlanAction.NONE


def _record_plan(store: StateStore, manifest: Manifest, plan: Plan, actor: str) -> None:
    run = RunRecord(
        plan.run_id, "plan", plan.revision, actor, plan.created_at, result="planned", ended_at=plan.created_at
    )
    run.pipelines = {s.name: s.owner for s in manifest.stacks}
    run.stacks = {s.name: s.action for s in plan.stacks if s.name in run.pipelines}
    run.plan_markdown = render_plan(plan, manifest)
    store.record_run(run)
    plan.recorded = True


def _run_stack(
    aws: Aws, manifest: Manifest, stack: StackPlan, run: RunRecord, opts: ApplyOptions, out: Progress
) -> StackResult:
    """One stack: recover leftovers if the plan said so, or make a deferred stack's change set now that its
    dependencies succeeded; then execute the change set, wait, explain failures."""
    if not stack.action.changes_stack:
        return StackResult(stack.name, stack.action, ApplyOutcome.UNCHANGED)
    out.start(stack.name, stack.action)
    started = datetime.now(UTC) - timedelta(seconds=5)
    try:
        if stack.recovery:
            change_set, stack_id = _recover(aws, manifest, stack, run.revision, opts, out)
            if change_set is None:
                out.finish(stack.name, ApplyOutcome.DONE, "recovered; nothing left to change")
                return StackResult(stack.name, stack.action, ApplyOutcome.DONE, "recovered; nothing left to change")
            stack = replace(stack, change_set=change_set, stack_id=stack_id)
        elif stack.action.deferred:
            made = deferred.create_at_apply(
                aws,
                manifest,
                stack,
                run.revision,
                opts.template_bucket,
                allowed_in(opts.allow_replace, stack.name),
                out,
            )
            if made is None:
                out.finish(stack.name, ApplyOutcome.DONE, "its change set found no changes")
                return StackResult(stack.name, stack.action, ApplyOutcome.DONE, "its change set found no changes")
            stack = made
        if stack.change_set is None or stack.stack_id is None:
            raise DeployError("the plan holds no change set for it; run plan again")
        spec = manifest[stack.name]
        lift_policy_for(aws, spec, stack, opts.allow_replace, out)
        result = _execute(aws, stack, stack.change_set, stack.stack_id, run.run_id, started, out)
        result.change_set = stack.change_set
        if result.ok:
            protect(aws, spec, stack.stack_id)
        elif spec.stack_policy and stack.action.base == PlanAction.UPDATE:
            aws.cfn(spec.region).set_stack_policy(StackName=stack.stack_id, StackPolicyBody=spec.stack_policy)
        return result
    except (DeployError, ClientError, BotoCoreError) as exc:
        return _failed(aws, stack, stack.stack_id, started, error_message(exc), out)


def _recover(
    aws: Aws, manifest: Manifest, stack: StackPlan, revision: str, opts: ApplyOptions, out: Progress
) -> tuple[str | None, str | None]:
    spec = manifest[stack.name]
    deferred.approved_template(manifest, stack)  # before anything is deleted or rolled back
    live = cfn.describe_by_id(aws, stack.region, stack.stack_id or stack.name)
    create = True
    if live is not None and stack.recovery == Recovery.DELETE_AND_CREATE:
        out.note(stack.name, f"deleting the {live.status} stack left by an earlier run, then creating it again")
        gone = cfn.delete_and_wait(aws, live)
        if gone is not None and gone.status != "DELETE_COMPLETE":
            raise DeployError(f"could not delete the leftover stack ({gone.status}: {gone.reason})")
    elif live is not None and stack.recovery == Recovery.CONTINUE_ROLLBACK:
        out.note(stack.name, "continuing the failed rollback of an earlier update")
        aws.cfn(stack.region).continue_update_rollback(StackName=live.stack_id)
        settled = cfn.wait_settled(aws, stack.region, live.stack_id, f"rollback of {stack.name}")
        if settled is None or settled.status != "UPDATE_ROLLBACK_COMPLETE":
            raise DeployError(f"rollback did not complete ({settled.status if settled else 'gone'})")
        create = False
    spec, source = uploads.stage(aws, manifest, spec, opts.template_bucket)
    name = cfn.change_set_name(revision)
    made = cfn.create_change_set(aws, spec, source, name, create, revision)
    if made.empty:
        return None, made.stack_id
    allowed = allowed_in(opts.allow_replace, stack.name)
    deferred.refuse_risky(aws, spec, made, allowed, f"{name}, created after the recovery,")
    return made.id, made.stack_id


def _execute(
    aws: Aws, stack: StackPlan, change_set: str, stack_id: str, run_id: str, started: datetime, out: Progress
) -> StackResult:
    token = f"pipectl-{run_id}-{stack.name}"[:128]
    try:
        aws.cfn(stack.region).execute_change_set(
            ChangeSetName=change_set, StackName=stack.name, ClientRequestToken=token
        )
    except (ClientError, BotoCoreError) as exc:
        # moto answers HTTP 500 and leaves the stack CREATE_IN_PROGRESS: a failure, never something to wait for.
        return _failed(aws, stack, stack_id, started, f"execute failed: {error_message(exc)}", out)
    final = cfn.wait_settled(aws, stack.region, stack_id, f"{stack.action} of {stack.name}")
    if final is None or final.status not in DONE_STATUSES:
        status = final.status if final else "deleted"
        return _failed(aws, stack, stack_id, started, f"{status}: {final.reason if final else ''}".strip(": "), out)
    out.finish(stack.name, ApplyOutcome.DONE, final.status)
    return StackResult(stack.name, stack.action, ApplyOutcome.DONE, final.status)


def _failed(
    aws: Aws, stack: StackPlan, stack_id: str | None, started: datetime, detail: str, out: Progress
) -> StackResult:
    events: list[str] = []
    try:
        live = cfn.describe_by_id(aws, stack.region, stack_id) if stack_id else None
        events = cfn.failure_events(aws, live, stack.region, stack.name, started)
    except (ClientError, BotoCoreError) as exc:
        events = [f"(stack events unavailable: {error_message(exc)})"]
    out.finish(stack.name, ApplyOutcome.FAILED, detail)
    for line in events:
        out.note(stack.name, line)
    return StackResult(stack.name, stack.action, ApplyOutcome.FAILED, detail, events)
