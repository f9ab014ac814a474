"""plan.md: the plan as the person approving it reads it, in one pass, dangers first.

The summary on top counts stacks per action, then names data at risk, then access widened and
narrowed; then changes that start a bill (a user pool moving to a paid plan). Stacks whose file
is gone are listed apart: apply never deletes them, prune does. The dependency graph follows, then
one section per changed stack: a new stack summarised by resource type (its statements folded
away), a modified one with every changed property before → after, its IAM statements and
security-group rules added and removed. Change set links point at the AWS
console on the AWS target only; the local target shows its own identifiers.
"""

from __future__ import annotations

from collections import Counter
from urllib.parse import quote

from generator.deploy.changes import TO_CONFIRM, PlanAction
from generator.deploy.diagram import mermaid
from generator.deploy.manifest import Manifest
from generator.deploy.report_tables import property_table, rule_table, statement_table
from generator.deploy.results import Plan, StackPlan


def console_link(region: str, stack_id: str, change_set_id: str) -> str:
    return (
        f"https://{region}.console.aws.amazon.com/cloudformation/home?region={region}"
        f"#/stacks/changesets/changes?stackId={quote(stack_id, safe='')}"
        f"&changeSetId={quote(change_set_id, safe='')}"
    )


def render_plan(plan: Plan, manifest: Manifest) -> str:
    scope = f", environment {plan.env}" if plan.env else ""
    lines = [
        f"# pipectl plan {plan.revision}",
        "",
        # Line 3 is the one-line summary: the delivery pipeline's approval message quotes it.
        f"**{plan.summary()}** — target {plan.target} ({plan.region}){scope}, created {plan.created_at}.",
        "",
    ]
    lines += _summary(plan)
    lines += _costs(plan)
    lines += _orphans(plan)
    lines += _graph(plan, manifest)
    for stack in plan.stacks:
        if stack.action not in (PlanAction.NONE, PlanAction.DELETE):
            lines += _stack_section(stack, manifest, plan.target)
    unchanged = [s.name for s in plan.stacks if s.action == PlanAction.NONE]
    if unchanged:
        lines += ["## Unchanged", "", *[f"- {name}" for name in unchanged], ""]
    return "\n".join(lines).rstrip() + "\n"


def _summary(plan: Plan) -> list[str]:
    rows = [
        ("create", PlanAction.CREATE),
        ("update", PlanAction.UPDATE),
        ("unchanged", PlanAction.NONE),
        ("could not be planned", PlanAction.ERROR),
    ]
    out = ["## Summary", "", "| stacks | count |", "| --- | --- |"]
    for label, action in rows:
        count = plan.count(action)
        later = plan.count(action.after()) if action in (PlanAction.CREATE, PlanAction.UPDATE) else 0
        if count + later or action != PlanAction.ERROR:
            out.append(
                f"| {label} | {count + later}" + (f" ({later} after their dependencies)" if later else "") + " |"
            )
    gone = plan.count(PlanAction.DELETE)
    if gone:
        out.append(f"| file gone: `pipectl prune` deletes, `apply` does not | {gone} |")
    out.append("")
    risk, widened, narrowed = _dangers(plan), _access(plan, widening=True), _access(plan, widening=False)
    out += (
        ["**Data at risk**", "", *risk, ""]
        if risk
        else ["No data at risk: nothing stateful is replaced or removed.", ""]
    )
    if widened:
        out += ["**Access widened**: review who gains what.", "", *widened, ""]
    else:
        out += ["No access widened.", ""]
    if narrowed:
        out += ["**Access narrowed**: check nothing still needs it.", "", *narrowed, ""]
    return out


def _dangers(plan: Plan) -> list[str]:
    out: list[str] = []
    for stack in plan.stacks:
        for change in stack.changes:
            if change.data_at_risk:
                verb = "removed" if change.action == "Remove" else f"replaced (replacement: {change.replacement})"
                why = [p.path for p in change.properties if p.replaces]
                because = f", because {', '.join(why)} changed" if why and change.action != "Remove" else ""
                out.append(f"- **{stack.name}: stateful {change.resource} ({change.type}) is {verb}{because}**")
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
    return out


SHOWN = 3  # grants named per resource in the summary; the stack's section has them all


def _said(lines: list[str]) -> str:
    if not lines:
        return "something (its policies could not be compared: read its section)"
    more = f"; and {len(lines) - SHOWN} more" if len(lines) > SHOWN else ""
    return "; ".join(f"`{line}`" for line in lines[:SHOWN]) + more


def _access(plan: Plan, widening: bool) -> list[str]:
    """One line per new stack (everything in it is new), one per resource of a modified stack."""
    out = []
    for stack in plan.stacks:
        if stack.action.base == PlanAction.CREATE:
            hits = [c for c in stack.changes if c.widening]
            if widening and hits:
                allows = sum(1 for c in hits for s in c.statements if s.effect == "Allow")
                rules = sum(len(c.rules) for c in hits)
                out.append(
                    f"- {stack.name} (new stack): {allows} Allow statement(s) and {rules} security-group rule(s) "
                    f"in {len(hits)} resource(s), listed in its section"
                )
            continue
        for c in stack.changes:
            if widening and c.widening:
                out.append(f"- {stack.name}: {c.resource} ({c.type}) newly allows {_said(c.granted)}")
            elif not widening and c.narrowing:
                out.append(f"- {stack.name}: {c.resource} ({c.type}) no longer allows {_said(c.revoked)}")
    return out


def _orphans(plan: Plan) -> list[str]:
    gone = [s for s in plan.stacks if s.action == PlanAction.DELETE]
    if not gone:
        return []
    return [
        "## Stacks whose pipeline file is gone",
        "",
        "`apply` leaves these alone. `pipectl prune` lists them and `pipectl prune --yes` deletes them; "
        "resources with a Retain policy keep their data.",
        "",
        *[f"- {s.name} ({s.reason})" for s in gone],
        "",
    ]


def _graph(plan: Plan, manifest: Manifest) -> list[str]:
    graph = manifest.dependencies()
    if not graph:
        return []
    marks = {s.name: str(s.action) for s in plan.stacks if s.action.changes_stack or s.action == PlanAction.ERROR}
    return ["## Dependency graph", "", "```mermaid", mermaid(graph, marks).rstrip(), "```", ""]


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


def _change_set_line(stack: StackPlan, target: str) -> list[str]:
    if not (stack.change_set and stack.stack_id):
        return []
    if target == "aws":
        link = console_link(stack.region, stack.stack_id, stack.change_set)
        return [f"[change set {stack.change_set_name} in the AWS console]({link})", ""]
    return [f"Change set `{stack.change_set_name}` on the {target} target (`{stack.change_set}`).", ""]


def _stack_section(stack: StackPlan, manifest: Manifest, target: str) -> list[str]:
    spec = manifest.get(stack.name)
    where = f"{stack.pipeline}/{stack.env} {stack.kind}" if stack.pipeline else (spec.kind if spec else "")
    out = [f"## {stack.name} — {describe_action(stack)}", ""]
    if where:
        out += [where, ""]
    if stack.reason:
        out += [stack.reason, ""]
    if stack.action.deferred:
        template = f"`{spec.template}` " if spec else ""
        out += [
            f"Change set created at apply time, once {', '.join(stack.after)} succeeded: "
            f"{stack.after[0] if len(stack.after) == 1 else 'they'} export values this stack imports, which "
            f"CloudFormation resolves when the change set is made. Apply makes it from the template {template}"
            f"with sha256 `{stack.template_sha256}` and refuses any other.",
            "",
        ]
    out += _change_set_line(stack, target)
    if stack.action.base == PlanAction.CREATE:
        return out + _new_stack(stack)
    return out + _modified_stack(stack)


def _new_stack(stack: StackPlan) -> list[str]:
    """A new stack is read by what it holds, not resource by resource; its grants stay one click away."""
    counts = Counter(c.type for c in stack.changes)
    out = [f"{len(stack.changes)} resources: " + ", ".join(f"{n} {t}" for t, n in sorted(counts.items())), ""]
    statements = [s for c in stack.changes for s in c.statements]
    rules = [r for c in stack.changes for r in c.rules]
    if statements or rules:
        title = f"{len(statements)} IAM statement(s) and {len(rules)} security-group rule(s) granted"
        out += ["<details>", f"<summary>{title}</summary>", ""]
        for c in stack.changes:
            if c.statements or c.rules:
                out += [f"**{c.resource}** ({c.type})", ""]
                out += statement_table(c.statements) + rule_table(c.rules)
        out += ["</details>", ""]
    return out


def _modified_stack(stack: StackPlan) -> list[str]:
    if not stack.changes:
        return []
    out = ["| resource | type | action | replacement | access |", "| --- | --- | --- | --- | --- |"]
    for c in stack.changes:
        cells = [c.resource, c.type, c.action, c.replacement, c.access]
        if c.data_at_risk:
            cells = [f"**{cell}**" if cell else cell for cell in cells]
        out.append("| " + " | ".join(cells) + " |")
    out.append("")
    if any(c.note == TO_CONFIRM for c in stack.changes):
        out += ["Rows listed from the templates; the change set made at apply time confirms them.", ""]
    for c in stack.changes:
        if not (c.properties or c.statements or c.rules):
            continue
        replacement = f", replacement {c.replacement}" if c.action == "Modify" else ""
        out += [f"### {c.resource} — {c.action}{replacement}", ""]
        out += property_table(c.properties) + statement_table(c.statements) + rule_table(c.rules)
    return out
