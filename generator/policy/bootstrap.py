"""The bootstrap stack's bucket policy: TLS only; who may read and write is decided by IAM.

No grant here: the template and asset bucket is used by the principals of its own account (the
caller that plans, CloudFormation and Lambda acting for it), whose IAM policies say what they may do.
"""

from __future__ import annotations

from typing import Any

from awacs.aws import Policy, PolicyDocument

from generator.policy.storage import deny_insecure_transport


def template_bucket_policy(bucket_arn: Any) -> Policy:
    """Refuse plain HTTP on the bucket and its objects."""
    return PolicyDocument(Version="2012-10-17", Statement=[deny_insecure_transport(bucket_arn)])
