"""E9002: `Resource: *` only for actions AWS cannot scope to a resource.

Why: a statement on every resource of a service reaches other pipelines' data. The few actions
that take no resource are listed, with their reason, in `unscoped_actions.py`. KMS key policies
are exempt: there `*` means the key the policy is attached to.
"""

from __future__ import annotations

from typing import Any, ClassVar

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from generator.policy.rules._template import statements
from generator.policy.rules.unscoped_actions import is_unscoped


class ScopedResources(CloudFormationLintRule):  # type: ignore[misc]
    """An Allow on `*` (or with NotResource) must hold only allow-listed actions."""

    id = "E9002"
    shortdesc = "Resource * only for unscopable actions"
    description = "An Allow statement on Resource * (or NotResource) may hold only actions in the allow-list"
    tags: ClassVar[list[str]] = ["pipectl", "iam"]

    def match(self, cfn: Any) -> list[RuleMatch]:
        matches: list[RuleMatch] = []
        for statement in statements(cfn.template, skip_key_policies=True):
            if not statement.allows:
                continue
            if "NotResource" in statement.body:
                matches.append(
                    RuleMatch([*statement.path, "NotResource"], "Allow with NotResource reaches every other resource")
                )
            if "*" not in statement.resources:
                continue
            scoped = sorted(str(a) for a in statement.actions if not (isinstance(a, str) and is_unscoped(a)))
            if scoped:
                matches.append(
                    RuleMatch(
                        [*statement.path, "Resource"],
                        f"Resource * for actions that can be scoped to a resource: {', '.join(scoped)}",
                    )
                )
        return matches
