"""Scanner findings pipectl accepts, each with its reason, named once and attached where they apply.

Why: IaC scanners (checkov) flag some choices on purpose made here. Each accepted finding sits in its
resource's `Metadata` with the reason beside it, so a reviewer reads why next to the resource, and rule
E9012 fails a suppression that gives none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from troposphere import AWSObject

Resource = TypeVar("Resource", bound=AWSObject)


@dataclass(frozen=True)
class Finding:
    """A scanner check and why pipectl accepts it where it is attached."""

    check: str
    reason: str


NO_VPC = Finding(
    "CKV_AWS_117",
    "the function only calls AWS service APIs (S3, Kinesis, DynamoDB, SQS, Step Functions) with IAM-signed "
    "requests and reaches nothing inside a VPC; a VPC would add NAT or endpoints without narrowing its access",
)
LOGS_BUCKET = Finding(
    "CKV_AWS_18",
    "this is the access-logs bucket: it receives the data bucket's and the load balancer's logs and cannot "
    "log to itself",
)
ARTIFACT_BUCKET = Finding(
    "CKV_AWS_18",
    "the delivery stack has no logs bucket: only the delivery's own roles read and write here (bucket policy, "
    "TLS only), objects expire after the artifact retention; object-level access is audited by CloudTrail data "
    "events",
)
TEMPLATE_BUCKET = Finding(
    "CKV_AWS_18",
    "the bootstrap stack has no logs bucket: it holds only templates and code assets that CloudFormation "
    "reads, written by pipectl's roles; object-level access is audited by CloudTrail data events",
)
UNRESERVED = Finding(
    "CKV_AWS_115",
    "reserved concurrency is opt-in (processing.concurrency): unset, the function shares the account's "
    "unreserved pool and its schedule or stream bounds its invocations; an on-demand stream resizes itself, "
    "so a fixed reservation would throttle its sink function below what the stream needs",
)

_BOUNDARY_REASON = (
    "a permissions boundary grants nothing: it caps the roles that carry it; its Allow * leaves their own "
    "policies in force and its Deny statements take away IAM, escalation and foreign roles"
)
# Scanners read the boundary's `Allow *` as a grant of each of these.
BOUNDARY = tuple(
    Finding(check, f"{_BOUNDARY_REASON} (not {what})")
    for check, what in (
        ("CKV_AWS_107", "credentials exposure"),
        ("CKV_AWS_108", "data exfiltration"),
        ("CKV_AWS_109", "permissions management"),
        ("CKV_AWS_110", "privilege escalation"),
        ("CKV_AWS_111", "write access"),
    )
)


def accept(resource: Resource, *findings: Finding) -> Resource:
    """Record the accepted findings in the resource's Metadata (checkov's skip list) and return it."""
    metadata = dict(getattr(resource, "Metadata", None) or {})
    checkov = dict(metadata.get("checkov") or {})
    skip = list(checkov.get("skip") or [])
    skip.extend({"id": finding.check, "comment": finding.reason} for finding in findings)
    checkov["skip"] = skip
    metadata["checkov"] = checkov
    resource.Metadata = metadata
    return resource
