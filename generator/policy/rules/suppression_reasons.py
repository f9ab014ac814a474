"""E9012: a scanner finding is accepted only with its reason, in the resource's Metadata.

Why: checkov (`Metadata.checkov.skip: [{id, comment}]`) and cfn-nag (`Metadata.cfn_nag.rules_to_suppress:
[{id, reason}]`) let a template silence a check. A silenced check without a reason is a finding nobody
reviewed; with one, the reviewer of the change reads why it is accepted next to the resource.
"""

from __future__ import annotations

from typing import Any, ClassVar

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from generator.policy.rules._template import resources

# Scanner -> (the Metadata key, the list of suppressions in it, the key holding each one's reason).
SCANNERS = {"checkov": ("skip", "comment"), "cfn_nag": ("rules_to_suppress", "reason")}


class SuppressionReasons(CloudFormationLintRule):  # type: ignore[misc]
    """Every checkov skip and cfn-nag suppression names a check and says why."""

    id = "E9012"
    shortdesc = "Scanner suppressions give their reason"
    description = "Metadata.checkov.skip entries need id and comment; Metadata.cfn_nag.rules_to_suppress, id and reason"
    tags: ClassVar[list[str]] = ["pipectl", "scanners"]

    def match(self, cfn: Any) -> list[RuleMatch]:
        matches: list[RuleMatch] = []
        for logical_id, body in resources(cfn.template):
            metadata = body.get("Metadata")
            if not isinstance(metadata, dict):
                continue
            for scanner, (listed, reason) in SCANNERS.items():
                section = metadata.get(scanner)
                entries = section.get(listed) if isinstance(section, dict) else None
                if entries is None:
                    continue
                for index, entry in enumerate(entries if isinstance(entries, list) else [entries]):
                    where = ["Resources", logical_id, "Metadata", scanner, listed, index]
                    given = entry.get(reason) if isinstance(entry, dict) else None
                    check = entry.get("id") if isinstance(entry, dict) else None
                    if not (isinstance(check, str) and check.strip() and isinstance(given, str) and given.strip()):
                        matches.append(
                            RuleMatch(
                                where,
                                f"{logical_id}: {scanner} suppression of {check or 'a check'} without a {reason}: "
                                f"say why the finding is accepted",
                            )
                        )
        return matches
