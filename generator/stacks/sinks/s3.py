"""The S3 sink: collectors batch events themselves and put gzip objects under raw/ of the data bucket.

No resources of its own: the data bucket is the storage stack's, and nothing moves events into raw/.
"""

from __future__ import annotations

from typing import Any, ClassVar

from awacs import kms, s3
from awacs.aws import Allow, Policy, Statement
from troposphere import Sub

from generator.policy.ingestion import key_via
from generator.policy.processing import document
from generator.spec.loader import Pipeline
from generator.spec.sinks import S3Sink
from generator.stacks.sinks.base import RAW_PREFIX, IngestionView, MonitoringView, SinkType, Widget


class S3(SinkType[S3Sink]):
    model = S3Sink
    landing = "the data bucket"
    sample: ClassVar[dict[str, Any]] = {"type": "s3"}

    def collector_environment(self, stack: IngestionView) -> dict[str, Any]:
        sink = self.settings(stack.pipeline)
        return {
            "BUCKET_NAME": stack.storage_output("DataBucketName"),
            "BUCKET_PREFIX": RAW_PREFIX,
            "BUFFER_MB": str(sink.buffer_mb),
            "INTERVAL_S": str(sink.interval_s),
        }

    def collector_policy(self, stack: IngestionView) -> Policy:
        """Collectors may only put objects under raw/ of the data bucket."""
        return document(
            Statement(
                Sid="PutRawEvents",
                Effect=Allow,
                Action=[s3.PutObject],
                Resource=[Sub(f"${{Arn}}/{RAW_PREFIX}*", Arn=stack.storage_output("DataBucketArn"))],
            ),
            # Decrypt is needed by multipart uploads to SSE-KMS buckets (S3 reads the data key back).
            key_via("s3", stack.key_arn, [kms.Decrypt, kms.GenerateDataKey]),
        )

    def dashboard_names(self, stack: MonitoringView) -> dict[str, Any]:
        return {"Bucket": stack.bucket}

    def widgets(self, pipeline: Pipeline) -> list[Widget]:
        return [
            Widget(
                0,
                12,
                "Objects written to the data bucket",
                [
                    [
                        "AWS/S3",
                        "PutRequests",
                        "BucketName",
                        "${Bucket}",
                        "FilterId",
                        "EntireBucket",
                        {"label": "PUT requests"},
                    ]
                ],
            ),
            Widget(
                12,
                12,
                "Objects stored in the data bucket (daily)",
                [
                    [
                        "AWS/S3",
                        "NumberOfObjects",
                        "BucketName",
                        "${Bucket}",
                        "StorageType",
                        "AllStorageTypes",
                        {"label": "objects", "period": 86400},
                    ]
                ],
                stat="Average",
            ),
        ]


SINK = S3()
