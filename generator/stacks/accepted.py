"""Scanner findings pipectl accepts, each with its reason, named once and attached where they apply.

Why: IaC scanners (checkov) flag some choices on purpose made here. Each accepted finding sits in its
resource's `Metadata` with the reason beside it, so a reviewer reads why next to the resource, and rule
E9012 fails a suppression that gives none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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
    "TLS only), objects expire after the artifact retention; object-level audit is CloudTrail data events'",
)
TEMPLATE_BUCKET = Finding(
    "CKV_AWS_18",
    "the bootstrap stack has no logs bucket: it holds only templates and code assets that CloudFormation "
    "reads, written by pipectl's roles; object-level audit is CloudTrail data events'",
)


def accept(resource: Any, *findings: Finding) -> Any:
    """Record the accepted findings in the resource's Metadata (checkov's skip list) and return it."""
    metadata = dict(getattr(resource, "Metadata", None) or {})
    checkov = dict(metadata.get("checkov") or {})
    skip = list(checkov.get("skip") or [])
    skip.extend({"id": finding.check, "comment": finding.reason} for finding in findings)
    checkov["skip"] = skip
    metadata["checkov"] = checkov
    resource.Metadata = metadata
    return resource
