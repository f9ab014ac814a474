"""S3 bucket policies (TLS-only, log delivery) in moto's S3 backend; moto has no model for them."""

from __future__ import annotations

import json
from typing import Any

from generator.deploy.local.compat import backend, moto_class
from generator.deploy.local.models._base import PipectlModel, as_json_text


class PipectlBucketPolicy(PipectlModel):
    """Ref is the bucket name, the policy's only identity on AWS as well."""

    TYPE = "AWS::S3::BucketPolicy"

    def __init__(self, bucket: str) -> None:
        self.physical_resource_id = bucket
        self.attributes = {}

    @classmethod
    def create(
        cls, resource_name: str, properties: dict[str, Any], account_id: str, region_name: str
    ) -> PipectlBucketPolicy:
        bucket = properties["Bucket"]
        policy = as_json_text(properties["PolicyDocument"]).encode()
        backend("s3", account_id, region_name).put_bucket_policy(bucket, policy)
        return cls(bucket)

    def delete(self, account_id: str, region_name: str) -> None:
        s3 = backend("s3", account_id, region_name)
        if self.physical_resource_id in s3.buckets:  # on stack deletion it may already be gone
            s3.delete_bucket_policy(self.physical_resource_id)


def _transport_is_tls(statement: dict[str, Any]) -> bool:
    """A Deny on `aws:SecureTransport: false` never matches: the embedded AWS stands in for a TLS endpoint."""
    condition = statement.get("Condition") or {}
    secure = {str(k).lower(): v for k, v in (condition.get("Bool") or {}).items()}.get("aws:securetransport")
    return set(condition) == {"Bool"} and str(secure).lower() == "false" and statement.get("Effect") == "Deny"


def _get_permission(bucket: Any, action: str, resource: str) -> Any:
    """moto ignores Conditions, so a TLS-only policy would deny every request; evaluate it as AWS does over TLS."""
    permission_result = moto_class("iam", "PermissionResult")
    if bucket.policy is None:
        return permission_result.NEUTRAL
    document = json.loads(bucket.policy.decode())
    statements = document.get("Statement", [])
    statements = [statements] if isinstance(statements, dict) else statements
    document["Statement"] = [s for s in statements if not _transport_is_tls(s)]
    if not document["Statement"]:
        return permission_result.NEUTRAL
    return moto_class("iam", "IAMPolicy")(json.dumps(document)).is_action_permitted(action, resource)


_bucket_class: Any = moto_class("s3", "FakeBucket")
_bucket_class.get_permission = _get_permission
