"""The load balancer in front of the collectors: security groups, the load balancer, its target group,
the DNS record of the collector domain and the endpoint apps send to."""

from __future__ import annotations

from troposphere import GetAtt
from troposphere.ec2 import SecurityGroup, SecurityGroupIngress, SecurityGroupRule
from troposphere.elasticloadbalancingv2 import (
    LoadBalancer,
    LoadBalancerAttributes,
    Matcher,
    TargetGroup,
    TargetGroupAttribute,
)
from troposphere.route53 import AliasTarget, RecordSetType

from generator.stacks.ingestion.collectors import HEALTH_PATH
from generator.stacks.ingestion.parts import IngestionParts, SecurityGroups
from generator.stacks.storage import alb_log_prefix

ANYWHERE_V4 = "0.0.0.0/0"
ANYWHERE_V6 = "::/0"


def _authenticates(stack: IngestionParts) -> bool:
    return stack.pipeline.spec.ingestion.auth.type != "none"


def security_groups(stack: IngestionParts) -> SecurityGroups:
    """The load balancer takes HTTPS from anywhere; collectors take the container port from it only."""
    template, net = stack.template, stack.network
    port = stack.pipeline.spec.ingestion.container_port
    collectors = template.add_resource(
        SecurityGroup(
            "CollectorSecurityGroup",
            GroupDescription=f"{stack.label} collectors: container port from the load balancer only",
            VpcId=net.vpc_id,
            SecurityGroupEgress=[
                SecurityGroupRule(
                    IpProtocol="tcp",
                    FromPort=443,
                    ToPort=443,
                    CidrIp=ANYWHERE_V4,
                    Description="HTTPS to the sink, logs and the image registry",
                )
            ],
        )
    )
    egress = [
        SecurityGroupRule(
            IpProtocol="tcp",
            FromPort=port,
            ToPort=port,
            DestinationSecurityGroupId=GetAtt(collectors, "GroupId"),
            Description="to the collectors",
        )
    ]
    if _authenticates(stack):
        # jwt-validation: the load balancer itself fetches the issuer's signing keys from the JWKS endpoint.
        egress.append(
            SecurityGroupRule(
                IpProtocol="tcp",
                FromPort=443,
                ToPort=443,
                CidrIp=ANYWHERE_V4,
                Description="HTTPS to the token issuer's JWKS endpoint",
            )
        )
    load_balancer = template.add_resource(
        SecurityGroup(
            "LoadBalancerSecurityGroup",
            GroupDescription=f"{stack.label} load balancer: HTTPS from anywhere",
            VpcId=net.vpc_id,
            SecurityGroupIngress=[
                SecurityGroupRule(
                    IpProtocol="tcp", FromPort=443, ToPort=443, CidrIp=ANYWHERE_V4, Description="HTTPS (IPv4)"
                ),
                SecurityGroupRule(
                    IpProtocol="tcp", FromPort=443, ToPort=443, CidrIpv6=ANYWHERE_V6, Description="HTTPS (IPv6)"
                ),
            ],
            SecurityGroupEgress=egress,
        )
    )
    template.add_resource(
        SecurityGroupIngress(
            "CollectorIngressFromLoadBalancer",
            GroupId=GetAtt(collectors, "GroupId"),
            IpProtocol="tcp",
            FromPort=port,
            ToPort=port,
            SourceSecurityGroupId=GetAtt(load_balancer, "GroupId"),
            Description="from the load balancer",
        )
    )
    return SecurityGroups(load_balancer=load_balancer, collectors=collectors)


def load_balancer(stack: IngestionParts) -> LoadBalancer:
    """Internet-facing, in the public subnets, access-logged to the logs bucket."""
    net = stack.network
    attributes = {
        "access_logs.s3.enabled": "true",
        "access_logs.s3.bucket": stack.storage_output("LogsBucketName"),
        "access_logs.s3.prefix": alb_log_prefix(stack.pipeline),
        "routing.http.drop_invalid_header_fields.enabled": "true",
    }
    added = stack.template.add_resource(
        LoadBalancer(
            "LoadBalancer",
            Type="application",
            Scheme="internet-facing",
            Subnets=net.public_subnets,
            SecurityGroups=[GetAtt(stack.security_groups.load_balancer, "GroupId")],
            LoadBalancerAttributes=[
                LoadBalancerAttributes(Key=key, Value=attributes[key]) for key in sorted(attributes)
            ],
        )
    )
    if net.routes:
        # An internet-facing load balancer needs the internet gateway attached to its VPC first.
        added.DependsOn = list(net.routes)
    stack.output("LoadBalancerDnsName", GetAtt(added, "DNSName"), "DNS name of the load balancer")
    stack.output(
        "LoadBalancerFullName",
        GetAtt(added, "LoadBalancerFullName"),
        "Load balancer name as CloudWatch metrics know it",
    )
    return added


def target_group(stack: IngestionParts) -> TargetGroup:
    """Collector tasks register by IP (awsvpc); the load balancer checks /health."""
    added = stack.template.add_resource(
        TargetGroup(
            "CollectorTargetGroup",
            TargetType="ip",
            Protocol="HTTP",
            Port=stack.pipeline.spec.ingestion.container_port,
            VpcId=stack.network.vpc_id,
            HealthCheckProtocol="HTTP",
            HealthCheckPath=HEALTH_PATH,
            Matcher=Matcher(HttpCode="200"),
            TargetGroupAttributes=[TargetGroupAttribute(Key="deregistration_delay.timeout_seconds", Value="30")],
        )
    )
    stack.output(
        "TargetGroupFullName",
        GetAtt(added, "TargetGroupFullName"),
        "Target group name as CloudWatch metrics know it",
    )
    return added


def dns_record(stack: IngestionParts) -> None:
    """An alias record for the collector domain, when the file names the hosted zone."""
    domain = stack.pipeline.spec.ingestion.domain
    if domain.hosted_zone_id is None:
        return
    stack.template.add_resource(
        RecordSetType(
            "CollectorDnsRecord",
            HostedZoneId=domain.hosted_zone_id,
            Name=domain.name,
            Type="A",
            AliasTarget=AliasTarget(
                DNSName=GetAtt(stack.load_balancer, "DNSName"),
                HostedZoneId=GetAtt(stack.load_balancer, "CanonicalHostedZoneID"),
                EvaluateTargetHealth=True,
            ),
        )
    )


def endpoint_output(stack: IngestionParts) -> None:
    ingestion = stack.pipeline.spec.ingestion
    stack.output(
        "CollectorEndpoint", f"https://{ingestion.domain.name}{ingestion.endpoint_path}", "Where apps send their events"
    )
