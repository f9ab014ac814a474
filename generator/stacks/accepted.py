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

SITE_FILES = Finding(
    "CKV_AWS_18",
    "the site bucket holds only the console's static app files, written by the Apply role and read by "
    "CloudFront through origin access control; object-level access is audited by CloudTrail data events",
)
DEFAULT_CERTIFICATE = Finding(
    "CKV_AWS_174",
    "without a _console.yaml domain the distribution serves CloudFront's default *.cloudfront.net "
    "certificate, whose protocol policy CloudFront sets and no template can change; with a domain, the "
    "minimum is TLSv1.2_2021",
)
CLOUDFRONT_FIREWALL = Finding(
    "CKV_AWS_68",
    "a web ACL for CloudFront must be created in US East (N. Virginia), and the console stack deploys in the console's "
    "region; the distribution serves only static files, and the API they call sits behind the console's own "
    "regional web ACL",
)
CLOUDFRONT_LOGS = Finding(
    "CKV_AWS_86",
    "CloudFront's standard logs need a bucket with ACLs enabled, which pipectl's buckets refuse (bucket "
    "owner enforced); the distribution serves only static files, and every API call is logged by AppSync",
)
CREATE_ANY_RESOURCE = Finding(
    "CKV_AWS_111",
    "the write actions on * are those the Service Authorization Reference lists no resource type for (a "
    "create names no ARN before the call); every other statement names pipectl's own resources",
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
