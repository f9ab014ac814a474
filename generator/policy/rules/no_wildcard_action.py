"""E9001: an IAM statement that allows must name its actions.

Why: `*`, `service:*` or `s3:Get*` grant whatever AWS adds to the service tomorrow, and `NotAction`
grants everything but a list; least privilege means a reviewer can read what is granted.
Deny statements are exempt: a wildcard in a Deny only takes away (the TLS-only bucket policies
deny `s3:*` without TLS, which is exactly what they should do).
"""

from __future__ import annotations

from typing import Any, ClassVar

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from generator.policy.rules._template import statements


class NoWildcardAction(CloudFormationLintRule):  # type: ignore[misc]
    """Allow statements name every action; Deny statements may use wildcards."""

    id = "E9001"
    shortdesc = "No wildcard IAM actions"
    description = "An Allow statement must not use `*`, `service:*`, a partial wildcard or NotAction"
    tags: ClassVar[list[str]] = ["pipectl", "iam"]

    def match(self, cfn: Any) -> list[RuleMatch]:
        matches: list[RuleMatch] = []
        for statement in statements(cfn.template):
            if not statement.allows:
                continue
            if "NotAction" in statement.body:
                matches.append(
                    RuleMatch([*statement.path, "NotAction"], "Allow with NotAction grants every other action")
                )
            for index, action in enumerate(statement.actions):
                if isinstance(action, str) and ("*" in action or "?" in action):
                    where = [*statement.path, "Action"]
                    if isinstance(statement.body.get("Action"), list):
                        where.append(index)
                    matches.append(RuleMatch(where, f"Allow statement grants the wildcard action {action!r}"))
        return matches
