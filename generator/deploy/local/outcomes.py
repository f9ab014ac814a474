"""Stack operations that end the way CloudFormation ends them, instead of an HTTP 500.

moto raises out of the request when a resource handler fails, leaving the stack CREATE_IN_PROGRESS,
and deletes what it can without saying what it could not. Here a failed resource gets its
`<LogicalId> <Type> CREATE_FAILED|UPDATE_FAILED|DELETE_FAILED` event with the reason, and the stack
ends ROLLBACK_COMPLETE (created resources removed), UPDATE_ROLLBACK_COMPLETE (the previous template
restored, best effort) or DELETE_FAILED. Exports follow CloudFormation: an import of a missing export
fails the operation, and an export another stack imports cannot be removed, changed or deleted.
A non-empty bucket is never deleted, and retained resources are skipped on removal as on delete.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from generator.deploy.local import compat, removal
from generator.deploy.local import exports as imports
from generator.deploy.local.events import STACK_TYPE, drop_exports, log, reason_of, resource_event, stack_event
from generator.deploy.local.failures import ResourceFailed
from generator.deploy.local.removal import failures, forget_deleted, report_delete_failures


@dataclass(frozen=True)
class _Previous:
    template: Any
    parameters: dict[str, Any]


def enforce() -> None:
    """Patch moto's CloudFormation engine once per process."""
    compat.patch_once(compat.parsing, "parse_and_create_resource", _resource_operation("CREATE"))
    compat.patch_once(compat.parsing, "parse_and_update_resource", _resource_operation("UPDATE"))
    compat.patch_once(compat.ResourceMap, "_delete_resource", removal.checked_delete)
    compat.patch_once(compat.CloudFormationBackend, "create_stack", _create_stack)
    compat.patch_once(compat.CloudFormationBackend, "create_change_set", _create_change_set)
    compat.patch_once(compat.CloudFormationBackend, "update_stack", lambda _: update_stack)
    compat.patch_once(compat.CloudFormationBackend, "execute_change_set", lambda _: execute_change_set)
    compat.patch_once(compat.CloudFormationBackend, "delete_stack", lambda _: removal.delete_stack)


def _resource_operation(operation: str) -> Any:
    """Turn any exception out of one resource's create or update into ResourceFailed for that resource."""

    def wrap(original: Any) -> Any:
        def call(logical_id: str, resource_json: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
            try:
                return original(logical_id, resource_json, *args, **kwargs)
            except ResourceFailed:
                raise
            except Exception as exc:
                if not isinstance(exc, compat.ExportNotFound | compat.ValidationError):
                    log.exception("%s of %s failed", operation.lower(), logical_id)
                raise ResourceFailed(logical_id, str(resource_json.get("Type", "")), reason_of(exc)) from exc

        return call

    return wrap


# --- create -------------------------------------------------------------------------------------------------


def _create_stack(original: Any) -> Any:
    def create_stack(backend: Any, name: str, template: str, parameters: dict[str, Any], **kwargs: Any) -> Any:
        parsed = compat.Stack.parse_template(template)
        if isinstance(parsed, dict):
            probe = _Probe(name, backend)
            missing = imports.missing_import(parsed, imports.context(parsed, parameters, probe), backend.exports)
            if missing is not None:
                return _failed_before_resources(backend, name, template, parameters, missing, **kwargs)
        before = set(backend.stacks)
        try:
            return original(backend, name, template, parameters, **kwargs)
        except Exception as exc:
            # The stack exists once moto registered it; what fails after (a resource, an exported output
            # evaluated early) rolls it back. What fails before is the request's own error.
            stack = next((s for key, s in backend.stacks.items() if key not in before), None)
            if stack is None:
                raise
            rollback_create(backend, stack, exc)
            return stack

    return create_stack


class _Probe:
    """Enough of a stack for `exports.context` before the stack exists."""

    def __init__(self, name: str, backend: Any) -> None:
        self.name = name
        self.stack_id = compat.generate_stack_id(name, backend.region_name, backend.account_id)
        self.region_name = backend.region_name
        self.account_id = backend.account_id


def _failed_before_resources(
    backend: Any, name: str, template: str, parameters: dict[str, Any], missing: str, **kwargs: Any
) -> Any:
    """CloudFormation accepts the CreateStack, then rolls it back before creating any resource."""
    stack_class: Any = compat.Stack
    stack = stack_class(
        stack_id=compat.generate_stack_id(name, backend.region_name, backend.account_id), name=name, template={},
        parameters=parameters, account_id=backend.account_id, region_name=backend.region_name,
        notification_arns=kwargs.get("notification_arns"), tags=kwargs.get("tags"), role_arn=kwargs.get("role_arn"),
    )  # fmt: skip
    stack.template = template
    backend.stacks[stack.stack_id] = stack
    stack_event(stack, "CREATE_IN_PROGRESS", "User Initiated")
    stack_event(stack, "ROLLBACK_IN_PROGRESS", f"No export named {missing} found. Rollback requested by user.")
    stack_event(stack, "ROLLBACK_COMPLETE")
    return stack


def rollback_create(backend: Any, stack: Any, exc: Exception) -> None:
    """The failed resource's CREATE_FAILED, then every created resource removed: ROLLBACK_COMPLETE."""
    failure = _as_failure(stack, exc)
    if failure.resource_type != STACK_TYPE:
        resource_event(stack, failure, "CREATE_FAILED")
    stack_event(
        stack,
        "ROLLBACK_IN_PROGRESS",
        f"The following resource(s) failed to create: [{failure.logical_id}]. Rollback requested by user.",
    )
    drop_exports(backend, stack)
    failures(stack.resource_map).clear()
    try:
        stack.resource_map.delete()
    except ResourceFailed:  # each failure is recorded per resource by removal.checked_delete, reported below
        forget_deleted(stack)
        report_delete_failures(stack)
        stack_event(
            stack,
            "ROLLBACK_FAILED",
            f"The following resource(s) failed to delete: [{', '.join(sorted(failures(stack.resource_map)))}]. ",
        )
        return
    forget_deleted(stack)
    stack_event(stack, "ROLLBACK_COMPLETE")


def _as_failure(stack: Any, exc: BaseException) -> ResourceFailed:
    if isinstance(exc, ResourceFailed):
        return exc
    log.error("stack %s failed outside a resource handler", stack.name, exc_info=exc)
    return ResourceFailed(stack.name, STACK_TYPE, reason_of(exc))


# --- change sets and updates --------------------------------------------------------------------------------


def _create_change_set(original: Any) -> Any:
    """An import of a missing export fails the change set, with CloudFormation's reason."""

    def create_change_set(backend: Any, *args: Any, **kwargs: Any) -> Any:
        change_set_id, stack_id = original(backend, *args, **kwargs)
        change_set = backend.change_sets[change_set_id]
        stack = backend.stacks[stack_id]
        template = change_set.template_dict or {}
        names = imports.context(template, change_set.parameters or {}, stack)
        missing = imports.missing_import(template, names, backend.exports)
        if missing is not None:
            change_set.status = "FAILED"
            change_set.execution_status = "UNAVAILABLE"
            change_set.status_reason = f"No export named {missing} found."
        return change_set_id, stack_id

    return create_change_set


def _find_change_set(backend: Any, name: str, stack_name: str | None) -> Any:
    found = backend.change_sets.get(name) or next(
        (cs for cs in backend.change_sets.values() if cs.change_set_name == name
         and (stack_name is None or stack_name in (cs.stack_name, cs.stack_id))), None)  # fmt: skip
    if found is None:
        raise compat.ValidationError(message=f"ChangeSet [{name}] does not exist")
    return found


def execute_change_set(backend: Any, change_set_name: str, stack_name: str | None = None) -> None:
    """Apply a change set; a failure ends the stack as CloudFormation's would, never in the request."""
    change_set = _find_change_set(backend, change_set_name, stack_name)
    if change_set.execution_status != "AVAILABLE":
        raise compat.ValidationError(
            message=f"ChangeSet [{change_set.change_set_id}] cannot be executed in its current status of "
            f"[{change_set.status}]"
        )
    stack = backend.stacks[change_set.stack_id]
    # A stack created from a change set starts with an empty copy of the exports: give it the region's.
    stack.cross_stack_resources = stack.resource_map.cross_stack_resources = backend.exports
    if change_set.change_set_type == "CREATE":
        stack_event(stack, "CREATE_IN_PROGRESS", "User Initiated")
        stack.template = change_set.template
        try:
            change_set.apply()
        except Exception as exc:
            change_set.execution_status = "EXECUTE_FAILED"
            stack._parse_template()
            rollback_create(backend, stack, exc)
            return
        stack_event(stack, "CREATE_COMPLETE")
    else:
        previous = _Previous(stack.template, dict(stack.parameters or {}))
        stack_event(stack, "UPDATE_IN_PROGRESS", "User Initiated")
        if not _update(backend, stack, change_set.template, change_set.parameters, change_set.apply, previous):
            change_set.execution_status = "EXECUTE_FAILED"
            return
        stack_event(stack, "UPDATE_COMPLETE")
    change_set.execution_status = "EXECUTE_COMPLETE"
    stack.template = change_set.template
    if change_set.parameters:
        stack.parameters = change_set.parameters
    _refresh_outputs(backend, stack)
    if change_set.tags:
        stack.tags = dict(change_set.tags)


def update_stack(
    backend: Any,
    name: str,
    template: str,
    role_arn: str | None,
    parameters: list[dict[str, Any]],
    tags: dict[str, str] | None,
) -> Any:
    """UpdateStack with the same outcome rules as an executed change set."""
    stack = backend.get_stack(name)
    resolved = backend._resolve_update_parameters(instance=stack, incoming_params=parameters)
    previous = _Previous(stack.template, dict(stack.parameters or {}))
    stack_event(stack, "UPDATE_IN_PROGRESS", "User Initiated")

    def apply() -> None:
        stack.resource_map.update(compat.Stack.parse_template(template), resolved)

    if _update(backend, stack, template, resolved, apply, previous):
        stack.template = template
        stack.role_arn = role_arn
        if resolved:
            stack.parameters = resolved
        if tags is not None:
            stack.tags = tags
        _refresh_outputs(backend, stack)
        stack_event(stack, "UPDATE_COMPLETE")
    return stack


def _update(backend: Any, stack: Any, template: Any, parameters: Any, apply: Any, previous: _Previous) -> bool:
    """Run `apply`; on failure, roll back to `previous` and say why. True when the update holds."""
    new = compat.Stack.parse_template(template) if isinstance(template, str) else dict(template or {})
    names = imports.context(new, parameters or {}, stack)
    missing = imports.missing_import(new, names, backend.exports)
    if missing is not None:
        stack_event(stack, "UPDATE_ROLLBACK_IN_PROGRESS", f"No export named {missing} found.")
        stack_event(stack, "UPDATE_ROLLBACK_COMPLETE")
        return False
    kept = imports.export_names(new, names)
    for export, importer in imports.in_use(backend, stack):
        if export not in kept:
            stack_event(
                stack, "UPDATE_ROLLBACK_IN_PROGRESS", f"Export {export} cannot be deleted as it is in use by {importer}"
            )
            stack_event(stack, "UPDATE_ROLLBACK_COMPLETE")
            return False
    values = {name: export.value for name, export in backend.exports.items()
              if export.exporting_stack_id == stack.stack_id}  # fmt: skip
    try:
        apply()
        stack.template = template
        changed = _changed_imported_export(backend, stack, values)
        if changed:
            raise _ExportInUse(changed)
    except Exception as exc:
        _rollback_update(backend, stack, exc, previous)
        return False
    return True


class _ExportInUse(Exception):
    """An update changed the value of an export another stack imports."""


def _changed_imported_export(backend: Any, stack: Any, before: dict[str, Any]) -> str:
    stack._parse_template()
    stack.output_map = stack._create_output_map()
    after = {export.name: export.value for export in stack.exports}
    for name, value in before.items():
        if name in after and after[name] != value:
            users = imports.importers(backend, name, stack.stack_id)
            if users:
                return f"Export {name} cannot be updated as it is in use by {users[0]}"
    return ""


def _rollback_update(backend: Any, stack: Any, exc: Exception, previous: _Previous) -> None:
    if isinstance(exc, _ExportInUse):
        reason = str(exc)
    else:
        failure = _as_failure(stack, exc)
        if failure.resource_type != STACK_TYPE:
            resource_event(stack, failure, "UPDATE_FAILED")
        reason = f"The following resource(s) failed to update: [{failure.logical_id}]. "
    stack_event(stack, "UPDATE_ROLLBACK_IN_PROGRESS", reason)
    try:
        stack.template = previous.template
        stack._parse_template()
        stack.resource_map.update(stack.template_dict, previous.parameters or None)
        stack.parameters = previous.parameters
        _refresh_outputs(backend, stack)
    except Exception as again:
        log.error("rollback of %s failed", stack.name, exc_info=again)
        stack_event(stack, "UPDATE_ROLLBACK_FAILED", reason_of(again))
        return
    stack_event(stack, "UPDATE_ROLLBACK_COMPLETE")


def _refresh_outputs(backend: Any, stack: Any) -> None:
    """Outputs and the region's exports from the stack's current template, as CloudFormation keeps them."""
    stack._parse_template()
    stack.output_map = stack._create_output_map()
    current = {export.name: export for export in stack.exports}
    for name, export in list(backend.exports.items()):
        if export.exporting_stack_id == stack.stack_id and name not in current:
            del backend.exports[name]
    backend.exports.update(current)
