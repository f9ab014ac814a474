"""The web application firewall in front of the console API."""

from __future__ import annotations

from troposphere import GetAtt, Template
from troposphere.appsync import GraphQLApi
from troposphere.wafv2 import (
    AllowAction,
    BlockAction,
    DefaultAction,
    ManagedRuleGroupStatement,
    OverrideAction,
    RateBasedStatement,
    RuleAction,
    Statement,
    VisibilityConfig,
    WebACL,
    WebACLAssociation,
    WebACLRule,
)

from generator.stacks.console.names import RATE_LIMIT_PER_5_MIN


def add_firewall(template: Template, api: GraphQLApi) -> WebACL:
    """AWS managed common rules, the known-bad-inputs rules and a per-IP rate limit in front of the API."""
    acl = template.add_resource(
        WebACL(
            "GraphQLFirewall",
            Name="pipectl-console",
            Description="Protects the pipectl console GraphQL API",
            Scope="REGIONAL",
            DefaultAction=DefaultAction(Allow=AllowAction()),
            VisibilityConfig=_visibility("pipectl-console"),
            Rules=[
                WebACLRule(
                    Name="AWSManagedRulesCommonRuleSet",
                    Priority=0,
                    OverrideAction=OverrideAction(**{"None": {}}),  # the group's own actions (block) apply
                    Statement=Statement(
                        ManagedRuleGroupStatement=ManagedRuleGroupStatement(
                            VendorName="AWS", Name="AWSManagedRulesCommonRuleSet"
                        )
                    ),
                    VisibilityConfig=_visibility("common-rule-set"),
                ),
                WebACLRule(
                    Name="AWSManagedRulesKnownBadInputsRuleSet",
                    Priority=1,
                    OverrideAction=OverrideAction(**{"None": {}}),
                    Statement=Statement(
                        ManagedRuleGroupStatement=ManagedRuleGroupStatement(
                            VendorName="AWS", Name="AWSManagedRulesKnownBadInputsRuleSet"
                        )
                    ),
                    VisibilityConfig=_visibility("known-bad-inputs"),
                ),
                WebACLRule(
                    Name="RateLimitPerIp",
                    Priority=2,
                    Action=RuleAction(Block=BlockAction()),
                    Statement=Statement(
                        RateBasedStatement=RateBasedStatement(
                            Limit=RATE_LIMIT_PER_5_MIN, AggregateKeyType="IP", EvaluationWindowSec=300
                        )
                    ),
                    VisibilityConfig=_visibility("rate-limit-per-ip"),
                ),
            ],
        )
    )
    template.add_resource(
        WebACLAssociation("GraphQLFirewallAssociation", ResourceArn=GetAtt(api, "Arn"), WebACLArn=GetAtt(acl, "Arn"))
    )
    return acl


def _visibility(metric: str) -> VisibilityConfig:
    return VisibilityConfig(CloudWatchMetricsEnabled=True, MetricName=metric, SampledRequestsEnabled=True)
