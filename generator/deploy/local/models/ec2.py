"""Stand-alone security group egress rules in moto's EC2 backend; moto models only ingress rules."""

from __future__ import annotations

from typing import Any

from generator.deploy.local.compat import backend, moto_class
from generator.deploy.local.models._base import PipectlModel


def _backend(account_id: str, region_name: str) -> Any:
    return backend("ec2", account_id, region_name)


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


class PipectlSecurityGroupEgress(PipectlModel):
    """Ref and GetAtt Id give the rule id (sgr-...); any change replaces the rule, as on AWS."""

    TYPE = "AWS::EC2::SecurityGroupEgress"

    ATTRIBUTES = ("Id",)

    def __init__(self, rule_id: str, rule: dict[str, Any]) -> None:
        self.physical_resource_id = rule_id
        self.rule = rule
        self.attributes = {"Id": rule_id}

    @classmethod
    def create(
        cls, resource_name: str, properties: dict[str, Any], account_id: str, region_name: str
    ) -> PipectlSecurityGroupEgress:
        rule = _rule(properties)
        created, _group = _backend(account_id, region_name).authorize_security_group_egress(**rule)
        return cls(created[0].id, rule)

    def delete(self, account_id: str, region_name: str) -> None:
        _backend(account_id, region_name).revoke_security_group_egress(
            **self.rule, security_rule_ids=[self.physical_resource_id]
        )


# --- deletion for moto's own EC2 models --------------------------------------------------------------
# moto's CloudFormation engine deletes a stack by calling `delete` on each resource, in passes, until
# no more progress is made. These moto models have no `delete`, so a created VPC could never go (its
# route tables, gateway attachment and NAT gateway stayed). Each gets the deletion AWS performs;
# one that still has dependents raises, and moto's next pass tries it again.


def _ec2(account_id: str, region_name: str) -> Any:
    return backend("ec2", account_id, region_name)


def _delete_nat_gateway(self: Any, account_id: str, region_name: str) -> None:
    backend = _ec2(account_id, region_name)
    backend.delete_nat_gateway(self.id)
    eni = getattr(self, "_eni", None)
    if eni is not None and eni.id in backend.enis:
        for address in list(backend.addresses):
            if address.eni is eni:
                backend.disassociate_address(address=address.public_ip)
        backend.delete_network_interface(eni.id)


def _delete_gateway_attachment(self: Any, account_id: str, region_name: str) -> None:
    backend = _ec2(account_id, region_name)
    if self.gateway_id and self.gateway_id in backend.internet_gateways:
        gateway = backend.internet_gateways[self.gateway_id]
        if gateway.vpc is not None and gateway.vpc.id == self.vpc_id:
            backend.detach_internet_gateway(self.gateway_id, self.vpc_id)


def _delete_route_table(self: Any, account_id: str, region_name: str) -> None:
    backend = _ec2(account_id, region_name)
    if self.id in backend.route_tables:
        backend.delete_route_table(self.id)


def _delete_route(self: Any, account_id: str, region_name: str) -> None:
    backend = _ec2(account_id, region_name)
    table = backend.route_tables.get(self.route_table.id)
    if table is not None and self.id in table.routes:
        backend.delete_route(self.route_table.id, self.destination_cidr_block, self.destination_ipv6_cidr_block)


def _delete_association(self: Any, account_id: str, region_name: str) -> None:
    backend = _ec2(account_id, region_name)
    table = backend.route_tables.get(self.route_table_id)
    if table is None:
        return
    for association_id, subnet_id in list(table.associations.items()):
        if subnet_id == self.subnet_id:
            backend.disassociate_route_table(association_id)


def _release_address(self: Any, account_id: str, region_name: str) -> None:
    backend = _ec2(account_id, region_name)
    if self in backend.addresses:
        backend.release_address(allocation_id=self.allocation_id) if self.allocation_id else (
            backend.release_address(address=self.public_ip)
        )


def _delete_internet_gateway(self: Any, account_id: str, region_name: str) -> None:
    backend = _ec2(account_id, region_name)
    if self.id in backend.internet_gateways:
        backend.delete_internet_gateway(self.id)


def _delete_flow_log(self: Any, account_id: str, region_name: str) -> None:
    backend = _ec2(account_id, region_name)
    if self.id in backend.flow_logs:
        backend.delete_flow_logs([self.id])


def _add_deletion() -> None:
    patches: dict[str, Any] = {
        "NatGateway": _delete_nat_gateway,
        "VPCGatewayAttachment": _delete_gateway_attachment,
        "RouteTable": _delete_route_table,
        "Route": _delete_route,
        "SubnetRouteTableAssociation": _delete_association,
        "ElasticAddress": _release_address,
        "FlowLogs": _delete_flow_log,
        "InternetGateway": _delete_internet_gateway,
    }
    for name, delete in patches.items():
        model = moto_class("ec2", name)
        if "delete" not in vars(model):
            model.delete = delete


_add_deletion()
