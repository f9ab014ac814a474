"""The local target deploys through the execution role: every resource operation is checked against it.

When a stack carries a `RoleARN`, each resource create, update and delete that moto's CloudFormation
engine performs is first checked, action by action, against the handler permissions of the resource
type (the execution permissions table, or the provider schema for a type the table does not hold) and
the role's policies in moto's IAM backend (inline and attached managed policies), as IAM would:

- an action with no IAM resource type is requested on `*`, so only statements on `*` grant it;
- an action on the resource's own IAM resource type is requested on the resource's ARN (moto's ARN, the
  physical id when it is an ARN, or the table's ARN format filled with the physical name);
- an action on another resource type is requested on the ARNs of that type found in the resource's
  resolved properties (iam:PassRole -> the role ARN the resource names);
- when neither can be known offline (an id AWS assigns at creation, a name inside another resource's
  ARN), the action must be allowed on some resource.

A missing permission fails the resource with CloudFormation's wording (ResourceFailed). Limits: the role
is the stack's (`RoleARN` of CreateStack or of the change set that created it); conditions on keys other
than `iam:PassedToService` and `aws:RequestTag/…` are treated as holding. A `{{resolve:secretsmanager:…}}`
reference is checked (secretsmanager:GetSecretValue on its secret); SSM parameter types are not. The
physical name used for a create is generated once more for the check, so a generated name differs in
its random suffix only.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from generator.deploy.local import boundary_check, compat
from generator.deploy.local.failures import ResourceFailed
from generator.deploy.local.iam_eval import ANY_RESOURCE, Decision, decide
from generator.deploy.local.iam_limits import enforce_policy_sizes
from generator.policy.boundary import POLICY_NAME as BOUNDARY_NAME
from generator.policy.guardrails import PASSED_TO
from generator.policy.permissions import TEMPLATE_FEATURES, PermissionsTable, ResourceType, load_table
from generator.resource_schemas import UnknownResourceType, handler_permissions, schema

SESSION_NAME = "AWSCloudFormation"
# The service a resource type passes its role to (iam:PassedToService), where pipectl emits one.
_FIXED_VARIABLES = ("Partition", "Region", "Account")
_VARIABLE = re.compile(r"\$\{(\w+)\}")
_lock = threading.Lock()
_installed: list[bool] = []
_deleting: dict[str, str | None] = {}
"""Stacks whose DeleteStack is running, with their role: moto drops a stack from its list before deleting it."""


@dataclass
class CheckStats:
    """Time spent checking and the number of resource operations checked (for scripts/bench-deploy)."""

    seconds: float = 0.0
    operations: int = 0
    denied: list[str] = field(default_factory=list)


STATS = CheckStats()


@dataclass(frozen=True)
class Operation:
    """One resource operation as CloudFormation performs it."""

    operation: str  # create, update or delete
    logical_id: str
    resource_type: str
    physical_name: str | None
    own_arn: str | None
    properties: dict[str, Any]
    account_id: str
    region: str


@cache
def _arn_regex(arn_format: str) -> re.Pattern[str]:
    parts, last = [], 0
    for match in _VARIABLE.finditer(arn_format):
        parts.append(re.escape(arn_format[last : match.start()]))
        parts.append("[^:]*" if match.group(1) in _FIXED_VARIABLES else ".+")
        last = match.end()
    parts.append(re.escape(arn_format[last:]))
    return re.compile("".join(parts))


def _normal(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _fill(arn_format: str, name: str, account_id: str, region: str) -> str:
    """The ARN of `name`; a name that repeats the format's literal (`alias/x` into `alias/${Alias}`) once."""
    values = {"Partition": "aws", "Region": region, "Account": account_id}
    match = next((m for m in _VARIABLE.finditer(arn_format) if m.group(1) not in values), None)
    if match is not None:
        literal = re.split(r"[:]", arn_format[: match.start()])[-1]
        if literal and name.startswith(literal):
            name = name[len(literal) :]
    return _VARIABLE.sub(lambda m: values.get(m.group(1), name), arn_format)


def handler_actions(table: PermissionsTable, resource_type: str, operation: str) -> tuple[str, ...]:
    """The actions to check: the table's, or for a type it does not hold, the schema's named ones."""
    if resource_type in table.types:
        return table.handler_actions(resource_type, operation)
    try:
        return tuple(a for a in handler_permissions(resource_type, operation) if "*" not in a)  # type: ignore[arg-type]
    except UnknownResourceType:
        return ()


def _is_own(op: Operation, resource_type: ResourceType) -> bool:
    """Does the IAM resource type name the resource itself (AWS::S3::Bucket -> s3 `bucket`)?"""
    if op.own_arn and _arn_regex(resource_type.arn).fullmatch(op.own_arn):
        return True
    return _normal(resource_type.name) == _normal(op.resource_type.split("::")[-1])


def _own_arn(op: Operation, resource_type: ResourceType) -> str | None:
    """The resource's ARN of this IAM type, or None when a part of it is not known yet (an id AWS assigns)."""
    if op.own_arn and _arn_regex(resource_type.arn).fullmatch(op.own_arn):
        return op.own_arn
    variables = [v for v in _VARIABLE.findall(resource_type.arn) if v not in _FIXED_VARIABLES]
    if op.physical_name is None or len(variables) != 1 or variables[0].lower().endswith(("id", "uuid")):
        return None
    return _fill(resource_type.arn, op.physical_name, op.account_id, op.region)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def requested_resources(table: PermissionsTable, op: Operation, action: str) -> list[str] | None:
    """The ARNs `action` is requested on for this operation; None when they cannot be known offline."""
    types = table.resource_types(action)
    if table.has_resource_type(action) is False:
        return [ANY_RESOURCE]
    if not types:
        return None
    arns = [s for s in _strings(op.properties) if s.startswith("arn:")]
    found: list[str] = []
    for resource_type in types:
        own = _own_arn(op, resource_type) if _is_own(op, resource_type) else None
        if own is not None:
            found.append(own)
        regex = _arn_regex(resource_type.arn)
        found.extend(a for a in arns if regex.fullmatch(a))
    return list(dict.fromkeys(found)) or None


def _context(op: Operation) -> dict[str, str]:
    context = {}
    if op.resource_type in PASSED_TO:
        context["iam:PassedToService"] = PASSED_TO[op.resource_type]
    tags = op.properties.get("Tags")
    pairs = tags.items() if isinstance(tags, dict) else ((t.get("Key"), t.get("Value")) for t in tags or [])
    for key, value in pairs:
        if isinstance(key, str) and isinstance(value, str):
            context[f"aws:RequestTag/{key}"] = value
    partition = compat.get_partition(op.region)
    context.update(
        boundary_check.context(
            op.resource_type, op.properties, op.account_id, partition, op.operation, op.physical_name
        )
    )
    return context


def denial(role_arn: str, documents: list[str], op: Operation, table: PermissionsTable | None = None) -> str | None:
    """CloudFormation's reason for the first action the role may not perform, or None when all are allowed."""
    table = table or load_table()
    if op.operation != "delete":
        escalation = boundary_check.beyond_boundary(op.resource_type, op.properties)
        if escalation is not None:
            return (
                f"{op.resource_type} {op.logical_id} grants {escalation}, which the permissions boundary "
                f"{BOUNDARY_NAME} denies: a role pipectl creates may never hold it (pipectl's rule)"
            )
    context = _context(op)
    checks = [
        (action, requested_resources(table, op, action))
        for action in handler_actions(table, op.resource_type, op.operation)
    ]
    if op.operation != "delete":
        checks.extend(_dynamic_references(op))
    for action, requested in checks:
        candidates: list[str | None] = list(requested) if requested else [None]
        for resource in candidates:
            decision = decide(documents, action, resource, context)
            if decision is not Decision.ALLOWED:
                return _reason(role_arn, op, action, resource, decision)
    return None


def _dynamic_references(op: Operation) -> list[tuple[str, list[str] | None]]:
    """CloudFormation resolves `{{resolve:secretsmanager:ARN:…}}` with the role: GetSecretValue on that secret.

    Every feature CloudFormation knows is checked, not only those the derived role grants: a template
    using one the role was not derived for is refused, as AWS refuses it.
    """
    found: list[tuple[str, list[str] | None]] = []
    for text in _strings(op.properties):
        for marker, actions in TEMPLATE_FEATURES.items():
            if not (marker.startswith("{{resolve:") and marker in text):
                continue
            reference = text.split(marker, 1)[1]
            arn = ":".join(reference.split(":")[:7]) if reference.startswith("arn:") else None
            found.extend((action, [arn] if arn else None) for action in actions)
    return found


def _reason(role_arn: str, op: Operation, action: str, resource: str | None, decision: Decision) -> str:
    role_name = role_arn.rsplit("/", 1)[-1]
    caller = f"arn:aws:sts::{op.account_id}:assumed-role/{role_name}/{SESSION_NAME}"
    why = (
        "with an explicit deny in an identity-based policy"
        if decision is Decision.EXPLICIT_DENY
        else f"because no identity-based policy allows the {action} action"
    )
    namespace, prefix = op.resource_type.split("::")[1], action.split(":")[0]
    service = namespace if namespace.lower() == prefix.lower() else prefix
    target = resource if resource is not None else f"any {action.split(':')[0]} resource"
    return (
        f"User: {caller} is not authorized to perform: {action} on resource: {target} {why} "
        f"(Service: {service}, Status Code: 403, Request ID: {uuid.uuid4()})"
    )


# --- moto: the one place this module touches moto's internals -----------------------------------------


def _role_documents(account_id: str, role_arn: str) -> list[str] | None:
    """The role's inline and attached managed policy documents, or None when moto's IAM has no such role."""
    partition = role_arn.split(":")[1] if role_arn.count(":") >= 5 else "aws"
    backend = compat.partition_backend("iam", account_id, partition)
    role = next((r for r in backend.roles.values() if r.arn == role_arn), None)
    if role is None:
        return None
    documents = [str(d) for d in role.policies.values()]
    for policy in role.managed_policies.values():
        version = next((v for v in policy.versions if v.is_default), None)
        if version is not None:
            documents.append(str(version.document))
    return documents


def _stack_role(resources_map: Any) -> str | None:
    """The role of the stack the resources belong to (a stack being deleted is no longer listed)."""
    if resources_map.stack_id in _deleting:
        return _deleting[resources_map.stack_id]
    backend = compat.cfn_backend(resources_map._account_id, resources_map._region_name)
    stack = backend.stacks.get(resources_map.stack_id)
    return getattr(stack, "role_arn", None) if stack is not None else None


def check(resources_map: Any, op: Operation) -> None:
    """Raise ResourceFailed when the stack's execution role may not perform `op` (no role: no check)."""
    role_arn = _stack_role(resources_map)
    if not role_arn:
        return
    started = time.perf_counter()
    try:
        documents = _role_documents(op.account_id, role_arn)
        if documents is None:
            reason: str | None = f"Role {role_arn} is invalid or cannot be assumed"
        else:
            reason = denial(role_arn, documents, op)
    finally:
        with _lock:
            STATS.seconds += time.perf_counter() - started
            STATS.operations += 1
    if reason is not None:
        with _lock:
            STATS.denied.append(reason)
        raise ResourceFailed(op.logical_id, op.resource_type, reason)


def _named_in(resource_type: str, properties: dict[str, Any]) -> str | None:
    """The physical name the template gives (the schema's single primary identifier), if it gives one."""
    try:
        identifiers = schema(resource_type).get("primaryIdentifier") or []
    except UnknownResourceType:
        return None
    if len(identifiers) != 1 or not str(identifiers[0]).startswith("/properties/"):
        return None
    value = properties.get(str(identifiers[0]).split("/")[2])
    return value if isinstance(value, str) else None


def _physical(resource: Any) -> tuple[str | None, str | None]:
    """The resource's physical id and its own ARN (its `Arn` attribute, its ARN, or an ARN physical id)."""
    physical = getattr(resource, "physical_resource_id", None)
    candidates: list[Any] = [physical, getattr(resource, "arn", None)]
    try:
        if resource is not None and resource.has_cfn_attr("Arn"):
            candidates.insert(0, resource.get_cfn_attribute("Arn"))
    except Exception:  # a model without that attribute at runtime: fall back to the others
        pass
    own = next((c for c in candidates if isinstance(c, str) and c.startswith("arn:")), None)
    return (str(physical) if physical is not None else None), own


def install() -> None:
    """Check every resource create, update and delete of moto's CloudFormation engine (once per process)."""
    parsing, FakeStack = compat.parsing, compat.Stack
    with _lock:
        if _installed:
            return
        _installed.append(True)
        enforce_policy_sizes()

        create, update = parsing.parse_and_create_resource, parsing.parse_and_update_resource
        delete, delete_stack = parsing.ResourceMap._delete_resource, FakeStack.delete

        def checked_create(logical_id: str, resource_json: dict[str, Any], resources_map: Any, account_id: str,
                           region_name: str) -> Any:  # fmt: skip
            condition = resource_json.get("Condition")
            if _stack_role(resources_map) and not (condition and not resources_map.lazy_condition_map[condition]):
                parsed = parsing.parse_resource_and_generate_name(logical_id, resource_json, resources_map)
                if parsed:
                    props = parsed[1].get("Properties") or {}
                    name = _named_in(resource_json["Type"], props) or (
                        parsed[2] if isinstance(parsed[2], str) else None
                    )
                    check(resources_map, Operation("create", logical_id, resource_json["Type"], name, None, props,
                                                   account_id, region_name))  # fmt: skip
            return create(logical_id, resource_json, resources_map, account_id, region_name)

        def checked_update(logical_id: str, resource_json: dict[str, Any], resources_map: Any, account_id: str,
                           region_name: str) -> Any:  # fmt: skip
            if _stack_role(resources_map):
                parsed = parsing.parse_resource_and_generate_name(logical_id, resource_json, resources_map)
                physical, own = _physical(resources_map._parsed_resources.get(logical_id))
                props = (parsed[1].get("Properties") or {}) if parsed else {}
                check(resources_map, Operation("update", logical_id, resource_json["Type"], physical, own, props,
                                               account_id, region_name))  # fmt: skip
            return update(logical_id, resource_json, resources_map, account_id, region_name)

        def checked_delete(resources_map: Any, parsed_resource: Any, resource_json: dict[str, Any]) -> None:
            if _stack_role(resources_map):
                physical, own = _physical(parsed_resource)
                logical_id = str(getattr(parsed_resource, "logical_resource_id", "") or "")
                check(resources_map, Operation("delete", logical_id, resource_json["Type"], physical, own,
                                               {}, resources_map._account_id, resources_map._region_name))  # fmt: skip
            delete(resources_map, parsed_resource, resource_json)

        def deleting_stack(stack: Any) -> None:
            _deleting[stack.stack_id] = stack.role_arn
            try:
                delete_stack(stack)
            finally:
                _deleting.pop(stack.stack_id, None)

        # The resource-delay hook of the server recognises its own wrapper by this mark: keep it.
        checked_create._pipectl_delay = getattr(create, "_pipectl_delay", False)  # type: ignore[attr-defined]
        parsing.parse_and_create_resource = checked_create
        parsing.parse_and_update_resource = checked_update
        resource_map_class: Any = parsing.ResourceMap
        resource_map_class._delete_resource = checked_delete
        stack_class: Any = FakeStack
        stack_class.delete = deleting_stack
