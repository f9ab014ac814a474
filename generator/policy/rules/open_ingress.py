"""E9006: only the load balancer's HTTPS port is open to the internet.

Why: anything else reachable from 0.0.0.0/0 or ::/0 (SSH, the collector's container port, a
database) is an attack surface the pipeline does not need; the collectors sit behind the ALB.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from generator.policy.rules._template import as_list, is_ref_to, of_type, properties

ANYWHERE = frozenset({"0.0.0.0/0", "::/0"})
HTTPS_PORT = 443


def _rules(template: dict[str, Any]) -> Iterator[tuple[list[str | int], dict[str, Any], Any]]:
    """(path, rule, group) for every ingress rule, inline or standalone."""
    for logical_id, body in of_type(template, "AWS::EC2::SecurityGroup"):
        for index, rule in enumerate(as_list(properties(body).get("SecurityGroupIngress"))):
            if isinstance(rule, dict):
                yield ["Resources", logical_id, "Properties", "SecurityGroupIngress", index], rule, {"Ref": logical_id}
    for logical_id, body in of_type(template, "AWS::EC2::SecurityGroupIngress"):
        props = properties(body)
        yield ["Resources", logical_id, "Properties"], props, props.get("GroupId")


def _load_balancer_groups(template: dict[str, Any]) -> list[Any]:
    return [
        group
        for _, body in of_type(template, "AWS::ElasticLoadBalancingV2::LoadBalancer")
        for group in as_list(properties(body).get("SecurityGroups"))
    ]


def _is_load_balancer_group(group: Any, balancer_groups: list[Any]) -> bool:
    logical_id = None
    if isinstance(group, dict):
        logical_id = group.get("Ref") or (as_list(group.get("Fn::GetAtt")) or [None])[0]
    return isinstance(logical_id, str) and any(is_ref_to(g, logical_id) for g in balancer_groups)


def _https_only(rule: dict[str, Any]) -> bool:
    ports = (rule.get("FromPort"), rule.get("ToPort"))
    return str(rule.get("IpProtocol")) in ("tcp", "6") and all(str(p) == str(HTTPS_PORT) for p in ports)


class OpenIngress(CloudFormationLintRule):  # type: ignore[misc]
    """Ingress from anywhere is allowed only to TCP 443 of a group attached to a load balancer."""

    id = "E9006"
    shortdesc = "Internet ingress only on the ALB's 443"
    description = "Security groups open to 0.0.0.0/0 or ::/0 only on TCP 443 of a load balancer's group"
    tags: ClassVar[list[str]] = ["pipectl", "network"]

    def match(self, cfn: Any) -> list[RuleMatch]:
        balancer_groups = _load_balancer_groups(cfn.template)
        matches: list[RuleMatch] = []
        for path, rule, group in _rules(cfn.template):
            open_to = {str(rule.get("CidrIp")), str(rule.get("CidrIpv6"))} & ANYWHERE
            if not open_to:
                continue
            if _https_only(rule) and _is_load_balancer_group(group, balancer_groups):
                continue
            matches.append(
                RuleMatch(path, f"ingress from {', '.join(sorted(open_to))} other than TCP 443 of the load balancer")
            )
        return matches
