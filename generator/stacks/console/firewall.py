"""The web application firewall in front of the console API."""

from __future__ import annotations

from troposphere import GetAtt, Template
from troposphere.appsync import GraphQLApi
from troposphere.wafv2 import WebACL

from generator.stacks.console.names import RATE_LIMIT_PER_5_MIN
from generator.stacks.firewall import add_web_acl, managed_rules, rate_limit_per_ip


def add_firewall(template: Template, api: GraphQLApi) -> WebACL:
    """AWS managed common rules, the known-bad-inputs rules and a per-IP rate limit in front of the API."""
    return add_web_acl(
        template,
        "GraphQLFirewall",
        "pipectl-console",
        "Protects the pipectl console GraphQL API",
        GetAtt(api, "Arn"),
        [
            managed_rules("AWSManagedRulesCommonRuleSet", "common-rule-set"),
            managed_rules("AWSManagedRulesKnownBadInputsRuleSet", "known-bad-inputs"),
            rate_limit_per_ip(RATE_LIMIT_PER_5_MIN),
        ],
    )
