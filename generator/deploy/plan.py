"""plan: compare the manifest with what is deployed and create change sets only where it differs.

One batched describe_stacks per region tells which stacks are in sync (their `pipectl:spec-hash`
tag equals the manifest hash): those cost nothing more. The others get a change set named after
the revision, once every stack they depend on is planned `none`; a stack whose dependencies are
still to be created or updated is planned "after" them, and apply makes its change set
(generator/deploy/deferred.py). Leftovers of earlier runs are recorded as a recovery that apply
carries out first.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any, TypedDict, Unpack

from botocore.exceptions import BotoCoreError, ClientError

from generator.contract import CONTROL_PIPELINE, Tag
from generator.deploy import cfn, costs, deferred, quota, telemetry, uploads
from generator.deploy.aws import Aws, error_message
from generator.deploy.changes import PlanAction, from_change_set
from generator.deploy.changes import ResourceChange as ResourceChange  # re-exported: plan.json's rows
from generator.deploy.deployed import DeployedStack, read_deployed
from generator.deploy.errors import DeployError, PlanError, WaitTimeout
from generator.deploy.graph import subgraph, topological_order, walk
from generator.deploy.manifest import Manifest, StackSpec
from generator.deploy.parameters import check_parameters
from generator.deploy.progress import NullProgress, Progress
from generator.deploy.report import render_plan
from generator.deploy.results import Plan as Plan  # re-exported: what plan makes
from generator.deploy.results import Recovery, StackPlan
from generator.deploy.review import annotate, deployed_template
from generator.deploy.state import RunRecord, StateStore, find_state_table, new_run_id, now_iso

PLAN_FILE = "plan.json"


def make_plan(
    aws: Aws,
    manifest: Manifest,
    revision: str,
    progress: Progress | None = None,
    concurrency: int = 4,
    template_bucket: str | None = None,
    record: bool = True,
    env: str | None = None,
) -> Plan:
    """Plan every manifest stack (and flag orphans for prune); record the run when the state table exists.

    With `env`, only that environment's stacks and the console are planned (the nightly `test` run);
    orphans are still judged against the whole manifest, so other environments are never flagged.
    """
    out = progress or NullProgress()
    run = RunRecord(new_run_id(), "plan", revision, "", now_iso())
    deployed = read_deployed(aws, tuple(sorted({*manifest.regions, aws.target.region})))
    name = cfn.change_set_name(revision)
    order = topological_order(manifest.dependencies())
    if env is not None:
        order = [n for n in order if manifest[n].env in (None, env)]

    # Templates over the inline limit and assets go to the template bucket before any change set exists.
    changing = [manifest[n] for n in order if not _in_sync(deployed.get(n), manifest[n].hash)]
    if not aws.target.is_local:  # the local target has no concurrency quota to read
        quota.check_reserved_concurrency(aws, manifest, changing, deployed)
    uploads.stage_all(aws, manifest, changing, template_bucket)
    check_parameters(manifest, changing)  # after the uploads, whose mistakes name a file to fix first
    planned_by_name: dict[str, StackPlan] = {}
    lock = threading.Lock()

    def one(stack_name: str) -> StackPlan:
        spec = manifest[stack_name]
        with lock:
            deps = {d: planned_by_name.get(d) for d in spec.depends_on}
        try:
            waits = _waits_for(manifest, deps, deployed)
            plan = _plan_stack(
                aws, manifest, spec, deployed.get(spec.name), name, revision, template_bucket, out, waits
            )
        except uploads.TemplateBucketError:
            raise
        except (DeployError, ClientError, BotoCoreError) as exc:
            out.note(spec.name, f"could not be planned: {error_message(exc)}")
            plan = _base(spec, PlanAction.ERROR, reason=error_message(exc))
        with lock:
            planned_by_name[stack_name] = plan
        return plan

    # Dependencies first: whether a stack gets its change set now depends on how they were planned.
    walk(subgraph(manifest.dependencies(), set(order)), one, lambda _: True, concurrency)
    planned = [planned_by_name[n] for n in order]
    planned.extend(_orphans(manifest, deployed))
    plan = Plan(revision, now_iso(), aws.target.kind, aws.target.region, planned, run.run_id, env=env)
    table = find_state_table(deployed)
    if record and table is not None:
        run.actor = aws.actor()
        run.pipelines = {
            s.name: (manifest[s.name].owner if manifest.get(s.name) else s.pipeline or CONTROL_PIPELINE)
            for s in planned
        }
        run.stacks = {s.name: s.action for s in planned}
        run.ended_at, run.result = now_iso(), "planned"
        run.plan_markdown = render_plan(plan, manifest)
        StateStore(aws, table).record_run(run)
        plan.recorded = True
    telemetry.publish_plan(aws, manifest, plan, out)
    return plan


def _in_sync(live: DeployedStack | None, spec_hash: str) -> bool:
    return live is not None and live.in_sync(spec_hash)


def _waits_for(manifest: Manifest, deps: dict[str, StackPlan | None], deployed: dict[str, DeployedStack]) -> list[str]:
    """The dependencies not deployed as built: a change set made now would import what they do not export yet."""
    waits = []
    for dep, planned in sorted(deps.items()):
        if planned is not None:
            if planned.action != PlanAction.NONE:
                waits.append(dep)
            continue
        live = deployed.get(dep)
        if live is None or not live.in_sync(manifest[dep].hash):
            raise PlanError(
                f"depends on {dep}, which this plan does not cover and which is not deployed as built; "
                "plan without --env first"
            )
    return waits


class _Found(TypedDict, total=False):
    """What planning found out about a stack, beyond what the manifest says."""

    change_set: str | None
    change_set_name: str | None
    stack_id: str | None
    changes: list[ResourceChange]
    status: str | None
    fingerprint: str | None
    recovery: Recovery | None
    reason: str
    after: list[str]
    template_sha256: str | None
    costs: list[str]


def _base(spec: StackSpec, action: PlanAction, **values: Unpack[_Found]) -> StackPlan:
    return StackPlan(
        name=spec.name,
        action=action,
        hash=spec.hash,
        region=spec.region,
        pipeline=spec.pipeline,
        env=spec.env,
        kind=spec.kind,
        **values,
    )


def _plan_stack(
    aws: Aws,
    manifest: Manifest,
    spec: StackSpec,
    live: DeployedStack | None,
    name: str,
    revision: str,
    bucket: str | None,
    out: Progress,
    waits: list[str],
) -> StackPlan:
    if live is not None and live.status.endswith("_IN_PROGRESS") and live.status != "REVIEW_IN_PROGRESS":
        # An operation a killed run started goes on without it (in CloudFormation, and in the local
        # server's request thread): wait for its end. Only a local create that never ends (its server
        # thread died) is stuck: apply deletes and re-creates that one.
        out.note(spec.name, f"{live.status}: waiting for it to settle before planning")
        unsettled = live
        try:
            live = cfn.wait_settled(aws, spec.region, live.stack_id, f"{spec.name} to leave {live.status}")
        except WaitTimeout:
            if not (aws.target.is_local and unsettled.status == "CREATE_IN_PROGRESS"):
                raise
            out.note(spec.name, "stuck in CREATE_IN_PROGRESS from an earlier run: apply deletes and re-creates it")
            return _recovery(aws, manifest, spec, unsettled, PlanAction.CREATE, Recovery.DELETE_AND_CREATE)
    if live is not None and live.status == "REVIEW_IN_PROGRESS":
        # Only change sets, never executed (an earlier plan, or a create that failed to start):
        # delete it so the new CREATE change set is the only one.
        out.note(spec.name, "never created (REVIEW_IN_PROGRESS): removing its earlier change sets")
        cfn.delete_and_wait(aws, live)
        live = None
    if live is not None and live.status in ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED"):
        out.note(spec.name, f"{live.status} (a failed create, holds nothing): apply deletes and re-creates it")
        return _recovery(aws, manifest, spec, live, PlanAction.CREATE, Recovery.DELETE_AND_CREATE)
    if live is not None and live.status == "UPDATE_ROLLBACK_FAILED":
        out.note(spec.name, "UPDATE_ROLLBACK_FAILED: apply continues the rollback, then updates it")
        return _recovery(aws, manifest, spec, live, PlanAction.UPDATE, Recovery.CONTINUE_ROLLBACK)
    if live is not None and live.in_sync(spec.hash):
        return _base(spec, PlanAction.NONE, stack_id=live.stack_id, status=live.status)
    body = manifest.template_body(spec)
    action = PlanAction.CREATE if live is None else PlanAction.UPDATE
    stamp = cfn.fingerprint(aws, live) if live is not None else None
    digest = deferred.template_sha256(body)
    old = _deployed(aws, spec, live)
    if waits:
        changes = annotate(deferred.template_changes(aws, spec, live, body), old, json.loads(body))
        out.note(
            spec.name,
            f"{action} after {', '.join(waits)}: change set created at apply time; "
            f"{len(changes)} resource(s) listed from the template",
        )
        return _base(
            spec,
            action.after(),
            stack_id=live.stack_id if live else None,
            changes=changes,
            status=live.status if live else None,
            fingerprint=stamp,
            after=waits,
            template_sha256=digest,
            costs=costs.paid_plan_moves(aws, spec, live, body, changes),
        )
    spec, source = uploads.stage(aws, manifest, spec, bucket)
    made = cfn.create_change_set(aws, spec, source, name, create=live is None, revision=revision)
    if made.empty:
        return _base(
            spec,
            PlanAction.NONE,
            stack_id=made.stack_id,
            status=live.status if live else None,
            reason="change set found no changes",
        )
    out.note(spec.name, f"{action}: change set {name}, {len(made.changes)} change(s)")
    changes = annotate([from_change_set(c, spec.stateful) for c in made.changes], old, json.loads(body))
    return _base(
        spec,
        action,
        change_set=made.id,
        change_set_name=name,
        stack_id=made.stack_id,
        changes=changes,
        status=live.status if live else None,
        fingerprint=stamp,
        template_sha256=digest,
        costs=costs.paid_plan_moves(aws, spec, live, body, changes),
    )


def _recovery(
    aws: Aws, manifest: Manifest, spec: StackSpec, live: DeployedStack, action: PlanAction, recovery: Recovery
) -> StackPlan:
    """Apply makes this stack's change set after the recovery, from the template whose hash is recorded here."""
    return _base(
        spec,
        action,
        stack_id=live.stack_id,
        status=live.status,
        fingerprint=cfn.fingerprint(aws, live),
        recovery=recovery,
        reason=live.reason,
        template_sha256=deferred.template_sha256(manifest.template_body(spec)),
    )


def _deployed(aws: Aws, spec: StackSpec, live: DeployedStack | None) -> dict[str, Any] | None:
    """The template the stack runs now: what plan.md diffs the new one against (None for a new stack)."""
    if live is None:
        return None
    raw = aws.cfn(spec.region).get_template(StackName=live.stack_id, TemplateStage="Original").get("TemplateBody")
    return deployed_template(raw)


def _orphans(manifest: Manifest, deployed: dict[str, DeployedStack]) -> list[StackPlan]:
    """Stacks tagged as pipectl's that the manifest no longer names: prune deletes them, plan only says so."""
    out = []
    for live in sorted(deployed.values(), key=lambda s: s.name):
        if live.pipeline and manifest.get(live.name) is None:
            gone = live.pipeline not in manifest.pipelines
            out.append(
                StackPlan(
                    name=live.name,
                    action=PlanAction.DELETE,
                    stack_id=live.stack_id,
                    region=live.region,
                    pipeline=live.pipeline,
                    env=live.tags.get(Tag.ENV),
                    kind=live.tags.get(Tag.KIND),
                    status=live.status,
                    hash=live.spec_hash,
                    reason="its pipeline is no longer in the manifest" if gone else "no longer in the manifest",
                )
            )
    return out


def write_plan(plan: Plan, manifest: Manifest, directory: Path) -> tuple[Path, Path]:
    """plan.json for apply, plan.md for the person approving it."""
    directory.mkdir(parents=True, exist_ok=True)
    json_path, md_path = directory / PLAN_FILE, directory / "plan.md"
    json_path.write_text(plan.to_json(), encoding="utf-8")
    md_path.write_text(render_plan(plan, manifest), encoding="utf-8")
    return json_path, md_path


def read_plan(path: Path) -> Plan:
    try:
        return Plan.from_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PlanError(f"{path}: not found; run `pipectl plan` first") from None
    except (ValueError, TypeError, KeyError) as exc:
        raise PlanError(f"{path}: not a plan written by pipectl ({exc})") from None
