"""Replacement in the local target's change sets: True, False or Conditional, as CloudFormation says.

moto lists Modify changes with no Replacement. Each gets the answer of generator.deploy.replacement,
from the provider schemas' create-only properties, so stack policies (Update:Replace) and plan.md
see what CloudFormation would report.
"""

from __future__ import annotations

from typing import Any

from generator.deploy.local import compat
from generator.deploy.replacement import between_templates


def enforce() -> None:
    """Patch moto's change sets once per process."""
    compat.patch_once(compat.ChangeSet, "diff", _with_replacement)


def _with_replacement(original: Any) -> Any:
    def diff(change_set: Any) -> list[Any]:
        changes: list[Any] = original(change_set)
        modified = {c.logical_resource_id: c.resource_type for c in changes if c.action == "Modify"}
        answers = between_templates(modified, change_set.stack.template_dict or {}, change_set.template_dict or {})
        for change in changes:
            change.replacement = answers.get(change.logical_resource_id, "") if change.action == "Modify" else ""
        return changes

    return diff
