"""What each text pattern of the pipeline-file models means, in words: errors say this, not the regex.

Keyed by the pattern itself, so the models stay the one place a pattern is written; a test walks the
exported JSON Schema and fails when a pattern has no words here.
"""

from __future__ import annotations

WORDS: dict[str, str] = {
    r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$": "an e-mail address like oncall@example.com",
    r"^[a-z][a-z0-9_]{0,62}$": "an id of lower-case letters, digits and _ (starting with a letter, up to 63)",
    r"^subnet-[0-9a-f]{8,17}$": "a subnet id like subnet-0a1b2c3d4e5f60001",
    r"^vpc-[0-9a-f]{8,17}$": "a VPC id like vpc-0a1b2c3d4e5f60718",
    r"^(rate\(\s*\d+\s+(minute|minutes|hour|hours|day|days)\s*\)|cron\([^)]+\))$": (
        "a schedule like rate(1 hour), rate(15 minutes), rate(2 days) or cron(0 3 * * ? *)"
    ),
    r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$": "a lower-case domain name like collect.example.com",
    r"^https://[a-z0-9.-]+(:\d{1,5})?$": "an https origin like https://shop.example.com (no path, no trailing /)",
    r"^https://[^\s]+$": "an https URL",
    r"^arn:aws(-cn|-us-gov)?:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]{36}$": (
        "an ACM certificate ARN like arn:aws:acm:eu-west-1:123456789012:certificate/<uuid>"
    ),
    r"^arn:aws(-cn|-us-gov)?:secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]+$": (
        "a Secrets Manager secret ARN like arn:aws:secretsmanager:eu-west-1:123456789012:secret:name"
    ),
    r"^10\.\d{1,3}\.0\.0/16$": "a /16 block in 10.0.0.0/8 like 10.0.0.0/16",
    r"^Z[0-9A-Z]{4,32}$": "a Route 53 hosted zone id like Z0123456789ABC",
    r"^[a-z][a-z0-9-]*\.[a-z0-9]+$": "an EC2 instance type like c6g.large",
    r"^\S+$": "text without spaces",
    r"^/[A-Za-z0-9/._-]{0,120}$": "a path starting with / like /collect",
    r"^[a-z]{2}(-gov)?-[a-z]+-\d$": "an AWS region like eu-west-1",
    r"^[a-z][a-z0-9]{0,9}$": "a name of lower-case letters and digits (starting with a letter, up to 10)",
}


def in_words(pattern: object) -> str:
    """`expected ...` for a pattern; the pattern itself only when no words were written for it."""
    return WORDS.get(str(pattern), f"text matching {pattern}")
