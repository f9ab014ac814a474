"""Stand-alone security group egress rules in moto's EC2 backend; moto models only ingress rules."""

from __future__ import annotations

from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.ec2.models import EC2Backend, ec2_backends

from generator.deploy.local.models._base import PipectlModel, props


def _backend(account_id: str, region_name: str) -> EC2Backend:
    return ec2_backends[account_id][region_name]


def _rule(p: dict[str, Any]) -> dict[str, Any]:
    """The arguments shared by authorize_ and revoke_security_group_egress."""
    ip_ranges: list[dict[str, Any]] = []
    if p.get("CidrIp"):
        ip_ranges.append({"CidrIp": p["CidrIp"], "Description": p.get("Description", "")})
    if p.get("CidrIpv6"):
        ip_ranges.append({"CidrIpv6": p["CidrIpv6"], "Description": p.get("Description", "")})
    groups = [{"GroupId": p["DestinationSecurityGroupId"]}] if p.get("DestinationSecurityGroupId") else []
    prefixes = [{"PrefixListId": p["DestinationPrefixListId"]}] if p.get("DestinationPrefixListId") else []
    protocol = str(p["IpProtocol"])
    all_ports = protocol == "-1"
    return {
        "group_name_or_id": p["GroupId"],
        "ip_protocol": protocol,
        "from_port": None if all_ports else p.get("FromPort"),
        "to_port": None if all_ports else p.get("ToPort"),
        "ip_ranges": ip_ranges,
        "source_groups": groups,
        "prefix_list_ids": prefixes,
    }


class PipectlSecurityGroupEgress(PipectlModel, CloudFormationModel):
    """Ref and GetAtt Id give the rule id (sgr-...); any change replaces the rule, as on AWS."""

    ATTRIBUTES = ("Id",)

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::EC2::SecurityGroupEgress"

    def __init__(self, rule_id: str, rule: dict[str, Any]) -> None:
        self.physical_resource_id = rule_id
        self.rule = rule
        self.attributes = {"Id": rule_id}

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> PipectlSecurityGroupEgress:
        rule = _rule(props(cloudformation_json))
        created, _group = _backend(account_id, region_name).authorize_security_group_egress(**rule)
        return cls(created[0].id, rule)

    def delete(self, account_id: str, region_name: str) -> None:
        _backend(account_id, region_name).revoke_security_group_egress(
            **self.rule, security_rule_ids=[self.physical_resource_id]
        )
