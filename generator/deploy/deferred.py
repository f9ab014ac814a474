"""Stacks planned "after" their dependencies: their change sets are created by apply, not by plan.

CloudFormation resolves `Fn::ImportValue` when a change set is created: a stack importing what a
not-yet-created (or not-yet-updated) stack exports cannot get a change set that says the truth, or
any at all ("No export named ... found"). Plan therefore lists such a stack's resources from its
template (Add for a new stack; for an update, the resources whose template entry differs from the
deployed template, to be confirmed by the change set) and records two hashes in plan.json:

- `hash`, the manifest's spec-hash (template, parameters and tags, what the `pipectl:spec-hash` tag
  records): apply refuses a plan whose manifest no longer matches it, as for every stack;
- `template_sha256`, the SHA-256 of the template file in build/: the exact template the approval
  covered. Apply creates the change set only when the file still has that hash.

Apply then makes the change set once every dependency succeeded, with the same name, tags,
parameters and role as plan would, checks it like a planned one (stale stack, stateful resources
replaced or removed without `--allow-replace`) and executes it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from typing import TYPE_CHECKING

from generator.deploy import cfn, uploads
from generator.deploy.aws import Aws
from generator.deploy.changes import TO_CONFIRM, PlanAction, ResourceChange, from_change_set
from generator.deploy.deployed import DeployedStack, read_one
from generator.deploy.errors import RefusedError, StalePlanError
from generator.deploy.manifest import Manifest, StackSpec
from generator.deploy.progress import Progress
from generator.deploy.review import rows_between

if TYPE_CHECKING:
    from generator.deploy.results import StackPlan


def template_sha256(body: str) -> str:
    """What plan.json records and apply compares: the template file exactly as synth wrote it."""
    return hashlib.sha256(body.encode()).hexdigest()


def template_changes(aws: Aws, spec: StackSpec, live: DeployedStack | None, body: str) -> list[ResourceChange]:
    """The resources a deferred stack's change set will touch, as far as the templates tell."""
    old = None
    if live is not None:
        raw = aws.cfn(spec.region).get_template(StackName=live.stack_id, TemplateStage="Original")["TemplateBody"]
        old = raw if isinstance(raw, dict) else json.loads(raw)
    return rows_between(old, json.loads(body), spec.stateful, TO_CONFIRM)


def staleness(aws: Aws, stack: StackPlan, live: DeployedStack | None) -> str:
    """Why a deferred stack is no longer where the plan left it ("" when it still is)."""
    if stack.action == PlanAction.CREATE_AFTER:
        return "" if live is None else f"the stack was created meanwhile ({live.status})"
    if live is None or live.stack_id != stack.stack_id:
        return "the stack was deleted or replaced since the plan"
    return (
        ""
        if cfn.fingerprint(aws, live) == stack.fingerprint
        else (f"the stack was updated since the plan (now {live.status})")
    )


def at_risk(changes: list[ResourceChange], allowed: frozenset[str]) -> list[str]:
    """Stateful resources a change set would replace or delete that `--allow-replace` does not name."""
    return [
        f"{change.resource} ({change.type}) would be "
        + ("deleted" if change.action == "Remove" else f"replaced (replacement: {change.replacement})")
        for change in changes
        if change.data_at_risk and change.resource not in allowed
    ]


def approved_template(manifest: Manifest, stack: StackPlan) -> str:
    """The template a change set made at apply time may use: exactly the file whose hash the plan recorded."""
    spec = manifest[stack.name]
    body = manifest.template_body(spec)
    digest = template_sha256(body)
    if digest != stack.template_sha256 or spec.hash != stack.hash:
        raise RefusedError(
            f"template {spec.template} has sha256 {digest}, but the plan approved sha256 {stack.template_sha256}: "
            "no change set was created for it; run plan again and review"
        )
    return body


def refuse_risky(aws: Aws, spec: StackSpec, made: cfn.ChangeSet, allowed: frozenset[str], why: str) -> None:
    """A change set made at apply time that would lose data is deleted, never executed."""
    risky = at_risk([from_change_set(c, spec.stateful) for c in made.changes], allowed)
    if risky:
        aws.cfn(spec.region).delete_change_set(ChangeSetName=made.id, StackName=spec.name)
        raise RefusedError(
            f"change set {why} would lose data, so it was not executed: " + "; ".join(risky) + ". Back the data "
            "up, then apply again with --allow-replace LOGICAL_ID for each, or change the file."
        )


def create_at_apply(
    aws: Aws,
    manifest: Manifest,
    stack: StackPlan,
    revision: str,
    bucket: str | None,
    allowed: frozenset[str],
    out: Progress,
) -> StackPlan | None:
    """The change set of a deferred stack, checked as a planned one is; None when it changes nothing.

    Raises RefusedError when the template is not the approved one or the change set puts data at
    risk, StalePlanError when the stack moved on since the plan.
    """
    spec = manifest[stack.name]
    approved_template(manifest, stack)
    reason = staleness(aws, stack, read_one(aws, spec.name, spec.region))
    if reason:
        raise StalePlanError(f"{reason}; no change set was created for it; run plan again and review")
    name = cfn.change_set_name(revision)
    spec, source = uploads.stage(aws, manifest, spec, bucket)
    made = cfn.create_change_set(
        aws, spec, source, name, create=stack.action.base == PlanAction.CREATE, revision=revision
    )
    if made.empty:
        return None
    refuse_risky(aws, spec, made, allowed, f"{name}, created now that {', '.join(stack.after)} succeeded,")
    changes = [from_change_set(c, spec.stateful) for c in made.changes]
    out.note(
        stack.name, f"change set {name} created now that {', '.join(stack.after)} succeeded: {len(changes)} change(s)"
    )
    return replace(stack, change_set=made.id, change_set_name=name, stack_id=made.stack_id, changes=changes)
