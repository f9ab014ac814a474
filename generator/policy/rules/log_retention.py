"""E9007: every log group has a retention.

Why: without `RetentionInDays` CloudWatch keeps logs forever: cost grows without bound and personal
data in request logs outlives every retention promise the pipeline file makes.
"""

from __future__ import annotations

from typing import Any, ClassVar

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from generator.policy.rules._template import of_type, properties


class LogRetention(CloudFormationLintRule):  # type: ignore[misc]
    """AWS::Logs::LogGroup needs RetentionInDays."""

    id = "E9007"
    shortdesc = "Log retention set"
    description = "Every AWS::Logs::LogGroup sets RetentionInDays"
    tags: ClassVar[list[str]] = ["pipectl", "logs"]

    def match(self, cfn: Any) -> list[RuleMatch]:
        return [
            RuleMatch(["Resources", logical_id, "Properties"], f"{logical_id}: log group has no RetentionInDays")
            for logical_id, body in of_type(cfn.template, "AWS::Logs::LogGroup")
            if not properties(body).get("RetentionInDays")
        ]
