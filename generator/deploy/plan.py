"""plan: compare the manifest with what is deployed and create change sets only where it differs.

One batched describe_stacks per region tells which stacks are in sync (their `pipectl:spec-hash`
tag equals the manifest hash): those cost nothing more. The others get a change set named after
the revision; leftovers of earlier runs are recorded as a recovery that apply carries out first.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from generator.deploy import cfn, telemetry
from generator.deploy.aws import Aws, error_message
from generator.deploy.deployed import DeployedStack, read_deployed
from generator.deploy.errors import DeployError, PlanError
from generator.deploy.graph import topological_order
from generator.deploy.manifest import Manifest, StackSpec
from generator.deploy.progress import NullProgress, Progress
from generator.deploy.replacement import between_templates
from generator.deploy.report import render_plan
from generator.deploy.state import RunRecord, StateStore, find_state_table, new_run_id, now_iso

PLAN_FILE = "plan.json"
STATEFUL_TYPES = frozenset({"AWS::S3::Bucket", "AWS::DynamoDB::Table", "AWS::KMS::Key", "AWS::Kinesis::Stream",
                            "AWS::Logs::LogGroup"})
# Changes that can widen who may do what: IAM, resource policies, security groups, key policies.
WIDENING_TYPES = frozenset({"AWS::EC2::SecurityGroup", "AWS::EC2::SecurityGroupIngress",
                            "AWS::EC2::SecurityGroupEgress", "AWS::S3::BucketPolicy", "AWS::SQS::QueuePolicy",
                            "AWS::SNS::TopicPolicy", "AWS::KMS::Key", "AWS::Lambda::Permission"})
# Recoveries apply performs before creating a fresh change set for the stack.
DELETE_AND_CREATE = "delete-and-create"
CONTINUE_ROLLBACK = "continue-rollback"


@dataclass
class ResourceChange:
    """One row of a change set: replacement is True/False/Conditional, `unknown` when not reported."""

    resource: str
    type: str
    action: str
    replacement: str
    stateful: bool = False
    widening: bool = False

    @property
    def data_at_risk(self) -> bool:
        return self.stateful and (self.action == "Remove" or self.replacement in ("True", "Conditional"))


@dataclass
class StackPlan:
    """What apply will do to one stack, and what it must still find there to do it."""

    name: str
    action: str  # create | update | none | delete | error
    change_set: str | None = None
    change_set_name: str | None = None
    stack_id: str | None = None
    hash: str | None = None
    changes: list[ResourceChange] = field(default_factory=list)
    region: str = ""
    pipeline: str | None = None
    env: str | None = None
    kind: str | None = None
    status: str | None = None  # deployed status at plan time
    fingerprint: str | None = None
    recovery: str | None = None
    reason: str = ""


@dataclass
class Plan:
    revision: str
    created_at: str
    target: str
    region: str
    stacks: list[StackPlan]
    run_id: str = ""
    recorded: bool = False
    env: str | None = None  # when set, the plan covers this environment (and the console) only

    def get(self, name: str) -> StackPlan | None:
        return next((s for s in self.stacks if s.name == name), None)

    def count(self, action: str) -> int:
        return sum(1 for s in self.stacks if s.action == action)

    def summary(self) -> str:
        text = (f"{self.count('create')} to create, {self.count('update')} to update, "
                f"{self.count('none')} unchanged, {self.count('delete')} to delete")
        errors = self.count("error")
        return text + (f", {errors} could not be planned" if errors else "")

    @property
    def has_changes(self) -> bool:
        return any(s.action in ("create", "update") for s in self.stacks)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Plan:
        data = json.loads(text)
        stacks = [StackPlan(**{**s, "changes": [ResourceChange(**c) for c in s.get("changes", [])]})
                  for s in data.pop("stacks")]
        return cls(**data, stacks=stacks)


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

    def one(stack_name: str) -> StackPlan:
        spec = manifest[stack_name]
        try:
            return _plan_stack(aws, manifest, spec, deployed.get(spec.name), name, revision, template_bucket, out)
        except (DeployError, ClientError, BotoCoreError) as exc:
            out.note(spec.name, f"could not be planned: {error_message(exc)}")
            return _base(spec, "error", reason=error_message(exc))

    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="pipectl-plan") as pool:
        planned = list(pool.map(one, order))
    planned.extend(_orphans(manifest, deployed))
    plan = Plan(revision, now_iso(), aws.target.kind, aws.target.region, planned, run.run_id, env=env)
    table = find_state_table(deployed)
    if record and table is not None:
        run.actor = aws.actor()
        run.pipelines = {s.name: (manifest[s.name].owner if manifest.get(s.name) else s.pipeline or "_console")
                         for s in planned}
        run.stacks = {s.name: s.action for s in planned}
        run.ended_at, run.result = now_iso(), "planned"
        StateStore(aws, table).record_run(run)
        plan.recorded = True
    telemetry.publish_plan(aws, manifest, plan, out)
    return plan


def _base(spec: StackSpec, action: str, **values: Any) -> StackPlan:
    return StackPlan(name=spec.name, action=action, hash=spec.hash, region=spec.region, pipeline=spec.pipeline,
                     env=spec.env, kind=spec.kind, **values)


def _plan_stack(
    aws: Aws, manifest: Manifest, spec: StackSpec, live: DeployedStack | None, name: str, revision: str,
    bucket: str | None, out: Progress,
) -> StackPlan:
    if live is not None and live.status.endswith("_IN_PROGRESS") and live.status != "REVIEW_IN_PROGRESS":
        if aws.target.is_local and live.status == "CREATE_IN_PROGRESS":
            out.note(spec.name, "stuck in CREATE_IN_PROGRESS from an earlier run: apply deletes and re-creates it")
            return _recovery(aws, spec, live, "create", DELETE_AND_CREATE)
        out.note(spec.name, f"{live.status}: waiting for it to settle before planning")
        live = cfn.wait_settled(aws, spec.region, live.stack_id, f"{spec.name} to leave {live.status}")
    if live is not None and live.status == "REVIEW_IN_PROGRESS":
        # Only change sets, never executed (an earlier plan, or a create that failed to start):
        # delete it so the new CREATE change set is the only one.
        out.note(spec.name, "never created (REVIEW_IN_PROGRESS): removing its earlier change sets")
        cfn.delete_and_wait(aws, live)
        live = None
    if live is not None and live.status in ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED"):
        out.note(spec.name, f"{live.status} (a failed create, holds nothing): apply deletes and re-creates it")
        return _recovery(aws, spec, live, "create", DELETE_AND_CREATE)
    if live is not None and live.status == "UPDATE_ROLLBACK_FAILED":
        out.note(spec.name, "UPDATE_ROLLBACK_FAILED: apply continues the rollback, then updates it")
        return _recovery(aws, spec, live, "update", CONTINUE_ROLLBACK)
    if live is not None and live.in_sync(spec.hash):
        return _base(spec, "none", stack_id=live.stack_id, status=live.status)
    body = manifest.template_body(spec)
    source = cfn.template_source(aws, spec, body, bucket)
    stamp = cfn.fingerprint(aws, live) if live is not None else None
    made = cfn.create_change_set(aws, spec, source, name, create=live is None, revision=revision)
    if made.empty:
        return _base(spec, "none", stack_id=made.stack_id, status=live.status if live else None,
                     reason="change set found no changes")
    out.note(spec.name, f"{'create' if live is None else 'update'}: change set {name}, {len(made.changes)} change(s)")
    computed = _unreported_replacements(aws, spec, body, made.changes)
    return _base(
        spec, "create" if live is None else "update", change_set=made.id, change_set_name=name,
        stack_id=made.stack_id, changes=[_change(spec, c, computed) for c in made.changes],
        status=live.status if live else None, fingerprint=stamp,
    )


def _recovery(aws: Aws, spec: StackSpec, live: DeployedStack, action: str, recovery: str) -> StackPlan:
    return _base(spec, action, stack_id=live.stack_id, status=live.status, fingerprint=cfn.fingerprint(aws, live),
                 recovery=recovery, reason=live.reason)


def _unreported_replacements(
    aws: Aws, spec: StackSpec, body: str, changes: tuple[dict[str, Any], ...]
) -> dict[str, str]:
    """Replacement of Modify rows the target left empty, from the provider schemas (the local target's logic)."""
    unreported = {
        str(rc.get("LogicalResourceId", "")): str(rc.get("ResourceType", ""))
        for rc in ((c.get("ResourceChange") or {}) for c in changes)
        if rc.get("Action") == "Modify" and not rc.get("Replacement")
    }
    if not unreported:
        return {}
    deployed = aws.cfn(spec.region).get_template(StackName=spec.name, TemplateStage="Original").get("TemplateBody")
    old = json.loads(deployed) if isinstance(deployed, str) else deployed
    if not isinstance(old, dict):
        return {}
    return dict(between_templates(unreported, old, json.loads(body)))


def _change(spec: StackSpec, raw: dict[str, Any], computed: dict[str, str] | None = None) -> ResourceChange:
    rc = raw.get("ResourceChange") or {}
    action = str(rc.get("Action", ""))
    kind = str(rc.get("ResourceType", ""))
    logical = str(rc.get("LogicalResourceId", ""))
    reported = str(rc.get("Replacement") or "") or (computed or {}).get(logical, "")
    replacement = reported or ("unknown" if action == "Modify" else "n/a")
    return ResourceChange(
        resource=logical, type=kind, action=action, replacement=replacement,
        stateful=logical in spec.stateful or kind in STATEFUL_TYPES,
        widening=action in ("Add", "Modify") and (kind.startswith("AWS::IAM::") or kind in WIDENING_TYPES),
    )


def _orphans(manifest: Manifest, deployed: dict[str, DeployedStack]) -> list[StackPlan]:
    """Stacks tagged as pipectl's that the manifest no longer names: prune deletes them, plan only says so."""
    out = []
    for live in sorted(deployed.values(), key=lambda s: s.name):
        if live.pipeline and manifest.get(live.name) is None:
            gone = live.pipeline not in manifest.pipelines
            out.append(StackPlan(
                name=live.name, action="delete", stack_id=live.stack_id, region=live.region,
                pipeline=live.pipeline, env=live.tags.get("pipectl:env"), kind=live.tags.get("pipectl:kind"),
                status=live.status, hash=live.spec_hash,
                reason="its pipeline is no longer in the manifest" if gone else "no longer in the manifest",
            ))
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
