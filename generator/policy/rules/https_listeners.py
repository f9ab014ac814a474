"""E9005: load balancer listeners speak HTTPS with a TLS 1.2+ security policy.

Why: collectors receive user events (IP addresses, identifiers); plain HTTP or TLS 1.0/1.1 exposes
them. A listener without `SslPolicy` gets ELBSecurityPolicy-2016-08, which still allows TLS 1.0.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from generator.policy.rules._template import of_type, properties

# AWS's predefined policies whose minimum protocol is TLS 1.2 or 1.3 (including FIPS and PQ variants).
TLS12_POLICY = re.compile(r"^ELBSecurityPolicy-(TLS13-1-[23]|TLS-1-2|FS-1-2)(-|$)")
SECURE_PROTOCOLS = frozenset({"HTTPS", "TLS"})


def _problem(props: dict[str, Any]) -> str | None:
    protocol = props.get("Protocol")
    if protocol not in SECURE_PROTOCOLS:
        return f"listener protocol is {protocol!r}, not HTTPS"
    policy = props.get("SslPolicy")
    if not isinstance(policy, str) or not TLS12_POLICY.match(policy):
        return f"listener SslPolicy {policy!r} allows TLS older than 1.2"
    return None


class HttpsListeners(CloudFormationLintRule):  # type: ignore[misc]
    """Every ELBv2 listener is HTTPS (or TLS) with a TLS 1.2+ policy."""

    id = "E9005"
    shortdesc = "HTTPS listeners with TLS 1.2+"
    description = "Load balancer listeners use HTTPS with an ELBSecurityPolicy whose minimum is TLS 1.2"
    tags: ClassVar[list[str]] = ["pipectl", "elb", "tls"]

    def match(self, cfn: Any) -> list[RuleMatch]:
        matches: list[RuleMatch] = []
        for logical_id, body in of_type(cfn.template, "AWS::ElasticLoadBalancingV2::Listener"):
            problem = _problem(properties(body))
            if problem:
                matches.append(RuleMatch(["Resources", logical_id, "Properties"], f"{logical_id}: {problem}"))
        return matches
