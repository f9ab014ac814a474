"""The regional WAF web ACL pipectl puts in front of what the internet reaches (the console's GraphQL API,
the collectors' load balancer): one builder, and the rules both choose from, so both read alike.

Each rule has its own CloudWatch metric and sampled requests, so a block shows which rule made it.
"""

from __future__ import annotations

from typing import Any

from troposphere import GetAtt, Template
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

RuleSpec = tuple[str, str, dict[str, Any]]
"""A rule before its priority is known: name, metric, and the rule's action and statement."""


def managed_rules(group: str, metric: str) -> RuleSpec:
    """An AWS managed rule group, whose own actions (block) apply."""
    return (
        group,
        metric,
        {
            "OverrideAction": OverrideAction(**{"None": {}}),
            "Statement": Statement(ManagedRuleGroupStatement=ManagedRuleGroupStatement(VendorName="AWS", Name=group)),
        },
    )


def rate_limit_per_ip(limit_per_5_min: int) -> RuleSpec:
    """Blocks an IP address that sends more than `limit_per_5_min` requests in five minutes."""
    statement = RateBasedStatement(Limit=limit_per_5_min, AggregateKeyType="IP", EvaluationWindowSec=300)
    return ("RateLimitPerIp", "rate-limit-per-ip", _blocks(Statement(RateBasedStatement=statement)))


def query_string_limit(max_bytes: int) -> RuleSpec:
    """Blocks a query string longer than `max_bytes`."""
    statement = SizeConstraintStatement(
        FieldToMatch=FieldToMatch(QueryString={}),
        ComparisonOperator="GT",
        Size=max_bytes,
        TextTransformations=[TextTransformation(Priority=0, Type="NONE")],
    )
    return ("QueryStringSizeLimit", "query-string-size-limit", _blocks(Statement(SizeConstraintStatement=statement)))


def add_web_acl(
    template: Template, logical_id: str, name: str, description: str, protected_arn: Any, rules: list[RuleSpec]
) -> WebACL:
    """A regional web ACL that allows what no rule blocks, with `rules` in priority order, attached to
    `protected_arn` (an API's or a load balancer's ARN)."""
    acl = template.add_resource(
        WebACL(
            logical_id,
            Name=name,
            Description=description,
            Scope="REGIONAL",
            DefaultAction=DefaultAction(Allow=AllowAction()),
            VisibilityConfig=_visibility(name),
            Rules=[
                WebACLRule(Name=rule, Priority=priority, VisibilityConfig=_visibility(metric), **body)
                for priority, (rule, metric, body) in enumerate(rules)
            ],
        )
    )
    template.add_resource(
        WebACLAssociation(f"{logical_id}Association", ResourceArn=protected_arn, WebACLArn=GetAtt(acl, "Arn"))
    )
    return acl


def _blocks(statement: Statement) -> dict[str, Any]:
    return {"Action": RuleAction(Block=BlockAction()), "Statement": statement}


def _visibility(metric: str) -> VisibilityConfig:
    return VisibilityConfig(CloudWatchMetricsEnabled=True, MetricName=metric, SampledRequestsEnabled=True)
