"""The S3 bucket every pipectl stack builds on: private, versioned, encrypted, with lifecycle rules.

The data and logs buckets (storage), the artifact bucket (delivery) and the template bucket (bootstrap)
differ only in their key, their lifecycle and what else they log or measure; what makes a bucket safe
to hold pipectl's objects is written once here.
"""

from __future__ import annotations

from typing import Any

from troposphere.s3 import (
    Bucket,
    BucketEncryption,
    LifecycleConfiguration,
    LifecycleRule,
    OwnershipControls,
    OwnershipControlsRule,
    PublicAccessBlockConfiguration,
    ServerSideEncryptionByDefault,
    ServerSideEncryptionRule,
    VersioningConfiguration,
)


def private_bucket(
    logical_id: str, encryption: BucketEncryption, lifecycle: list[LifecycleRule], **properties: Any
) -> Bucket:
    """No public access and no ACLs (the bucket policy and IAM are the only way in), every version kept
    until `lifecycle` expires it; `properties` adds what only this bucket has (logging, metrics)."""
    return Bucket(
        logical_id,
        BucketEncryption=encryption,
        PublicAccessBlockConfiguration=PublicAccessBlockConfiguration(
            BlockPublicAcls=True, BlockPublicPolicy=True, IgnorePublicAcls=True, RestrictPublicBuckets=True
        ),
        OwnershipControls=OwnershipControls(Rules=[OwnershipControlsRule(ObjectOwnership="BucketOwnerEnforced")]),
        VersioningConfiguration=VersioningConfiguration(Status="Enabled"),
        LifecycleConfiguration=LifecycleConfiguration(Rules=lifecycle),
        **properties,
    )


def kms_encryption(key: Any) -> BucketEncryption:
    """SSE-KMS with `key` (an ARN or alias), with a bucket key so that S3 calls KMS once per bucket key,
    not once per object."""
    return BucketEncryption(
        ServerSideEncryptionConfiguration=[
            ServerSideEncryptionRule(
                BucketKeyEnabled=True,
                ServerSideEncryptionByDefault=ServerSideEncryptionByDefault(SSEAlgorithm="aws:kms", KMSMasterKeyID=key),
            )
        ]
    )


def s3_managed_encryption() -> BucketEncryption:
    """SSE-S3 (AES256): for a bucket a service writes to that cannot use a KMS key (load balancer logs)."""
    return BucketEncryption(
        ServerSideEncryptionConfiguration=[
            ServerSideEncryptionRule(ServerSideEncryptionByDefault=ServerSideEncryptionByDefault(SSEAlgorithm="AES256"))
        ]
    )
