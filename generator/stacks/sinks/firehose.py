"""The Firehose sink: collectors put records to a Kinesis Data Firehose delivery stream, which buffers them
and delivers gzip objects to raw/ of the data bucket, where enrichment reads them.

Storage holds the delivery stream (encrypted with the pipeline key), the role it delivers with, and its
error log; processing adds nothing, since Firehose itself writes raw/; monitoring watches throttling and
how late delivery is.
"""

from __future__ import annotations

from typing import Any, ClassVar

from awacs import firehose, kms, logs, s3
from awacs.aws import Allow, Condition, Policy, Statement, StringEquals
from troposphere import GetAtt, Ref, Sub
from troposphere.firehose import (
    BufferingHints,
    CloudWatchLoggingOptions,
    DeliveryStream,
    DeliveryStreamEncryptionConfigurationInput,
    EncryptionConfiguration,
    ExtendedS3DestinationConfiguration,
    KMSEncryptionConfig,
)
from troposphere.iam import Policy as RolePolicy
from troposphere.iam import Role
from troposphere.logs import LogGroup, LogStream

from generator.policy.processing import document, objects, service_trust
from generator.spec.loader import Pipeline
from generator.spec.sinks import FirehoseSink
from generator.stacks import common
from generator.stacks.alarms import metric
from generator.stacks.sinks.base import (
    RAW_PREFIX,
    Arrivals,
    IngestionView,
    MonitoringView,
    SinkType,
    StorageView,
    Widget,
)

# raw/YYYY/MM/DD/HH/ in UTC, the layout the Kinesis sink function writes and enrichment lists.
DELIVERY_PREFIX = f"{RAW_PREFIX}!{{timestamp:yyyy/MM/dd/HH}}/"
ERROR_PREFIX = "delivery-errors/"
ERROR_OUTPUT_PREFIX = f"{ERROR_PREFIX}!{{firehose:error-output-type}}/!{{timestamp:yyyy/MM/dd/HH}}/"
LOG_STREAM = "S3Delivery"
THROTTLE_PERIOD_S = 300
FRESHNESS_PERIOD_S = 300
FRESHNESS_PERIODS = 3
FRESHNESS_SLACK_S = 300
"""Delivery is late when the oldest undelivered record is older than two buffer intervals and this."""


class Firehose(SinkType[FirehoseSink]):
    model = FirehoseSink
    landing = "a Firehose delivery stream that writes them to the data bucket"
    resource_types = frozenset(
        {"AWS::KinesisFirehose::DeliveryStream", "AWS::Logs::LogGroup", "AWS::Logs::LogStream", "AWS::IAM::Role"}
    )
    sample: ClassVar[dict[str, Any]] = {"type": "firehose"}

    def add_storage(self, stack: StorageView) -> None:
        """The delivery stream, the role it writes to the data bucket with, and where it logs failures."""
        sink = self.settings(stack.pipeline)
        pipeline = stack.pipeline
        log_group = common.log_group(
            stack.template,
            "DeliveryLogGroup",
            common.per_stack(f"/pipectl/{pipeline.name}/{pipeline.env}/delivery"),
            pipeline.spec.monitoring.log_retention_days,
            stack.key_arn,
            stack.retain,
        )
        log_stream = stack.template.add_resource(
            LogStream("DeliveryLogStream", LogGroupName=Ref(log_group), LogStreamName=LOG_STREAM)
        )
        role = _delivery_role(stack, log_group)
        delivery = stack.template.add_resource(
            DeliveryStream(
                "EventDeliveryStream",
                DeliveryStreamType="DirectPut",
                DeliveryStreamEncryptionConfigurationInput=DeliveryStreamEncryptionConfigurationInput(
                    KeyType="CUSTOMER_MANAGED_CMK", KeyARN=stack.key_arn
                ),
                ExtendedS3DestinationConfiguration=ExtendedS3DestinationConfiguration(
                    BucketARN=stack.data_bucket_arn,
                    RoleARN=GetAtt(role, "Arn"),
                    Prefix=DELIVERY_PREFIX,
                    ErrorOutputPrefix=ERROR_OUTPUT_PREFIX,
                    CompressionFormat="GZIP",
                    BufferingHints=BufferingHints(SizeInMBs=sink.buffer_mb, IntervalInSeconds=sink.interval_s),
                    EncryptionConfiguration=EncryptionConfiguration(
                        KMSEncryptionConfig=KMSEncryptionConfig(AWSKMSKeyARN=stack.key_arn)
                    ),
                    CloudWatchLoggingOptions=CloudWatchLoggingOptions(
                        Enabled=True, LogGroupName=Ref(log_group), LogStreamName=Ref(log_stream)
                    ),
                ),
            )
        )
        stack.output("DeliveryStreamName", Ref(delivery), "Firehose delivery stream the collectors write to")
        stack.output("DeliveryStreamArn", GetAtt(delivery, "Arn"), "ARN of the Firehose delivery stream")

    def collector_environment(self, stack: IngestionView) -> dict[str, Any]:
        return {"DELIVERY_STREAM_NAME": stack.storage_output("DeliveryStreamName")}

    def collector_policy(self, stack: IngestionView) -> Policy:
        """Collectors may only put records to the pipeline's delivery stream; Firehose encrypts them itself."""
        return document(
            Statement(
                Sid="PutEvents",
                Effect=Allow,
                Action=[firehose.PutRecord, firehose.PutRecordBatch],
                Resource=[stack.storage_output("DeliveryStreamArn")],
            )
        )

    def dashboard_names(self, stack: MonitoringView) -> dict[str, Any]:
        return {"DeliveryStream": _delivery_stream(stack)}

    def widgets(self, pipeline: Pipeline) -> list[Widget]:
        stream = "${DeliveryStream}"
        return [
            Widget(
                0,
                12,
                "Events into the delivery stream",
                [
                    ["AWS/Firehose", "IncomingRecords", "DeliveryStreamName", stream, {"label": "records"}],
                    [
                        "AWS/Firehose",
                        "ThrottledRecords",
                        "DeliveryStreamName",
                        stream,
                        {"label": "throttled records", "yAxis": "right"},
                    ],
                ],
            ),
            Widget(
                12,
                12,
                "Oldest record not yet delivered to S3 (seconds)",
                [["AWS/Firehose", "DeliveryToS3.DataFreshness", "DeliveryStreamName", stream, {"label": "age"}]],
                stat="Maximum",
                annotations=[{"label": "alarm", "value": _late_after_s(self.settings(pipeline))}],
            ),
        ]

    def arrivals(self, stack: MonitoringView) -> Arrivals:
        counted = metric("AWS/Firehose", "IncomingRecords", DeliveryStreamName=_delivery_stream(stack))
        return Arrivals("the Firehose delivery stream", counted)

    def add_alarms(self, stack: MonitoringView) -> None:
        """Collectors are throttled, or delivery to S3 falls behind."""
        stream = _delivery_stream(stack)
        stack.alarms.add(
            "DeliveryThrottledAlarm",
            "delivery-throttled",
            "Firehose throttled records the collectors put to the delivery stream: the stream is at its "
            "throughput quota. Collectors hold events back and retry, so events are delayed; request a higher "
            "quota for the delivery stream before collectors run out of buffer.",
            **metric("AWS/Firehose", "ThrottledRecords", DeliveryStreamName=stream),
            Statistic="Sum",
            Period=THROTTLE_PERIOD_S,
            EvaluationPeriods=1,
            ComparisonOperator="GreaterThanThreshold",
            Threshold=0,
            TreatMissingData="notBreaching",
        )
        late_after = _late_after_s(self.settings(stack.pipeline))
        stack.alarms.add(
            "DeliveryFreshnessAlarm",
            "delivery-late",
            f"The oldest record in the delivery stream has waited more than {late_after} seconds to reach S3: "
            f"delivery is failing or falling behind, and enrichment misses those events. Read the "
            f"delivery stream's error log ({LOG_STREAM}) and the objects under {ERROR_PREFIX} in the data bucket.",
            **metric("AWS/Firehose", "DeliveryToS3.DataFreshness", DeliveryStreamName=stream),
            Statistic="Maximum",
            Period=FRESHNESS_PERIOD_S,
            EvaluationPeriods=FRESHNESS_PERIODS,
            ComparisonOperator="GreaterThanThreshold",
            Threshold=late_after,
            TreatMissingData="notBreaching",
        )


def _late_after_s(sink: FirehoseSink) -> int:
    return 2 * sink.interval_s + FRESHNESS_SLACK_S


def _delivery_stream(stack: MonitoringView) -> Any:
    return stack.imported("storage", "DeliveryStreamName")


def _delivery_role(stack: StorageView, log_group: LogGroup) -> Role:
    """Firehose, for this account only, writes raw/ and its error prefix, and logs delivery failures."""
    bucket_arn = stack.data_bucket_arn
    grants = document(
        Statement(
            Sid="FindDataBucket",
            Effect=Allow,
            Action=[s3.GetBucketLocation, s3.ListBucket, s3.ListBucketMultipartUploads],
            Resource=[bucket_arn],
        ),
        Statement(
            Sid="WriteRawObjects",
            Effect=Allow,
            Action=[s3.AbortMultipartUpload, s3.GetObject, s3.PutObject],
            Resource=[objects(bucket_arn, RAW_PREFIX), objects(bucket_arn, ERROR_PREFIX)],
        ),
        Statement(
            Sid="EncryptObjectsThroughS3",
            Effect=Allow,
            Action=[kms.Decrypt, kms.GenerateDataKey],
            Resource=[stack.key_arn],
            Condition=Condition(StringEquals("kms:ViaService", Sub("s3.${AWS::Region}.amazonaws.com"))),
        ),
        Statement(
            Sid="LogDeliveryErrors",
            Effect=Allow,
            Action=[logs.PutLogEvents],
            Resource=[GetAtt(log_group, "Arn")],
        ),
    )
    return stack.template.add_resource(
        Role(
            "DeliveryRole",
            Description=f"pipectl {stack.pipeline.name}/{stack.pipeline.env}: Firehose delivers events to raw/",
            AssumeRolePolicyDocument=service_trust("firehose.amazonaws.com"),
            Policies=[RolePolicy(PolicyName="deliver-to-s3", PolicyDocument=grants)],
        )
    )


SINK = Firehose()
