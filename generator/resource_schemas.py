"""CloudFormation resource provider schemas, as cfn-lint ships them: one place that reads them.

Replacement (`createOnlyProperties`) and the permissions each resource handler needs (`handlers`)
are facts AWS publishes per resource type; pipectl reads them here rather than retyping them.
The schemas are the same in every commercial region for the types pipectl emits, so us-east-1's
copy is read.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Literal

SCHEMA_REGION = "us-east-1"
Operation = Literal["create", "read", "update", "delete", "list"]


class UnknownResourceType(LookupError):
    """cfn-lint ships no provider schema for this type."""


@cache
def schema(resource_type: str) -> dict[str, Any]:
    """The provider schema of `resource_type` (raises UnknownResourceType)."""
    from cfnlint.schema.manager import PROVIDER_SCHEMA_MANAGER, ResourceNotFoundError

    try:
        found = PROVIDER_SCHEMA_MANAGER.get_resource_schema(SCHEMA_REGION, resource_type)
    except ResourceNotFoundError as exc:
        raise UnknownResourceType(resource_type) from exc
    return dict(found.schema)


def create_only_properties(resource_type: str) -> tuple[str, ...]:
    """Top-level property names whose change replaces the resource (`/properties/X` -> `X`)."""
    paths = schema(resource_type).get("createOnlyProperties") or []
    return tuple(sorted({str(p).split("/")[2] for p in paths if str(p).startswith("/properties/")}))


def create_only_paths(resource_type: str) -> tuple[str, ...]:
    """The schema's createOnlyProperties as JSON pointers, nested ones included."""
    return tuple(str(p) for p in schema(resource_type).get("createOnlyProperties") or [])


def handler_permissions(resource_type: str, operation: Operation) -> tuple[str, ...]:
    """The IAM actions the resource handler calls for `operation`, as the schema lists them."""
    handlers = schema(resource_type).get("handlers") or {}
    return tuple(str(a) for a in (handlers.get(operation) or {}).get("permissions") or [])
