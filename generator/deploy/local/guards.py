"""What moto stores but does not enforce: termination protection and stack policies.

On the local target the controller calls these before deleting a stack or executing a change set,
so a protected stack behaves as it would on AWS instead of silently going away.
"""

from __future__ import annotations

import fnmatch
import json
from typing import Any


class StackProtected(Exception):
    """The operation would be refused by real CloudFormation."""


def check_termination_protection(client: Any, stack_name: str) -> None:
    """Raise StackProtected when the stack has termination protection (call before delete_stack)."""
    stack = client.describe_stacks(StackName=stack_name)["Stacks"][0]
    if stack.get("EnableTerminationProtection"):
        raise StackProtected(f"Stack [{stack_name}] cannot be deleted while TerminationProtection is enabled")


def check_stack_policy(client: Any, stack_name: str, change_set_changes: list[dict[str, Any]]) -> None:
    """Raise StackProtected when the stack policy denies one of the change set's resource changes.

    `change_set_changes` is `describe_change_set(...)["Changes"]`. Follows AWS's evaluation: an
    update is allowed only if some Allow statement matches and no Deny statement does. Without a
    policy every update is allowed. Additions are never subject to a stack policy.
    """
    policy_refusal(
        client.get_stack_policy(StackName=stack_name).get("StackPolicyBody") or "", stack_name, change_set_changes
    )


def policy_refusal(body: str, stack_name: str, change_set_changes: list[dict[str, Any]]) -> None:
    """Raise StackProtected when the stack policy `body` forbids one of the changes (no policy: all allowed)."""
    if not body:
        return
    statements = json.loads(body).get("Statement", [])
    for change in change_set_changes:
        detail = change.get("ResourceChange", {})
        action = _update_action(detail)
        if action is None:
            continue
        resource = f"LogicalResourceId/{detail.get('LogicalResourceId', '')}"
        resource_type = str(detail.get("ResourceType", ""))
        matching = [s for s in statements if _matches(s, action, resource, resource_type)]
        allowed = any(s.get("Effect") == "Allow" for s in matching)
        denied = any(s.get("Effect") == "Deny" for s in matching)
        if denied or not allowed:
            raise StackProtected(
                f"Stack [{stack_name}]: the stack policy forbids {action} on {resource} ({resource_type})"
            )


def _update_action(detail: dict[str, Any]) -> str | None:
    """The stack-policy action a resource change performs, or None when policies do not apply."""
    change = detail.get("Action")
    if change == "Remove":
        return "Update:Delete"
    if change == "Modify":
        return "Update:Replace" if detail.get("Replacement") in ("True", "Conditional") else "Update:Modify"
    return None


def _listed(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _matches(statement: dict[str, Any], action: str, resource: str, resource_type: str) -> bool:
    if "Action" in statement:
        action_ok = any(fnmatch.fnmatchcase(action, pattern) for pattern in _listed(statement["Action"]))
    else:
        action_ok = not any(fnmatch.fnmatchcase(action, p) for p in _listed(statement.get("NotAction")))
    if "Resource" in statement:
        resource_ok = any(fnmatch.fnmatchcase(resource, p) for p in _listed(statement["Resource"]))
    else:
        resource_ok = not any(fnmatch.fnmatchcase(resource, p) for p in _listed(statement.get("NotResource")))
    types = _listed(statement.get("Condition", {}).get("StringEquals", {}).get("ResourceType"))
    types += _listed(statement.get("Condition", {}).get("StringLike", {}).get("ResourceType"))
    type_ok = not types or any(fnmatch.fnmatchcase(resource_type, p) for p in types)
    return action_ok and resource_ok and type_ok
