"""The Kinesis sink: collectors put records to a KMS-encrypted stream; a sink function lands batches in raw/.

Storage holds the stream, processing the sink function and its event source mapping, monitoring the
stream's and the function's alarms and widgets.
"""

from __future__ import annotations

from typing import Any, ClassVar

from awacs import kinesis, kms, s3
from awacs.aws import Allow, Policy, Statement
from troposphere import GetAtt, Ref
from troposphere.awslambda import DestinationConfig, EventSourceMapping, Function, OnFailure
from troposphere.kinesis import Stream, StreamEncryption, StreamModeDetails

from generator.policy.ingestion import key_via
from generator.policy.processing import document, key_for_data, objects, send_to_dead_letters, tracing, write_own_logs
from generator.spec.loader import Pipeline
from generator.spec.sinks import KinesisSink
from generator.stacks import common
from generator.stacks.alarms import FAILURE_PERIOD_S, failed_more_than, metric
from generator.stacks.sinks.base import (
    RAW_PREFIX,
    Arrivals,
    IngestionView,
    MonitoringView,
    ProcessingView,
    SinkType,
    StorageView,
    Widget,
)

# The sink lands a batch when it is full or has waited this long, whichever comes first.
SINK_BATCH_SIZE = 1000
SINK_BATCH_WINDOW_S = 60
SINK_RETRIES = 10
SINK_PARALLELIZATION = 1
"""Concurrent batches per shard (the event source mapping's ParallelizationFactor): one keeps each shard in order."""
ITERATOR_AGE_PERIOD_S = 60
ITERATOR_AGE_PERIODS = 5


class Kinesis(SinkType[KinesisSink]):
    model = KinesisSink
    landing = "a Kinesis stream"
    resource_types = frozenset(
        {"AWS::Kinesis::Stream", "AWS::Lambda::Function", "AWS::Lambda::EventSourceMapping", "AWS::IAM::Role"}
    )
    sample: ClassVar[dict[str, Any]] = {"type": "kinesis", "mode": "provisioned", "shards": 1}

    def add_storage(self, stack: StorageView) -> None:
        """The stream collectors put records to and the sink function reads."""
        sink = self.settings(stack.pipeline)
        stream = Stream(
            "EventStream",
            RetentionPeriodHours=sink.retention_hours,
            StreamEncryption=StreamEncryption(EncryptionType="KMS", KeyId=stack.key_arn),
        )
        if sink.mode == "provisioned":
            stream.StreamModeDetails = StreamModeDetails(StreamMode="PROVISIONED")
            stream.ShardCount = sink.shards or 1
        else:
            stream.StreamModeDetails = StreamModeDetails(StreamMode="ON_DEMAND")
        stack.template.add_resource(common.keep(stream, stack.retain))
        stack.output("StreamName", Ref(stream), "Kinesis stream the collectors write to")
        stack.output("StreamArn", GetAtt(stream, "Arn"), "ARN of the Kinesis stream")

    def collector_environment(self, stack: IngestionView) -> dict[str, Any]:
        return {"STREAM_NAME": stack.storage_output("StreamName")}

    def collector_policy(self, stack: IngestionView) -> Policy:
        """Collectors may only put records to the pipeline's stream."""
        return document(
            Statement(
                Sid="PutEvents",
                Effect=Allow,
                Action=[kinesis.PutRecord, kinesis.PutRecords],
                Resource=[stack.storage_output("StreamArn")],
            ),
            key_via("kinesis", stack.key_arn, [kms.GenerateDataKey]),
        )

    def add_processing(self, stack: ProcessingView) -> None:
        """Kinesis -> raw/: an event source mapping hands batches to the sink function."""
        stream_arn = stack.storage_output("StreamArn")
        queue_arn = GetAtt(stack.dead_letter_queue, "Arn")
        log_group = stack.function_log_group("Sink", "sink")
        grants = _sink_function_policy(GetAtt(log_group, "Arn"), stream_arn, stack.bucket_arn, stack.key_arn, queue_arn)
        function = stack.function(
            "Sink",
            "sink",
            stack.function_role("Sink", grants),
            log_group,
            "Writes each batch of the event stream to raw/ as gzip newline-delimited JSON",
            {"BUCKET": stack.bucket_name, "RAW_PREFIX": RAW_PREFIX},
        )
        _size_concurrency(function, self.settings(stack.pipeline), stack.pipeline.spec.processing.concurrency)
        stack.template.add_resource(
            EventSourceMapping(
                "SinkEventSource",
                FunctionName=Ref(function),
                EventSourceArn=stream_arn,
                StartingPosition="TRIM_HORIZON",
                BatchSize=SINK_BATCH_SIZE,
                MaximumBatchingWindowInSeconds=SINK_BATCH_WINDOW_S,
                BisectBatchOnFunctionError=True,
                MaximumRetryAttempts=SINK_RETRIES,
                ParallelizationFactor=SINK_PARALLELIZATION,
                DestinationConfig=DestinationConfig(OnFailure=OnFailure(Destination=queue_arn)),
            )
        )
        stack.output("SinkFunctionName", Ref(function), "Function landing stream batches in S3")

    def dashboard_names(self, stack: MonitoringView) -> dict[str, Any]:
        return {"Stream": _stream(stack), "SinkFunction": _sink_function(stack)}

    def widgets(self, pipeline: Pipeline) -> list[Widget]:
        iterator_age_ms = pipeline.spec.monitoring.iterator_age_seconds * 1000
        return [
            Widget(
                0,
                12,
                "Events into the stream",
                [
                    ["AWS/Kinesis", "IncomingRecords", "StreamName", "${Stream}", {"label": "records"}],
                    [
                        "AWS/Kinesis",
                        "WriteProvisionedThroughputExceeded",
                        "StreamName",
                        "${Stream}",
                        {"label": "throttled writes", "yAxis": "right"},
                    ],
                ],
            ),
            Widget(
                12,
                12,
                "Stream iterator age (milliseconds)",
                [
                    [
                        "AWS/Kinesis",
                        "GetRecords.IteratorAgeMilliseconds",
                        "StreamName",
                        "${Stream}",
                        {"label": "stream"},
                    ],
                    ["AWS/Lambda", "IteratorAge", "FunctionName", "${SinkFunction}", {"label": "sink function"}],
                ],
                stat="Maximum",
                annotations=[{"label": "alarm", "value": iterator_age_ms}],
            ),
        ]

    def functions(self) -> list[dict[str, str]]:
        return [{"title": "Sink", "var": "SinkFunction"}]

    def arrivals(self, stack: MonitoringView) -> Arrivals:
        return Arrivals("the Kinesis stream", metric("AWS/Kinesis", "IncomingRecords", StreamName=_stream(stack)))

    def add_alarms(self, stack: MonitoringView) -> None:
        """The sink function fails, or falls behind the stream."""
        errors = stack.pipeline.spec.monitoring.function_errors
        stack.alarms.add(
            "SinkErrorsAlarm",
            "sink-errors",
            f"The sink function failed {failed_more_than(errors)} while writing stream batches to S3. Kinesis "
            "retries the batch, so events are delayed, not lost, until retries run out and the batch lands in the "
            "dead-letter queue. Read the function's log group for the error.",
            **metric("AWS/Lambda", "Errors", FunctionName=_sink_function(stack)),
            Statistic="Sum",
            Period=FAILURE_PERIOD_S,
            EvaluationPeriods=1,
            ComparisonOperator="GreaterThanThreshold",
            Threshold=errors,
            TreatMissingData="notBreaching",
        )
        age_s = stack.pipeline.spec.monitoring.iterator_age_seconds
        stack.alarms.add(
            "SinkIteratorAgeAlarm",
            "sink-iterator-age",
            f"The sink function is more than {age_s} seconds behind the Kinesis stream: events reach S3 "
            "late, and are lost once they are older than the stream's retention. Check the sink's errors "
            "and throttles on the dashboard; raise processing.concurrency if it is throttled.",
            **metric("AWS/Lambda", "IteratorAge", FunctionName=_sink_function(stack)),
            Statistic="Maximum",
            Period=ITERATOR_AGE_PERIOD_S,
            EvaluationPeriods=ITERATOR_AGE_PERIODS,
            ComparisonOperator="GreaterThanThreshold",
            Threshold=age_s * 1000,
            TreatMissingData="notBreaching",
        )


def _size_concurrency(function: Function, sink: KinesisSink, reserved: int | None) -> None:
    """Lambda reads each shard with one concurrent invocation (parallelization factor 1), so a reservation
    is sized from the shard count; an on-demand stream changes its shard count by itself, so its sink
    function is left unreserved rather than throttled below what the stream needs."""
    if reserved is None:
        return
    if sink.mode == "provisioned" and sink.shards is not None:
        function.ReservedConcurrentExecutions = sink.shards * SINK_PARALLELIZATION
    else:
        del function.properties["ReservedConcurrentExecutions"]


def _stream(stack: MonitoringView) -> Any:
    return stack.imported("storage", "StreamName")


def _sink_function(stack: MonitoringView) -> Any:
    return stack.imported("processing", "SinkFunctionName")


def _sink_function_policy(log_group_arn: Any, stream_arn: Any, bucket_arn: Any, key_arn: Any, queue_arn: Any) -> Policy:
    """The sink reads the stream (as its event source mapping) and writes raw objects, nothing more."""
    return document(
        write_own_logs(log_group_arn),
        Statement(
            Sid="ReadEventStream",
            Effect=Allow,
            Action=[
                kinesis.DescribeStream,
                kinesis.DescribeStreamSummary,
                kinesis.GetRecords,
                kinesis.GetShardIterator,
                kinesis.ListShards,
            ],
            Resource=[stream_arn],
        ),
        Statement(
            Sid="WriteRawObjects",
            Effect=Allow,
            Action=[s3.PutObject],
            Resource=[objects(bucket_arn, RAW_PREFIX)],
        ),
        key_for_data(key_arn),
        send_to_dead_letters(queue_arn),
        tracing(),
    )


SINK = Kinesis()
