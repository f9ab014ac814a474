"""The web application firewall in front of the collectors' load balancer.

Public web pages send events without credentials, so the collection path is open to anyone: a per-IP
rate limit keeps one client from flooding the pipeline, and a size limit refuses bodies larger than a
tracker ever sends before they reach a collector. The same firewall guards token-verified paths too.
"""

from __future__ import annotations

from troposphere import GetAtt, Ref
from troposphere.wafv2 import (
    AllowAction,
    BlockAction,
    Body,
    DefaultAction,
    FieldToMatch,
    RateBasedStatement,
    RuleAction,
    SizeConstraintStatement,
    Statement,
    TextTransformation,
    VisibilityConfig,
    WebACL,
    WebACLAssociation,
    WebACLRule,
)

from generator.stacks.ingestion.parts import IngestionParts

RATE_LIMIT_PER_5_MIN = 6000
"""Requests one IP address may send in five minutes (20 a second): far above a browser or an app."""

MAX_BODY_BYTES = 8192
"""The most a WAF attached to a load balancer inspects of a body; a larger body is refused, not waved through."""


def _visibility(metric: str) -> VisibilityConfig:
    return VisibilityConfig(CloudWatchMetricsEnabled=True, MetricName=metric, SampledRequestsEnabled=True)


def web_acl(stack: IngestionParts) -> WebACL:
    """Rate limit per IP and a body size limit, attached to the load balancer."""
    prefix = f"pipectl-{stack.pipeline.name}-{stack.pipeline.env}"
    acl = stack.template.add_resource(
        WebACL(
            "CollectorFirewall",
            Name=f"{prefix}-collectors",
            Description=f"Rate and size limits in front of the {stack.label} collectors",
            Scope="REGIONAL",
            DefaultAction=DefaultAction(Allow=AllowAction()),
            VisibilityConfig=_visibility(f"{prefix}-collectors"),
            Rules=[
                WebACLRule(
                    Name="RateLimitPerIp",
                    Priority=0,
                    Action=RuleAction(Block=BlockAction()),
                    Statement=Statement(
                        RateBasedStatement=RateBasedStatement(
                            Limit=RATE_LIMIT_PER_5_MIN, AggregateKeyType="IP", EvaluationWindowSec=300
                        )
                    ),
                    VisibilityConfig=_visibility("rate-limit-per-ip"),
                ),
                WebACLRule(
                    Name="BodySizeLimit",
                    Priority=1,
                    Action=RuleAction(Block=BlockAction()),
                    Statement=Statement(
                        SizeConstraintStatement=SizeConstraintStatement(
                            FieldToMatch=FieldToMatch(Body=Body(OversizeHandling="MATCH")),
                            ComparisonOperator="GT",
                            Size=MAX_BODY_BYTES,
                            TextTransformations=[TextTransformation(Priority=0, Type="NONE")],
                        )
                    ),
                    VisibilityConfig=_visibility("body-size-limit"),
                ),
            ],
        )
    )
    stack.template.add_resource(
        WebACLAssociation(
            "CollectorFirewallAssociation", ResourceArn=Ref(stack.load_balancer), WebACLArn=GetAtt(acl, "Arn")
        )
    )
    return acl
