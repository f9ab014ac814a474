"""E9011: every resource type a template emits is covered by the CloudFormation execution role.

Why: CloudFormation creates, updates and deletes each resource with the execution role; a type whose
handler permissions the role lacks fails on deploy (or leaves a rollback stuck), in an account. The
role's managed policies are derived from the execution permissions table, so a type is covered when
the table holds it and the derived policies grant every action its handlers call. A type the table
lacks means `scripts/gen-permissions` was not run after a stack builder started emitting it.
"""

from __future__ import annotations

from functools import cache
from typing import Any, ClassVar

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from generator.policy.permissions import OPERATIONS, load_table
from generator.policy.rules._template import resources

# Not resources CloudFormation deploys through a handler with the execution role's permissions.
EXEMPT_PREFIXES = ("Custom::", "AWS::CloudFormation::")


@cache
def granted_actions() -> frozenset[str]:
    """Lower-cased actions the derived execution policies allow."""
    from troposphere import encode_to_dict

    from generator.policy.execution import execution_policy_documents

    # Records are granted in the zones _console.yaml lists; a pipeline naming another zone is refused
    # when its file is loaded, so here any zone stands for an owned one.
    granted: set[str] = set()
    for document in execution_policy_documents(hosted_zones=("ZOWNED",)):
        for statement in encode_to_dict(document)["Statement"]:
            if statement.get("Effect") == "Allow":
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                granted.update(str(a).lower() for a in actions)
    return frozenset(granted)


def uncovered(resource_type: str) -> list[str] | None:
    """None when the table lacks the type; else the handler actions the execution role does not grant."""
    table = load_table()
    if resource_type not in table.types:
        return None
    needed = {a for op in OPERATIONS for a in table.handler_actions(resource_type, op)}
    return sorted(a for a in needed if a.lower() not in granted_actions())


class ExecutionRoleCoverage(CloudFormationLintRule):  # type: ignore[misc]
    """Each emitted resource type has its handler permissions in the execution role."""

    id = "E9011"
    shortdesc = "Execution role covers every resource type"
    description = "A resource type the CloudFormation execution role has no permissions for fails on deploy"
    tags: ClassVar[list[str]] = ["pipectl", "iam"]

    def match(self, cfn: Any) -> list[RuleMatch]:
        matches: list[RuleMatch] = []
        for logical_id, body in resources(cfn.template):
            resource_type = str(body["Type"])
            if resource_type.startswith(EXEMPT_PREFIXES):
                continue
            missing = uncovered(resource_type)
            if missing is None:
                message = (
                    f"the execution role has no permissions for {resource_type}: "
                    "regenerate the execution permissions table (scripts/gen-permissions)"
                )
            elif missing:
                message = f"the execution role does not grant {', '.join(missing)} for {resource_type}"
            else:
                continue
            matches.append(RuleMatch(["Resources", logical_id, "Type"], f"Resources.{logical_id}.Type: {message}"))
        return matches
