"""What the local target knows about the permissions boundary of a role operation, offline.

IAM evaluates `iam:PermissionsBoundary` on the role an action changes: for AWS::IAM::Role that is the
template's own `PermissionsBoundary` (absent: no boundary, so a condition requiring one fails), for the
policy types it is the boundary of each role they attach to, as moto's IAM holds it.

pipectl's own rule, stricter than AWS: a role policy that grants an action the boundary denies is
refused before it is written (AWS would accept it and the boundary would make it inert), so a template
that tries to escalate fails naming the action instead of deploying a role that cannot do what it says.
"""

from __future__ import annotations

from typing import Any

from generator.deploy.local import compat
from generator.policy import boundary

KEY = "iam:PermissionsBoundary"
ABSENT = ""
"""No boundary: a value no condition on the boundary's ARN matches."""
POLICY_TYPES = ("AWS::IAM::Policy", "AWS::IAM::RolePolicy", "AWS::IAM::ManagedPolicy")


def _role_names(resource_type: str, properties: dict[str, Any]) -> list[str]:
    if resource_type == "AWS::IAM::RolePolicy":
        return [str(properties.get("RoleName", ""))]
    roles = properties.get("Roles") or []
    return [str(r).rsplit("/", 1)[-1] for r in roles if isinstance(r, str)]


def context(
    resource_type: str,
    properties: dict[str, Any],
    account_id: str,
    partition: str,
    operation: str = "create",
    physical_name: str | None = None,
) -> dict[str, str]:
    """`iam:PermissionsBoundary` for the operation, when the operation changes a role and it can be known.

    A role being created or updated is asked about the boundary the template gives it; a role being
    deleted, about the boundary it has.
    """
    backend = compat.partition_backend("iam", account_id, partition)
    if resource_type == "AWS::IAM::Role":
        value = properties.get("PermissionsBoundary")
        if operation != "delete" and (value is None or isinstance(value, str)):
            return {KEY: value or ABSENT}
        role = next((r for r in backend.roles.values() if r.name == physical_name), None)
        return {} if role is None else {KEY: role.permissions_boundary_arn or ABSENT}
    if resource_type not in POLICY_TYPES:
        return {}
    names = _role_names(resource_type, properties)
    if not names:
        return {}
    found = [r for r in backend.roles.values() if r.name in names]
    if len(found) != len(names):
        return {}  # a role moto does not hold: cannot be known offline
    boundaries = {r.permissions_boundary_arn or ABSENT for r in found}
    # One role without the boundary is enough for IAM to refuse the attachment to it.
    return {KEY: ABSENT if ABSENT in boundaries or len(boundaries) > 1 else boundaries.pop()}


def documents(resource_type: str, properties: dict[str, Any]) -> list[Any]:
    """The identity policies an IAM resource writes."""
    if resource_type == "AWS::IAM::Role":
        return [p.get("PolicyDocument") for p in properties.get("Policies") or [] if isinstance(p, dict)]
    if resource_type in POLICY_TYPES:
        return [properties.get("PolicyDocument")]
    return []


def beyond_boundary(resource_type: str, properties: dict[str, Any]) -> str | None:
    """The first action a policy of the resource grants that the boundary denies, or None."""
    for document in documents(resource_type, properties):
        found = boundary.denied_actions(document)
        if found:
            return found[0]
    return None
