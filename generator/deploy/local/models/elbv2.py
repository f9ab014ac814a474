"""Load balancer and target group attributes moto's models lack (LoadBalancerFullName, TargetGroupFullName).

moto's own ELBv2 models create the resources; they only miss these GetAtt values, which metrics
and dashboards need. They are derived from the ARN exactly as AWS derives them.
"""

from __future__ import annotations

from typing import Any

from generator.deploy.local.compat import UnformattedGetAttTemplateException, moto_class

LOAD_BALANCER_ATTRIBUTES = (
    "DNSName",
    "LoadBalancerName",
    "LoadBalancerFullName",
    "LoadBalancerArn",
    "CanonicalHostedZoneID",
    "SecurityGroups",
)
TARGET_GROUP_ATTRIBUTES = ("TargetGroupFullName", "TargetGroupName", "TargetGroupArn", "LoadBalancerArns")
# Route 53 hosted zone of ALBs in moto's default answer; AWS has one per region.
ALB_HOSTED_ZONE = "Z2P70J7EXAMPLE"


def _load_balancer_attribute(self: Any, name: str) -> Any:
    if name == "DNSName":
        return self.dns_name
    if name == "LoadBalancerName":
        return self.name
    if name == "LoadBalancerArn":
        return self.arn
    if name == "LoadBalancerFullName":
        return self.arn.split(":loadbalancer/", 1)[1]
    if name == "CanonicalHostedZoneID":
        return ALB_HOSTED_ZONE
    if name == "SecurityGroups":
        return list(self.security_groups)
    raise UnformattedGetAttTemplateException()


def _target_group_attribute(self: Any, name: str) -> Any:
    if name == "TargetGroupFullName":
        return self.arn.rsplit(":", 1)[1]
    if name == "TargetGroupName":
        return self.name
    if name == "TargetGroupArn":
        return self.arn
    if name == "LoadBalancerArns":
        return list(self.load_balancer_arns)
    raise UnformattedGetAttTemplateException()


def patch() -> None:
    targets: Any = (moto_class("elbv2", "FakeLoadBalancer"), moto_class("elbv2", "FakeTargetGroup"))
    load_balancer, target_group = targets
    load_balancer.get_cfn_attribute = _load_balancer_attribute
    load_balancer.has_cfn_attr = classmethod(lambda cls, attr: attr in LOAD_BALANCER_ATTRIBUTES)
    target_group.get_cfn_attribute = _target_group_attribute
    target_group.has_cfn_attr = classmethod(lambda cls, attr: attr in TARGET_GROUP_ATTRIBUTES)


patch()
