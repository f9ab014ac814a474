"""Deleting resources and stacks as CloudFormation does: retained resources stay, a non-empty bucket
fails its delete, each resource that stays gets its DELETE_FAILED event, and a stack whose export
another stack imports is not deleted at all.
"""

from __future__ import annotations

import uuid
from typing import Any

from generator.deploy.local import compat
from generator.deploy.local import exports as imports
from generator.deploy.local.events import drop_exports, reason_of, resource_event, stack_event
from generator.deploy.local.failures import ResourceFailed
from generator.deploy.replacement import references

RETAINED = frozenset({"Retain", "RetainExceptOnCreate"})


def checked_delete(original: Any) -> Any:
    """Skip retained resources, refuse non-empty buckets, and remember why each resource failed."""

    def delete_resource(resource_map: Any, parsed: Any, resource_json: dict[str, Any]) -> None:
        logical_id = str(getattr(parsed, "logical_resource_id", ""))
        resource_type = str(resource_json.get("Type", ""))
        if resource_json.get("DeletionPolicy") in RETAINED:
            return
        try:
            if resource_type == "AWS::S3::Bucket" and getattr(parsed, "keys", None):
                raise ResourceFailed(
                    logical_id, resource_type,
                    "The bucket you tried to delete is not empty (Service: S3, Status Code: 409, "
                    f"Request ID: {_request_id()}) (HandlerErrorCode: GeneralServiceException)",
                )  # fmt: skip
            original(resource_map, parsed, resource_json)
        except Exception as exc:
            failure = (
                exc if isinstance(exc, ResourceFailed) else ResourceFailed(logical_id, resource_type, reason_of(exc))
            )
            failures(resource_map)[logical_id] = failure
            raise failure from exc
        failures(resource_map).pop(logical_id, None)

    return delete_resource


def failures(resource_map: Any) -> dict[str, ResourceFailed]:
    if not hasattr(resource_map, "_pipectl_failures"):
        resource_map._pipectl_failures = {}
    failures: dict[str, ResourceFailed] = resource_map._pipectl_failures
    return failures


def _request_id() -> str:
    return str(uuid.uuid4())


def forget_deleted(stack: Any) -> None:
    """moto's resource map creates again any resource it is asked for: keep only what still exists,
    and only the outputs that can still be read from it."""
    resource_map = stack.resource_map
    remaining = {name for name, value in resource_map._parsed_resources.items() if not isinstance(value, str)}
    resource_map._resource_json_map = {
        name: resource for name, resource in resource_map._resource_json_map.items() if name in remaining
    }
    template = dict(stack.template_dict or {})
    readable = remaining | set(template.get("Parameters") or {})
    template["Outputs"] = {
        key: output
        for key, output in (template.get("Outputs") or {}).items()
        if all(name in readable or name.startswith("AWS::") for name in references(output))
    }
    stack.output_map = compat.OutputMap(resource_map, template, stack.stack_id)


def report_delete_failures(stack: Any) -> None:
    for failure in failures(stack.resource_map).values():
        resource_event(stack, failure, "DELETE_FAILED")


def delete_stack(backend: Any, name_or_stack_id: str) -> None:
    """Delete what can go; a stack whose export is imported, or with a resource that stays, is DELETE_FAILED."""
    stack = backend.stacks.get(name_or_stack_id) or next(
        (s for s in backend.stacks.values() if s.name == name_or_stack_id), None
    )
    if stack is None:
        return
    stack_event(stack, "DELETE_IN_PROGRESS", "User Initiated")
    used = imports.in_use(backend, stack)
    if used:
        export, importer = used[0]
        stack_event(stack, "DELETE_FAILED", f"Export {export} cannot be deleted as it is in use by {importer}")
        return
    failures(stack.resource_map).clear()
    try:
        stack.resource_map.delete()
    except ResourceFailed:  # each failure is recorded per resource by checked_delete, reported below
        forget_deleted(stack)
        report_delete_failures(stack)
        failed = ", ".join(sorted(failures(stack.resource_map)))
        stack_event(stack, "DELETE_FAILED", f"The following resource(s) failed to delete: [{failed}]. ")
        return
    forget_deleted(stack)
    stack_event(stack, "DELETE_COMPLETE")
    backend.stacks.pop(stack.stack_id, None)
    backend.deleted_stacks[stack.stack_id] = stack
    drop_exports(backend, stack)
