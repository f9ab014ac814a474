"""Where the collectors run: the VPC the file names, or one the ingestion stack creates.

The ingestion builder calls `network(...)` and gets back template values (literal ids or Refs), so it
never needs to know which of the two kinds of network it is in.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from troposphere import GetAtt, GetAZs, Parameter, Ref, Region, Select, Tags, Template
from troposphere.ec2 import (
    EIP,
    VPC,
    FlowLog,
    InternetGateway,
    NatGateway,
    Route,
    RouteTable,
    Subnet,
    SubnetRouteTableAssociation,
    VPCGatewayAttachment,
)
from troposphere.iam import Policy as RolePolicy
from troposphere.iam import Role

from generator.policy import ingestion as policy
from generator.spec.loader import Pipeline
from generator.spec.models import CreatedNetwork, ExistingNetwork
from generator.stacks import common

SUBNET_PREFIX = 20  # 4,096 addresses per subnet: room for thousands of collector ENIs


@dataclass(frozen=True)
class Network:
    """The ids the ingestion stack needs, as template values."""

    vpc_id: Any
    public_subnets: Any
    private_subnets: Any
    routes: list[str] = field(default_factory=list)  # logical ids to depend on before traffic can flow


def network(template: Template, pipeline: Pipeline, key_arn: Any) -> Network:
    """Use the existing network the file names, or add a new one to `template`."""
    spec = pipeline.spec.network
    if not isinstance(spec, CreatedNetwork):
        return _existing(template, spec)
    return _created(template, pipeline, spec, key_arn)


def _existing(template: Template, spec: ExistingNetwork) -> Network:
    """The file's ids as typed parameters: CloudFormation checks they exist before creating anything."""
    vpc = template.add_parameter(
        Parameter(
            "VpcId",
            Type="AWS::EC2::VPC::Id",
            Default=spec.vpc_id,
            Description="the existing VPC the pipeline file names",
        )
    )
    public = template.add_parameter(
        Parameter(
            "PublicSubnetIds",
            Type="List<AWS::EC2::Subnet::Id>",
            Default=",".join(spec.public_subnets),
            Description="public subnets of that VPC, for the load balancer",
        )
    )
    private = template.add_parameter(
        Parameter(
            "PrivateSubnetIds",
            Type="List<AWS::EC2::Subnet::Id>",
            Default=",".join(spec.private_subnets),
            Description="private subnets of that VPC, for the collectors",
        )
    )
    return Network(Ref(vpc), Ref(public), Ref(private))


def _created(template: Template, pipeline: Pipeline, spec: CreatedNetwork, key_arn: Any) -> Network:
    label = f"pipectl-{pipeline.name}-{pipeline.env}"
    vpc = _vpc(template, spec, label)
    public_cidrs, private_cidrs = _cidrs(spec)
    public = [_subnet(template, vpc, "Public", i, cidr, label) for i, cidr in enumerate(public_cidrs)]
    private = [_subnet(template, vpc, "Private", i, cidr, label) for i, cidr in enumerate(private_cidrs)]
    routes = _public_routes(template, vpc, public, label)
    nat_gateways = _nat_gateways(template, public, min(spec.nat_gateways, spec.az_count), label)
    routes += _private_routes(template, vpc, private, nat_gateways, label)
    _flow_logs(template, pipeline, vpc, key_arn)
    return Network(Ref(vpc), [Ref(s) for s in public], [Ref(s) for s in private], routes)


def _cidrs(spec: CreatedNetwork) -> tuple[list[str], list[str]]:
    """Public subnets first, then private ones, each a /20 of the VPC range, in AZ order."""
    blocks = ipaddress.ip_network(spec.cidr).subnets(new_prefix=SUBNET_PREFIX)
    cidrs = [str(next(blocks)) for _ in range(2 * spec.az_count)]
    return cidrs[: spec.az_count], cidrs[spec.az_count :]


def _vpc(template: Template, spec: CreatedNetwork, label: str) -> VPC:
    return template.add_resource(
        VPC(
            "Vpc",
            CidrBlock=spec.cidr,
            EnableDnsSupport=True,
            EnableDnsHostnames=True,
            Tags=Tags(Name=label),
        )
    )


def _subnet(template: Template, vpc: VPC, tier: str, index: int, cidr: str, label: str) -> Subnet:
    """One subnet per AZ and tier; AZs come from the region at deploy time, never hard-coded."""
    return template.add_resource(
        Subnet(
            f"{tier}Subnet{index + 1}",
            VpcId=Ref(vpc),
            CidrBlock=cidr,
            AvailabilityZone=Select(index, GetAZs(Region)),
            MapPublicIpOnLaunch=False,
            Tags=Tags(Name=f"{label}-{tier.lower()}-{index + 1}"),
        )
    )


def _public_routes(template: Template, vpc: VPC, subnets: list[Subnet], label: str) -> list[str]:
    """Public subnets reach the internet through the internet gateway (the load balancer lives here)."""
    gateway = template.add_resource(InternetGateway("InternetGateway", Tags=Tags(Name=label)))
    attachment = template.add_resource(
        VPCGatewayAttachment("InternetGatewayAttachment", VpcId=Ref(vpc), InternetGatewayId=Ref(gateway))
    )
    table = template.add_resource(RouteTable("PublicRouteTable", VpcId=Ref(vpc), Tags=Tags(Name=f"{label}-public")))
    route = template.add_resource(
        Route(
            "PublicDefaultRoute",
            RouteTableId=Ref(table),
            DestinationCidrBlock="0.0.0.0/0",
            GatewayId=Ref(gateway),
            DependsOn=[attachment.title],
        )
    )
    for index, subnet in enumerate(subnets):
        template.add_resource(
            SubnetRouteTableAssociation(
                f"PublicSubnet{index + 1}RouteTableAssociation", SubnetId=Ref(subnet), RouteTableId=Ref(table)
            )
        )
    return [attachment.title, route.title]


def _nat_gateways(template: Template, public: list[Subnet], count: int, label: str) -> list[NatGateway]:
    """`count` NAT gateways, one per public subnet from the first AZ on: one saves cost, one per AZ is HA."""
    gateways = []
    for index in range(count):
        eip = template.add_resource(
            EIP(f"NatGateway{index + 1}Eip", Domain="vpc", Tags=Tags(Name=f"{label}-nat-{index + 1}"))
        )
        gateways.append(
            template.add_resource(
                NatGateway(
                    f"NatGateway{index + 1}",
                    AllocationId=GetAtt(eip, "AllocationId"),
                    SubnetId=Ref(public[index]),
                    Tags=Tags(Name=f"{label}-nat-{index + 1}"),
                )
            )
        )
    return gateways


def _private_routes(
    template: Template, vpc: VPC, subnets: list[Subnet], nat_gateways: list[NatGateway], label: str
) -> list[str]:
    """Each private subnet leaves through the NAT gateway of its AZ, or the shared one."""
    routes = []
    for index, subnet in enumerate(subnets):
        number = index + 1
        table = template.add_resource(
            RouteTable(f"PrivateRouteTable{number}", VpcId=Ref(vpc), Tags=Tags(Name=f"{label}-private-{number}"))
        )
        route = template.add_resource(
            Route(
                f"PrivateDefaultRoute{number}",
                RouteTableId=Ref(table),
                DestinationCidrBlock="0.0.0.0/0",
                NatGatewayId=Ref(nat_gateways[index % len(nat_gateways)]),
            )
        )
        template.add_resource(
            SubnetRouteTableAssociation(
                f"PrivateSubnet{number}RouteTableAssociation", SubnetId=Ref(subnet), RouteTableId=Ref(table)
            )
        )
        routes.append(route.title)
    return routes


def _flow_logs(template: Template, pipeline: Pipeline, vpc: VPC, key_arn: Any) -> None:
    """All VPC traffic metadata goes to an encrypted log group, kept as long as the other logs."""
    group = common.log_group(
        template,
        "FlowLogGroup",
        common.per_stack(f"/pipectl/{pipeline.name}/{pipeline.env}/vpc-flow-logs"),
        pipeline.spec.monitoring.log_retention_days,
        key_arn,
        pipeline.spec.retain,
    )
    role = template.add_resource(
        Role(
            "FlowLogRole",
            Description=f"pipectl {pipeline.name}/{pipeline.env}: VPC Flow Logs delivery",
            AssumeRolePolicyDocument=policy.flow_log_trust(),
            Policies=[
                RolePolicy(PolicyName="WriteFlowLogs", PolicyDocument=policy.flow_log_policy(GetAtt(group, "Arn")))
            ],
        )
    )
    template.add_resource(
        FlowLog(
            "VpcFlowLog",
            ResourceId=Ref(vpc),
            ResourceType="VPC",
            TrafficType="ALL",
            LogDestinationType="cloud-watch-logs",
            LogGroupName=Ref(group),
            DeliverLogsPermissionArn=GetAtt(role, "Arn"),
        )
    )
