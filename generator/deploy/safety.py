"""What guards retained data around an execution: the data-loss refusal, stack policies, termination protection.

Shared by the change sets plan made and those apply makes for deferred stacks
(generator/deploy/deferred.py), so both are held to the same rules.
"""

from __future__ import annotations

import json

from generator.deploy.aws import Aws
from generator.deploy.changes import PlanAction, allowed_in
from generator.deploy.deferred import at_risk
from generator.deploy.errors import PlanError, RefusedError
from generator.deploy.manifest import StackSpec
from generator.deploy.progress import Progress
from generator.deploy.results import Plan, StackPlan


def refuse_data_loss(plan: Plan, allowed: frozenset[str]) -> None:
    """Replacing or deleting a stateful resource loses its data: only when `--allow-replace` names it."""
    check_allowed(plan, allowed)
    risky = [
        f"{stack.name}: {line}"
        for stack in plan.stacks
        for line in at_risk(stack.changes, allowed_in(allowed, stack.name))
    ]
    if risky:
        raise RefusedError(
            "this plan would replace or delete stateful resources, so nothing was applied:\n  "
            + "\n  ".join(risky)
            + "\nBack the data up, then apply again with --allow-replace LOGICAL_ID for each, or change the file."
        )


def check_allowed(plan: Plan, allowed: frozenset[str]) -> None:
    """An `--allow-replace` that names nothing in the plan is a typo, not permission: refuse it, naming the choices."""
    rows = {(stack.name, c.resource) for stack in plan.stacks for c in stack.changes}
    unmatched = sorted(a for a in allowed if not any(a in (resource, f"{name}/{resource}") for name, resource in rows))
    if not unmatched:
        return
    risky = sorted(f"{stack.name}/{c.resource}" for stack in plan.stacks for c in stack.changes if c.data_at_risk)
    choices = ", ".join(risky) if risky else "none: this plan replaces or deletes no stateful resource"
    raise PlanError(
        f"--allow-replace {', '.join(unmatched)}: matches no resource this plan changes; "
        f"expected LOGICAL_ID or STACK/LOGICAL_ID of a stateful resource at risk: {choices}"
    )


def lift_policy_for(aws: Aws, spec: StackSpec, stack: StackPlan, allowed: frozenset[str], out: Progress) -> None:
    """For one run, let the stack policy allow what `--allow-replace` names (the rest stays denied)."""
    mine = allowed_in(allowed, stack.name)
    lifted = sorted({c.resource for c in stack.changes if c.resource in mine and c.data_at_risk})
    if not lifted or not spec.stack_policy or stack.action.base != PlanAction.UPDATE:
        return
    policy = json.loads(spec.stack_policy)
    for statement in policy["Statement"]:
        if statement["Effect"] == "Deny":
            statement["Resource"] = [r for r in statement["Resource"] if r.split("/", 1)[1] not in lifted]
    policy["Statement"] = [s for s in policy["Statement"] if s["Effect"] == "Allow" or s["Resource"]]
    out.note(stack.name, f"stack policy lifted for this run on {', '.join(lifted)}, as --allow-replace asked")
    aws.cfn(spec.region).set_stack_policy(StackName=stack.stack_id or stack.name, StackPolicyBody=json.dumps(policy))


def protect(aws: Aws, spec: StackSpec, stack_id: str) -> None:
    """After a deploy: the stack policy that guards retained data, and termination protection."""
    client = aws.cfn(spec.region)
    if spec.stack_policy:
        client.set_stack_policy(StackName=stack_id, StackPolicyBody=spec.stack_policy)
    if spec.termination_protection:
        client.update_termination_protection(StackName=stack_id, EnableTerminationProtection=True)
