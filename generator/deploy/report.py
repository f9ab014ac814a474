"""plan.md: the plan as the person approving it reads it, dangers first.

Data at risk (replaced or removed stateful resources, stacks to delete) comes first in bold, then
possible permission widening (IAM, resource policies, security groups), then changes that start a
bill (a user pool moving to a paid plan), then a table per stack
with a link to its change set in the console.
"""

from __future__ import annotations

from urllib.parse import quote

from generator.deploy.changes import TO_CONFIRM, PlanAction
from generator.deploy.manifest import Manifest
from generator.deploy.results import Plan, StackPlan


def console_link(region: str, stack_id: str, change_set_id: str) -> str:
    return (
        f"https://{region}.console.aws.amazon.com/cloudformation/home?region={region}"
        f"#/stacks/changesets/changes?stackId={quote(stack_id, safe='')}"
        f"&changeSetId={quote(change_set_id, safe='')}"
    )


def render_plan(plan: Plan, manifest: Manifest) -> str:
    lines = [
        f"# pipectl plan {plan.revision}",
        "",
        f"**{plan.summary()}** — target {plan.target} ({plan.region}), created {plan.created_at}.",
        "",
    ]
    lines += _dangers(plan)
    lines += _widening(plan)
    lines += _costs(plan)
    for stack in plan.stacks:
        if stack.action != PlanAction.NONE:
            lines += _stack_section(stack, manifest)
    unchanged = [s.name for s in plan.stacks if s.action == PlanAction.NONE]
    if unchanged:
        lines += ["## Unchanged", "", *[f"- {name}" for name in unchanged], ""]
    return "\n".join(lines).rstrip() + "\n"


def _dangers(plan: Plan) -> list[str]:
    out: list[str] = []
    for stack in plan.stacks:
        for change in stack.changes:
            if change.data_at_risk:
                verb = "removed" if change.action == "Remove" else f"replaced (replacement: {change.replacement})"
                out.append(f"- **{stack.name}: stateful resource {change.resource} ({change.type}) is {verb}**")
        if stack.action == PlanAction.DELETE:
            out.append(
                f"- **{stack.name} would be deleted by `pipectl prune` ({stack.reason}); "
                "resources with a Retain policy keep their data**"
            )
        if stack.recovery:
            out.append(f"- **{stack.name} is {stack.status}: apply first does {stack.recovery}**")
    unknown = sum(
        1 for s in plan.stacks for c in s.changes if c.stateful and c.replacement == "unknown" and c.note != TO_CONFIRM
    )
    if unknown:
        out.append(
            f"- **{unknown} modified stateful resource(s) with unknown replacement (the target did not "
            "report it and the deployed template could not be read): check them before approving**"
        )
    later = sum(
        1
        for s in plan.stacks
        for c in s.changes
        if c.stateful and c.action == "Modify" and c.replacement == "unknown" and c.note == TO_CONFIRM
    )
    if later:
        out.append(
            f"- **{later} modified stateful resource(s) in stacks whose change set is created at apply time: "
            "replacement is known only then; apply refuses to replace or delete them without --allow-replace**"
        )
    return ["## Data at risk", "", *out, ""] if out else []


def _widening(plan: Plan) -> list[str]:
    out = [
        f"- {stack.name}: {c.action} {c.resource} ({c.type})"
        for stack in plan.stacks
        for c in stack.changes
        if c.widening
    ]
    if not out:
        return []
    return [
        "## Possible permission widening",
        "",
        "IAM, resource-policy and security-group changes: review who gains access.",
        "",
        *out,
        "",
    ]


def _costs(plan: Plan) -> list[str]:
    out = [f"- {stack.name}: {line}" for stack in plan.stacks for line in stack.costs]
    if not out:
        return []
    return ["## New costs", "", "Changes that move a resource to a paid plan: approve them knowingly.", "", *out, ""]


def describe_action(stack: StackPlan) -> str:
    """`create after pipectl-shop-prod-storage` for a deferred stack, the action itself otherwise."""
    if stack.action.deferred:
        return f"{stack.action.base} after {', '.join(stack.after)}"
    return str(stack.action)


def _stack_section(stack: StackPlan, manifest: Manifest) -> list[str]:
    spec = manifest.get(stack.name)
    where = f"{stack.pipeline}/{stack.env} {stack.kind}" if stack.pipeline else (spec.kind if spec else "")
    out = [f"## {stack.name} — {describe_action(stack)}", ""]
    if where:
        out += [f"{where}", ""]
    if stack.reason:
        out += [f"{stack.reason}", ""]
    if stack.action.deferred:
        template = f"`{spec.template}` " if spec else ""
        out += [
            f"Change set created at apply time, once {', '.join(stack.after)} succeeded: "
            f"{stack.after[0] if len(stack.after) == 1 else 'they'} export values this stack imports, which "
            f"CloudFormation resolves when the change set is made. Apply makes it from the template {template}"
            f"with sha256 `{stack.template_sha256}` and refuses any other.",
            "",
            "Resources listed from the template; actions and replacement are confirmed by the change set.",
            "",
        ]
    if stack.change_set and stack.stack_id:
        out += [
            f"[change set {stack.change_set_name} in the console]"
            f"({console_link(stack.region, stack.stack_id, stack.change_set)})",
            "",
        ]
    if stack.changes:
        out += ["| resource | type | action | replacement | note |", "| --- | --- | --- | --- | --- |"]
        for c in stack.changes:
            notes = [n for n, on in (("stateful", c.stateful), ("possible widening", c.widening)) if on]
            cells = [c.resource, c.type, c.action, c.replacement, ", ".join(notes)]
            if c.data_at_risk:
                cells = [f"**{cell}**" if cell else cell for cell in cells]
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
    return out
