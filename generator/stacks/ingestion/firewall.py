"""The web application firewall in front of the collectors' load balancer.

Public web pages send events without credentials, so the collection path is open to anyone: a per-IP
rate limit keeps one client from flooding the pipeline, AWS's known-bad-inputs rules refuse exploit
payloads, and a query string longer than any beacon sends is refused. Body size is not checked here:
a WAF on a load balancer sees only a body's first 8 KB, while trackers send batches up to the
collector's own limit (MAX_BODY_KB, answered with 413). The same firewall guards token-verified paths.
"""

from __future__ import annotations

from troposphere import GetAtt, Ref
from troposphere.wafv2 import (
    AllowAction,
    BlockAction,
    DefaultAction,
    FieldToMatch,
    ManagedRuleGroupStatement,
    OverrideAction,
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

MAX_QUERY_STRING_BYTES = 4096
"""The longest query string a GET beacon sends; longer ones are refused before a collector parses them."""


def _visibility(metric: str) -> VisibilityConfig:
    return VisibilityConfig(CloudWatchMetricsEnabled=True, MetricName=metric, SampledRequestsEnabled=True)


def web_acl(stack: IngestionParts) -> WebACL:
    """Rate limit per IP, query string size, known bad inputs; attached to the load balancer."""
    prefix = f"pipectl-{stack.pipeline.name}-{stack.pipeline.env}"
    acl = stack.template.add_resource(
        WebACL(
            "CollectorFirewall",
            Name=f"{prefix}-collectors",
            Description=f"Rate limit and request checks in front of the {stack.label} collectors",
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
                    Name="QueryStringSizeLimit",
                    Priority=1,
                    Action=RuleAction(Block=BlockAction()),
                    Statement=Statement(
                        SizeConstraintStatement=SizeConstraintStatement(
                            FieldToMatch=FieldToMatch(QueryString={}),
                            ComparisonOperator="GT",
                            Size=MAX_QUERY_STRING_BYTES,
                            TextTransformations=[TextTransformation(Priority=0, Type="NONE")],
                        )
                    ),
                    VisibilityConfig=_visibility("query-string-size-limit"),
                ),
                WebACLRule(
                    Name="AWSManagedRulesKnownBadInputsRuleSet",
                    Priority=2,
                    OverrideAction=OverrideAction(**{"None": {}}),  # the group's own actions (block) apply
                    Statement=Statement(
                        ManagedRuleGroupStatement=ManagedRuleGroupStatement(
                            VendorName="AWS", Name="AWSManagedRulesKnownBadInputsRuleSet"
                        )
                    ),
                    VisibilityConfig=_visibility("known-bad-inputs"),
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
