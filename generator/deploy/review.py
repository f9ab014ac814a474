"""What changes inside each resource of a plan: the part of plan.md a reviewer approves.

A change set says which resources change; the two templates say how. For every row this fills in
the changed properties (unless the change set already gave AWS's resolved before/after values), the
IAM statements and security-group rules added or removed, and whether access widens or narrows.
Replacement the target left unreported is computed from the provider schemas.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from generator.deploy.access import diff_access, statement_key
from generator.deploy.changes import TO_CONFIRM, ResourceChange, resource_change
from generator.deploy.properties import diff_properties, secret_parameters
from generator.deploy.replacement import between_templates


def _resources(template: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    resources = (template or {}).get("Resources") or {}
    return {str(k): v for k, v in resources.items() if isinstance(v, dict)}


def _properties(resource: Mapping[str, Any] | None) -> dict[str, Any] | None:
    found = (resource or {}).get("Properties")
    return found if isinstance(found, dict) else None


def rows_between(
    old_template: Mapping[str, Any] | None, new_template: Mapping[str, Any], stateful: tuple[str, ...], note: str
) -> list[ResourceChange]:
    """The resources whose template entry differs: Add, Remove, or Modify (replacement True when the type
    or a create-only property changes, else `unknown` until `annotate` or a change set answers)."""
    old, new = _resources(old_template), _resources(new_template)
    out = []
    for logical in sorted({*old, *new}):
        before, after = old.get(logical), new.get(logical)
        if before == after:
            continue
        if before is None or after is None:
            present = after or before or {}
            action = "Add" if before is None else "Remove"
            out.append(resource_change(logical, str(present.get("Type", "")), action, "n/a", stateful, note))
            continue
        kind = str(after.get("Type", ""))
        replaced = kind != before.get("Type") or any(
            p.replaces for p in diff_properties(kind, _properties(before), _properties(after))
        )
        out.append(resource_change(logical, kind, "Modify", "True" if replaced else "unknown", stateful, note))
    return out


def annotate(
    changes: list[ResourceChange], old_template: Mapping[str, Any] | None, new_template: Mapping[str, Any]
) -> list[ResourceChange]:
    """The rows with their property, statement and rule tables and access verdicts filled in."""
    old, new = _resources(old_template), _resources(new_template)
    secrets = secret_parameters(new_template) | secret_parameters(old_template or {})
    # A deferred stack's rows stay `unknown` where a create-only property did not change: its change
    # set, made at apply time, answers, and apply refuses data loss then.
    unknown = {
        c.resource: c.type
        for c in changes
        if c.action == "Modify" and c.replacement == "unknown" and c.note != TO_CONFIRM
    }
    computed = between_templates(unknown, old_template or {}, new_template) if unknown and old_template else {}
    for change in changes:
        before = _properties(old.get(change.resource)) if change.action != "Add" else None
        after = _properties(new.get(change.resource)) if change.action != "Remove" else None
        if change.action == "Modify" and not change.properties:
            change.properties = diff_properties(change.type, before, after, secrets)
        if change.resource in computed:
            change.replacement = computed[change.resource]
        access = diff_access(change.type, before, after)
        change.statements = sorted(access.statements, key=statement_key)
        change.rules = access.rules
        change.access = str(access.access)
        change.granted, change.revoked = access.granted, access.revoked
        change.widening = access.access.widens
    return changes


def deployed_template(raw: Any) -> dict[str, Any] | None:
    """GetTemplate's body, whichever form the target answers in (text or an already parsed object)."""
    if isinstance(raw, dict):
        return raw
    if isinstance(raw, str):
        try:
            parsed = json.loads(raw)
        except ValueError:
            return None
        return parsed if isinstance(parsed, dict) else None
    return None
