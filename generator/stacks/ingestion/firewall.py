"""The web application firewall in front of the collectors' load balancer.

Public web pages send events without credentials, so the collection path is open to anyone: a per-IP
rate limit keeps one client from flooding the pipeline, AWS's known-bad-inputs rules refuse exploit
payloads, and a query string longer than any beacon sends is refused. Body size is not checked here:
a WAF on a load balancer sees only a body's first 8 KB, while trackers send batches up to the
collector's own limit (MAX_BODY_KB, answered with 413). The same firewall guards token-verified paths.
"""

from __future__ import annotations

from troposphere import Ref
from troposphere.wafv2 import WebACL

from generator.stacks.firewall import add_web_acl, managed_rules, query_string_limit, rate_limit_per_ip
from generator.stacks.ingestion.parts import IngestionParts

RATE_LIMIT_PER_5_MIN = 6000
"""Requests one IP address may send in five minutes (20 a second): far above a browser or an app."""

MAX_QUERY_STRING_BYTES = 4096
"""The longest query string a GET beacon sends; longer ones are refused before a collector parses them."""


def web_acl(stack: IngestionParts) -> WebACL:
    """Rate limit per IP, query string size, known bad inputs; attached to the load balancer."""
    name = f"pipectl-{stack.pipeline.name}-{stack.pipeline.env}-collectors"
    return add_web_acl(
        stack.template,
        "CollectorFirewall",
        name,
        f"Rate limit and request checks in front of the {stack.label} collectors",
        Ref(stack.load_balancer),
        [
            rate_limit_per_ip(RATE_LIMIT_PER_5_MIN),
            query_string_limit(MAX_QUERY_STRING_BYTES),
            managed_rules("AWSManagedRulesKnownBadInputsRuleSet", "known-bad-inputs"),
        ],
    )
