"""The storage stack: the pipeline's KMS key, its data and logs buckets, and what the sink lands events in.

Everything here holds data, so every resource goes through `common.keep`: removing a pipeline file
never deletes events unless the file says `deletion: delete`. The sink's own resources (a Kinesis stream,
a Firehose delivery stream) come from its sink module, which uses the key and buckets named here.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from troposphere import GetAtt, Ref, Template
from troposphere.kms import Alias, Key
from troposphere.s3 import (
    AbortIncompleteMultipartUpload,
    Bucket,
    BucketPolicy,
    LifecycleRule,
    LoggingConfiguration,
    MetricsConfiguration,
    NoncurrentVersionExpiration,
)

from generator.policy import storage as policy
from generator.spec.loader import Pipeline
from generator.stacks import common
from generator.stacks.accepted import LOGS_BUCKET, accept
from generator.stacks.buckets import kms_encryption, private_bucket, s3_managed_encryption
from generator.stacks.sinks import sink_of

KIND = "storage"
NONCURRENT_VERSION_DAYS = 30
INCOMPLETE_UPLOAD_DAYS = 7
DATA_ACCESS_LOG_PREFIX = "s3-access/data/"


def build_storage(pipeline: Pipeline) -> Template:
    """Key, buckets and the sink's resources of one pipeline in one environment."""
    return StorageStack(pipeline).build()


class StorageStack:
    """The storage stack's resources, each built once on first use; the sink module uses them by name."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.name = common.stack_name(pipeline, KIND)
        self.template = common.new_template(
            common.describe(pipeline, KIND, "KMS key, data and logs buckets, event stream")
        )

    def build(self) -> Template:
        """The table of contents: a resource adds itself to the template when first named."""
        _ = (self.key, self.logs_bucket, self.data_bucket, self.logs_bucket_policy)
        sink_of(self.pipeline).add_storage(self)
        return self.template

    def output(self, name: str, value: Any, description: str) -> None:
        common.add_output(self.template, self.name, name, value, description)

    @property
    def retain(self) -> bool:
        return self.pipeline.spec.retain

    @cached_property
    def key(self) -> Key:
        return _key(self)

    @cached_property
    def key_arn(self) -> GetAtt:
        return GetAtt(self.key, "Arn")

    @cached_property
    def logs_bucket(self) -> Bucket:
        return _logs_bucket(self)

    @cached_property
    def data_bucket(self) -> Bucket:
        return _data_bucket(self)

    @cached_property
    def data_bucket_arn(self) -> GetAtt:
        return GetAtt(self.data_bucket, "Arn")

    @cached_property
    def logs_bucket_policy(self) -> BucketPolicy:
        return _logs_bucket_policy(self)


def alias_name(pipeline: Pipeline) -> str:
    return f"alias/pipectl/{pipeline.name}/{pipeline.env}"


def alb_log_prefix(pipeline: Pipeline) -> str:
    """Where the load balancer of the ingestion stack writes its access logs in the logs bucket."""
    return f"alb/{pipeline.name}/{pipeline.env}"


def _key(stack: StorageStack) -> Key:
    """One customer-managed key per pipeline and environment, rotated yearly by KMS."""
    template, pipeline = stack.template, stack.pipeline
    key = template.add_resource(
        common.keep(
            Key(
                "DataKey",
                Description=f"pipectl {pipeline.name}/{pipeline.env}: data, streams, queues, topics, logs",
                EnableKeyRotation=True,
                KeyPolicy=policy.key_policy(),
                PendingWindowInDays=30,
            ),
            pipeline.spec.retain,
        )
    )
    template.add_resource(Alias("DataKeyAlias", AliasName=alias_name(pipeline), TargetKeyId=Ref(key)))
    stack.output("KeyArn", GetAtt(key, "Arn"), "ARN of the pipeline's KMS key")
    return key


def _lifecycle(rule_id: str, expiration_days: int) -> list[LifecycleRule]:
    return [
        LifecycleRule(
            Id=rule_id,
            Status="Enabled",
            ExpirationInDays=expiration_days,
            NoncurrentVersionExpiration=NoncurrentVersionExpiration(NoncurrentDays=NONCURRENT_VERSION_DAYS),
            AbortIncompleteMultipartUpload=AbortIncompleteMultipartUpload(DaysAfterInitiation=INCOMPLETE_UPLOAD_DAYS),
        )
    ]


def _logs_bucket(stack: StorageStack) -> Bucket:
    """Server access logs of the data bucket and access logs of the load balancer, kept as long as the
    pipeline's CloudWatch logs (monitoring.log_retention_days)."""
    template, pipeline = stack.template, stack.pipeline
    bucket = private_bucket(
        "LogsBucket",
        # ALB access logs can only be written to buckets encrypted with SSE-S3 (AES256), not SSE-KMS.
        s3_managed_encryption(),
        _lifecycle("ExpireLogs", pipeline.spec.monitoring.log_retention_days),
    )
    template.add_resource(common.keep(accept(bucket, LOGS_BUCKET), pipeline.spec.retain))
    stack.output("LogsBucketName", Ref(bucket), "Bucket for S3 and ALB access logs")
    return bucket


def _logs_bucket_policy(stack: StorageStack) -> BucketPolicy:
    """TLS only; server access logs and load balancer logs may be written under their own prefixes."""
    template, pipeline, logs_bucket, data_bucket = stack.template, stack.pipeline, stack.logs_bucket, stack.data_bucket
    return template.add_resource(
        BucketPolicy(
            "LogsBucketPolicy",
            Bucket=Ref(logs_bucket),
            PolicyDocument=policy.logs_bucket_policy(
                GetAtt(logs_bucket, "Arn"),
                DATA_ACCESS_LOG_PREFIX,
                GetAtt(data_bucket, "Arn"),
                alb_log_prefix(pipeline),
                pipeline.spec.region,
            ),
        )
    )


def _data_bucket(stack: StorageStack) -> Bucket:
    """Raw and processed events, encrypted with the pipeline key, expired after retention_days."""
    template, pipeline, key, logs_bucket = stack.template, stack.pipeline, stack.key, stack.logs_bucket
    bucket = private_bucket(
        "DataBucket",
        kms_encryption(GetAtt(key, "Arn")),
        _lifecycle("ExpireData", pipeline.spec.processing.retention_days),
        LoggingConfiguration=LoggingConfiguration(
            DestinationBucketName=Ref(logs_bucket), LogFilePrefix=DATA_ACCESS_LOG_PREFIX
        ),
        # Request metrics for the whole bucket: the dashboard's "objects delivered" widget reads them.
        MetricsConfigurations=[MetricsConfiguration(Id="EntireBucket")],
    )
    template.add_resource(common.keep(bucket, pipeline.spec.retain))
    template.add_resource(
        BucketPolicy(
            "DataBucketPolicy",
            Bucket=Ref(bucket),
            PolicyDocument=policy.data_bucket_policy(GetAtt(bucket, "Arn")),
        )
    )
    stack.output("DataBucketName", Ref(bucket), "Bucket holding the pipeline's events")
    stack.output("DataBucketArn", GetAtt(bucket, "Arn"), "ARN of the data bucket")
    return bucket
