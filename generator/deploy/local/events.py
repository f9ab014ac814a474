"""Stack events and statuses as CloudFormation writes them, for the local target's stack operations."""

from __future__ import annotations

import logging
from typing import Any

from generator.deploy.local import compat
from generator.deploy.local.failures import ResourceFailed

log = logging.getLogger("pipectl.local")

STACK_TYPE = "AWS::CloudFormation::Stack"


def reason_of(exc: BaseException) -> str:
    """What a stack event says about an exception: the handler's message, else the exception itself."""
    if isinstance(exc, ResourceFailed):
        return exc.reason
    message = getattr(exc, "message", None) or str(exc)
    return str(message) if message else type(exc).__name__


def resource_event(stack: Any, failure: ResourceFailed, status: str) -> None:
    """A resource's FAILED event, as CloudFormation writes it."""
    resource = stack.resource_map._parsed_resources.get(failure.logical_id)
    physical = str(getattr(resource, "physical_resource_id", "") or "")
    stack.events.append(compat.Event(
        stack_id=stack.stack_id, stack_name=stack.name, logical_resource_id=failure.logical_id,
        physical_resource_id=physical, resource_type=failure.resource_type, resource_status=status,
        resource_status_reason=failure.reason, resource_properties=None,
    ))  # fmt: skip


def stack_event(stack: Any, status: str, reason: str | None = None) -> None:
    """The stack's own event, status and StackStatusReason, which describe_stacks reports."""
    stack.status = status
    if reason is not None or "ROLLBACK" not in status:  # a rolled-back stack keeps saying why
        stack.stack_status_reason = reason
    stack._add_stack_event(status, resource_status_reason=reason)


def drop_exports(backend: Any, stack: Any) -> None:
    for name, export in list(backend.exports.items()):
        if export.exporting_stack_id == stack.stack_id:
            del backend.exports[name]
