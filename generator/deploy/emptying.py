"""Emptying a bucket whose stack is deleted with its data: CloudFormation never deletes a non-empty bucket.

Only for buckets the user asked to delete (`--delete-data`) and whose template says `DeletionPolicy:
Delete`: every object version and delete marker goes, in batches of 1,000 (DeleteObjects' limit),
with a progress line per batch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from generator.deploy.aws import Aws, error_code
from generator.deploy.errors import DeployError

BATCH = 1000  # DeleteObjects takes at most 1,000 keys per call


def stack_buckets_to_empty(aws: Aws, region: str, stack_id: str, template: dict[str, Any]) -> list[str]:
    """Physical names of the stack's buckets that its deletion deletes (DeletionPolicy Delete or absent)."""
    logical = {
        name
        for name, resource in (template.get("Resources") or {}).items()
        if resource.get("Type") == "AWS::S3::Bucket" and resource.get("DeletionPolicy", "Delete") == "Delete"
    }
    if not logical:
        return []
    summaries = aws.cfn(region).paginate("list_stack_resources", "StackResourceSummaries", StackName=stack_id)
    return sorted(
        str(s["PhysicalResourceId"])
        for s in summaries
        if s.get("LogicalResourceId") in logical
        and s.get("PhysicalResourceId")
        and s.get("ResourceStatus") != "DELETE_COMPLETE"
    )


def empty_bucket(aws: Aws, region: str, bucket: str, note: Callable[[str], None]) -> int:
    """Delete every version and delete marker in `bucket`; returns how many were deleted.

    Each round lists the first page again rather than following markers: the keys before a marker are
    gone by then, and every round deletes what it listed or fails.
    """
    s3 = aws.client("s3", region)
    deleted = 0
    try:
        while True:
            page = s3.list_object_versions(Bucket=bucket, MaxKeys=BATCH)
            batch = [
                {"Key": str(item["Key"]), "VersionId": str(item.get("VersionId") or "null")}
                for item in [*(page.get("Versions") or []), *(page.get("DeleteMarkers") or [])]
            ][:BATCH]
            if not batch:
                return deleted
            answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
            errors = answer.get("Errors") or []
            if errors:
                first = errors[0]
                raise DeployError(
                    f"bucket {bucket}: {len(errors)} object(s) could not be deleted, first "
                    f"{first.get('Key')}: {first.get('Code')} {first.get('Message')}"
                )
            deleted += len(batch)
            note(f"emptying bucket {bucket}: {deleted} object versions deleted")
    except ClientError as exc:
        if error_code(exc) == "NoSuchBucket":
            return deleted
        raise
