"""Termination protection and stack policies, enforced by the embedded AWS as CloudFormation does.

moto stores both but enforces neither, and has no UpdateTerminationProtection. Here the local
server gains that call, refuses DeleteStack on a protected stack, and refuses ExecuteChangeSet
when the stack policy forbids one of its changes: the controller then meets the same refusals on
the local target as on AWS, through the same API calls.
"""

from __future__ import annotations

from typing import Any

from generator.deploy.local import compat
from generator.deploy.local.guards import StackProtected, policy_refusal


def enforce() -> None:
    """Patch moto's CloudFormation backend and responses once per process (after `outcomes.enforce`)."""
    compat.patch_once(compat.CloudFormationBackend, "delete_stack", _guarded_delete, key="protection.delete")
    compat.patch_once(compat.CloudFormationBackend, "execute_change_set", _guarded_execute, key="protection.execute")
    compat.patch_once(
        compat.CloudFormationResponse, "update_termination_protection", lambda _: _update_termination_protection
    )


def _guarded_delete(delete_stack: Any) -> Any:
    def guarded_delete(backend: Any, name_or_stack_id: str) -> None:
        for stack in list(backend.stacks.values()):
            if name_or_stack_id in (stack.stack_id, stack.name) and stack.enable_termination_protection:
                raise compat.ValidationError(
                    message=f"Stack [{stack.name}] cannot be deleted while TerminationProtection is enabled"
                )
        delete_stack(backend, name_or_stack_id)

    return guarded_delete


def _guarded_execute(execute_change_set: Any) -> Any:
    def guarded_execute(backend: Any, change_set_name: str, stack_name: str | None = None) -> None:
        change_set = backend.change_sets.get(change_set_name) or next(
            (cs for cs in backend.change_sets.values() if cs.change_set_name == change_set_name), None
        )
        if change_set is not None:
            stack = backend.stacks.get(change_set.stack_id)
            changes = [{"ResourceChange": c} for c in _resource_changes(change_set)]
            try:
                policy_refusal(stack.policy if stack is not None else "", stack_name or "", changes)
            except StackProtected as exc:
                raise compat.ValidationError(message=str(exc)) from None
        execute_change_set(backend, change_set_name, stack_name)

    return guarded_execute


def _update_termination_protection(response: Any) -> Any:
    name = response._get_param("StackName")
    enabled = str(response._get_param("EnableTerminationProtection")).lower() == "true"
    stack = response.cloudformation_backend.get_stack(name)
    stack.enable_termination_protection = enabled
    return compat.ActionResult({"StackId": stack.stack_id})


def _resource_changes(change_set: Any) -> list[dict[str, Any]]:
    """The change set's resource changes in the API's shape (moto keeps them as objects)."""
    out = []
    for change in getattr(change_set, "changes", None) or []:
        out.append(
            {
                "Action": getattr(change, "action", ""),
                "LogicalResourceId": getattr(change, "logical_resource_id", ""),
                "ResourceType": getattr(change, "resource_type", ""),
                "Replacement": getattr(change, "replacement", "") or "",
            }
        )
    return out
