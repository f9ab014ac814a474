"""The bootstrap stack (`pipectl-bootstrap`): one template and asset bucket per account and region.

Deploys need it before anything else: templates over CloudFormation's inline limit go by TemplateURL,
and Lambda code is read from it by CreateFunction. It is deployed inline, so it stays small.

Encryption is SSE-KMS with the AWS-managed key `aws/s3`, on purpose: the objects are read by
whichever principal deploys (CloudFormation fetches a TemplateURL with the caller's credentials,
Lambda reads a code object with the credentials of whoever calls CreateFunction, i.e. the execution
role), and `aws/s3`'s policy lets any principal of the account use it through S3. A customer key
would need a kms:Decrypt grant in every deploying role's policy. Templates and code are in git, not
data, so the per-key audit a customer key buys matters less here than deploys that always read.
"""

from __future__ import annotations

from dataclasses import dataclass

from troposphere import GetAtt, Ref, Template
from troposphere.s3 import (
    AbortIncompleteMultipartUpload,
    Bucket,
    BucketPolicy,
    LifecycleRule,
    NoncurrentVersionExpiration,
)

from generator.contract import BOOTSTRAP_STACK, TEMPLATE_BUCKET_OUTPUT, TEMPLATE_KEY_PREFIX, StackKind
from generator.policy.bootstrap import template_bucket_policy
from generator.stacks import common
from generator.stacks.accepted import TEMPLATE_BUCKET, accept
from generator.stacks.buckets import kms_encryption, private_bucket

KIND = StackKind.BOOTSTRAP
AWS_MANAGED_S3_KEY = "alias/aws/s3"


@dataclass(frozen=True)
class TemplateBucketSpec:
    """How long the bucket keeps what it no longer needs, in days.

    Templates are read once, when a change set is created: they expire. Assets are not expired by
    age: a rollback of a Lambda update reads the previous code object again, however old it is.
    Versioning keeps an overwritten or deleted object recoverable until `noncurrent_days`.
    """

    template_days: int = 30
    noncurrent_days: int = 30
    incomplete_upload_days: int = 7


def build_template_bucket(spec: TemplateBucketSpec) -> Template:
    """The bucket, its TLS-only policy, and its name as output and export."""
    template = common.new_template(
        "pipectl bootstrap: the template and asset bucket that deploys into this account and region read"
    )
    bucket = template.add_resource(common.keep(accept(_bucket(spec), TEMPLATE_BUCKET), retain=True))
    template.add_resource(
        BucketPolicy(
            "TemplateBucketPolicy", Bucket=Ref(bucket), PolicyDocument=template_bucket_policy(GetAtt(bucket, "Arn"))
        )
    )
    common.add_output(
        template,
        BOOTSTRAP_STACK,
        TEMPLATE_BUCKET_OUTPUT,
        Ref(bucket),
        "Bucket for templates over the inline limit and for Lambda code assets",
    )
    return template


def _bucket(spec: TemplateBucketSpec) -> Bucket:
    """Private, versioned, SSE-KMS (aws/s3, see the module's docstring), with lifecycle rules."""
    return private_bucket(
        "TemplateBucket",
        kms_encryption(AWS_MANAGED_S3_KEY),
        [
            LifecycleRule(
                Id="ExpireTemplates",
                Status="Enabled",
                Prefix=TEMPLATE_KEY_PREFIX,
                ExpirationInDays=spec.template_days,
            ),
            LifecycleRule(
                Id="ExpireNoncurrentVersions",
                Status="Enabled",
                NoncurrentVersionExpiration=NoncurrentVersionExpiration(NoncurrentDays=spec.noncurrent_days),
                AbortIncompleteMultipartUpload=AbortIncompleteMultipartUpload(
                    DaysAfterInitiation=spec.incomplete_upload_days
                ),
                ExpiredObjectDeleteMarker=True,
            ),
        ],
    )
