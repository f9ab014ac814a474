"""Reading a decoded template for the policy rules: resources, IAM statements, literals and references.

The rules see only the template, so everything they need to know about intent (the pipeline's
`deletion` setting, telemetry resources) is read from the Metadata that synth writes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

# Keys under a resource's properties that hold an IAM policy document.
POLICY_KEYS = ("PolicyDocument", "KeyPolicy", "AssumeRolePolicyDocument")
DYNAMIC_REFERENCES = ("{{resolve:secretsmanager:", "{{resolve:ssm-secure:", "{{resolve:ssm:")


@dataclass(frozen=True)
class Statement:
    """One IAM statement and where it sits in the template, for a located finding."""

    resource_type: str
    path: list[str | int]
    body: dict[str, Any]

    @property
    def allows(self) -> bool:
        return self.body.get("Effect") == "Allow"

    @property
    def actions(self) -> list[Any]:
        return as_list(self.body.get("Action"))

    @property
    def resources(self) -> list[Any]:
        return as_list(self.body.get("Resource"))


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def resources(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every resource as (logical id, body), skipping malformed entries cfn-lint reports itself."""
    for logical_id, body in (template.get("Resources") or {}).items():
        if isinstance(body, dict) and isinstance(body.get("Type"), str):
            yield str(logical_id), body


def of_type(template: dict[str, Any], *types: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for logical_id, body in resources(template):
        if body["Type"] in types:
            yield logical_id, body


def properties(body: dict[str, Any]) -> dict[str, Any]:
    props = body.get("Properties")
    return props if isinstance(props, dict) else {}


def _documents(props: dict[str, Any], path: list[str | int]) -> Iterator[tuple[list[str | int], dict[str, Any]]]:
    for key in POLICY_KEYS:
        if isinstance(props.get(key), dict):
            yield [*path, key], props[key]
    for index, inline in enumerate(as_list(props.get("Policies"))):
        if isinstance(inline, dict) and isinstance(inline.get("PolicyDocument"), dict):
            yield [*path, "Policies", index, "PolicyDocument"], inline["PolicyDocument"]


def statements(template: dict[str, Any], skip_key_policies: bool = False) -> Iterator[Statement]:
    """Every IAM statement of every policy document in the template (identity and resource policies).

    A managed policy used only as a permissions boundary is skipped: a boundary grants nothing, it caps
    what the roles that carry it may do, so its `Allow *` is not a grant.
    """
    boundaries = _boundaries_only(template)
    for logical_id, body in resources(template):
        if logical_id in boundaries:
            continue
        base: list[str | int] = ["Resources", logical_id, "Properties"]
        for path, document in _documents(properties(body), base):
            if skip_key_policies and path[-1] == "KeyPolicy":
                continue
            raw = document.get("Statement")
            listed = isinstance(raw, list)
            for index, statement in enumerate(as_list(raw)):
                if isinstance(statement, dict):
                    where = [*path, "Statement", index] if listed else [*path, "Statement"]
                    yield Statement(body["Type"], where, statement)


def _boundaries_only(template: dict[str, Any]) -> set[str]:
    """Managed policies that a role of the template carries as its boundary and that nothing attaches."""
    named = {
        str(properties(body).get("PermissionsBoundary", {}).get("Ref"))
        for _, body in of_type(template, "AWS::IAM::Role")
        if isinstance(properties(body).get("PermissionsBoundary"), dict)
    }
    return {
        logical_id
        for logical_id, body in of_type(template, "AWS::IAM::ManagedPolicy")
        if logical_id in named and not any(properties(body).get(k) for k in ("Roles", "Users", "Groups"))
    }


def is_ref_to(value: Any, logical_id: str) -> bool:
    """`{"Ref": id}` or `{"Fn::GetAtt": [id, ...]}`: the value points at that resource."""
    if not isinstance(value, dict) or len(value) != 1:
        return False
    if value.get("Ref") == logical_id:
        return True
    target = value.get("Fn::GetAtt")
    if isinstance(target, list) and target:
        return bool(target[0] == logical_id)
    return isinstance(target, str) and target.split(".")[0] == logical_id


def pipectl_metadata(body: dict[str, Any]) -> dict[str, Any]:
    metadata = body.get("Metadata")
    section = metadata.get("pipectl") if isinstance(metadata, dict) else None
    return section if isinstance(section, dict) else {}


def is_dynamic_reference(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(DYNAMIC_REFERENCES)
