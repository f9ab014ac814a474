"""E9008: stateful resources are retained unless the pipeline file says `deletion: delete`.

Why: a pipeline file removed by mistake, or a replacement during an update, must never take the
events with it. Synth writes the file's choice into `Metadata.pipectl.deletion`; resources marked
`Metadata.pipectl.telemetry` hold telemetry AWS rebuilds, not data, and may go with their stack.
"""

from __future__ import annotations

from typing import Any, ClassVar

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from generator.contract import STATEFUL_TYPES
from generator.policy.rules._template import of_type, pipectl_metadata

POLICIES = ("DeletionPolicy", "UpdateReplacePolicy")


class RetainStateful(CloudFormationLintRule):  # type: ignore[misc]
    """DeletionPolicy and UpdateReplacePolicy are Retain on data, unless deletion: delete."""

    id = "E9008"
    shortdesc = "Retain stateful resources"
    description = "Buckets, tables, streams, keys, log groups, user pools: DeletionPolicy/UpdateReplacePolicy Retain"
    tags: ClassVar[list[str]] = ["pipectl", "data"]

    def match(self, cfn: Any) -> list[RuleMatch]:
        if pipectl_metadata(cfn.template).get("deletion") == "delete":
            return []
        matches: list[RuleMatch] = []
        for logical_id, body in of_type(cfn.template, *sorted(STATEFUL_TYPES)):
            if pipectl_metadata(body).get("telemetry") is True:
                continue
            for policy in POLICIES:
                if body.get(policy) != "Retain":
                    matches.append(
                        RuleMatch(
                            ["Resources", logical_id, policy] if policy in body else ["Resources", logical_id],
                            f"{logical_id}: {policy} is {body.get(policy, 'Delete (the default)')}, not Retain",
                        )
                    )
        return matches
