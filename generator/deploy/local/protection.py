"""Termination protection and stack policies, enforced by the embedded AWS as CloudFormation does.

moto stores both but enforces neither, and has no UpdateTerminationProtection. Here the local
server gains that call, refuses DeleteStack on a protected stack, and refuses ExecuteChangeSet
when the stack policy forbids one of its changes: the controller then meets the same refusals on
the local target as on AWS, through the same API calls.
"""

from __future__ import annotations

import threading
from typing import Any

from generator.deploy.local.guards import StackProtected, policy_refusal

_lock = threading.Lock()


def enforce() -> None:
    """Patch moto's CloudFormation backend and responses once per process."""
    from moto.cloudformation.exceptions import ValidationError
    from moto.cloudformation.models import CloudFormationBackend
    from moto.cloudformation.responses import CloudFormationResponse
    from moto.core.responses import ActionResult

    with _lock:
        if getattr(CloudFormationBackend, "_pipectl_protection", False):
            return
        delete_stack = CloudFormationBackend.delete_stack
        execute_change_set = CloudFormationBackend.execute_change_set

        def guarded_delete(backend: Any, name_or_stack_id: str) -> None:
            for stack in list(backend.stacks.values()):
                if name_or_stack_id in (stack.stack_id, stack.name) and stack.enable_termination_protection:
                    raise ValidationError(
                        message=f"Stack [{stack.name}] cannot be deleted while TerminationProtection is enabled"
                    )
            delete_stack(backend, name_or_stack_id)

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
                    raise ValidationError(message=str(exc)) from None
            execute_change_set(backend, change_set_name, stack_name)

        def update_termination_protection(response: Any) -> Any:
            name = response._get_param("StackName")
            enabled = str(response._get_param("EnableTerminationProtection")).lower() == "true"
            stack = response.cloudformation_backend.get_stack(name)
            stack.enable_termination_protection = enabled
            return ActionResult({"StackId": stack.stack_id})

        backend_class: Any = CloudFormationBackend
        response_class: Any = CloudFormationResponse
        backend_class.delete_stack = guarded_delete
        backend_class.execute_change_set = guarded_execute
        response_class.update_termination_protection = update_termination_protection
        backend_class._pipectl_protection = True


def _resource_changes(change_set: Any) -> list[dict[str, Any]]:
    """The change set's resource changes in the API's shape (moto keeps them as objects)."""
    out = []
    for change in getattr(change_set, "changes", None) or []:
        out.append({
            "Action": getattr(change, "action", ""),
            "LogicalResourceId": getattr(change, "logical_resource_id", ""),
            "ResourceType": getattr(change, "resource_type", ""),
            "Replacement": getattr(change, "replacement", "") or "",
        })
    return out
