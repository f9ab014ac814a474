"""The processing stack: land stream batches in S3, enrich them on a schedule, keep what fails.

Kinesis pipelines get a sink function fed by an event source mapping; every pipeline gets an enrich
function run by a Step Functions state machine that an EventBridge Scheduler schedule starts. Anything
that fails for good ends up in one dead-letter queue, which the monitoring stack watches.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import awacs.aws
from troposphere import GetAtt, ImportValue, Ref, Sub, Template
from troposphere.awslambda import (
    DeadLetterConfig,
    DestinationConfig,
    Environment,
    EventSourceMapping,
    Function,
    OnFailure,
    TracingConfig,
)
from troposphere.iam import Policy, Role
from troposphere.logs import LogGroup
from troposphere.scheduler import DeadLetterConfig as ScheduleDeadLetterConfig
from troposphere.scheduler import FlexibleTimeWindow, RetryPolicy, Schedule, Target
from troposphere.sqs import Queue
from troposphere.stepfunctions import (
    CloudWatchLogsLogGroup,
    LogDestination,
    LoggingConfiguration,
    StateMachine,
    TracingConfiguration,
)

from generator.policy import processing as policy
from generator.spec.loader import Pipeline
from generator.spec.models import KinesisSink
from generator.stacks import assets, common

KIND = "processing"
RAW_PREFIX = "raw/"
ENRICHED_PREFIX = "enriched/"
RUNTIME = "python3.12"
MAX_FUNCTION_NAME = 64
DEAD_LETTER_RETENTION_S = 14 * 24 * 3600  # the SQS maximum: two weeks to look at a failure
# The sink lands a batch when it is full or has waited this long, whichever comes first.
SINK_BATCH_SIZE = 1000
SINK_BATCH_WINDOW_S = 60
SINK_RETRIES = 10
# Lambda service errors are retried by the state machine with exponential backoff and full jitter.
ENRICH_RETRY = {"interval_seconds": 2, "max_attempts": 6, "backoff_rate": 2.0, "max_delay_seconds": 60}
# A schedule whose target cannot be started is retried for an hour, then dead-lettered.
SCHEDULE_RETRY_ATTEMPTS = 10
SCHEDULE_MAX_EVENT_AGE_S = 3600
MINUTES = {"minute": 1, "hour": 60, "day": 1440}


@dataclass(frozen=True)
class _Storage:
    """What the processing stack uses from the storage stack."""

    key_arn: ImportValue
    bucket_name: ImportValue
    bucket_arn: ImportValue
    stream_arn: ImportValue | None


def build_processing(pipeline: Pipeline) -> Template:
    """Dead-letter queue, sink (Kinesis only), enrich function, state machine and its schedule."""
    template = common.new_template(
        common.describe(pipeline, KIND, "sink and enrich functions, enrichment state machine and schedule")
    )
    stack = common.stack_name(pipeline, KIND)
    storage = _storage(pipeline)
    queue = _dead_letter_queue(template, pipeline, stack, storage)
    if storage.stream_arn is not None:
        _sink(template, pipeline, stack, storage, queue)
    enrich = _enrich(template, pipeline, stack, storage, queue)
    machine = _state_machine(template, pipeline, stack, storage, enrich, queue)
    _schedule(template, pipeline, storage, machine, queue)
    return template


def _storage(pipeline: Pipeline) -> _Storage:
    kinesis = isinstance(pipeline.spec.ingestion.sink, KinesisSink)
    return _Storage(
        key_arn=common.imported(pipeline, "storage", "KeyArn"),
        bucket_name=common.imported(pipeline, "storage", "DataBucketName"),
        bucket_arn=common.imported(pipeline, "storage", "DataBucketArn"),
        stream_arn=common.imported(pipeline, "storage", "StreamArn") if kinesis else None,
    )


def _dead_letter_queue(template: Template, pipeline: Pipeline, stack: str, storage: _Storage) -> Queue:
    """Where failed batches, failed runs and undeliverable schedules go. It is the only record of what
    failed, so it is kept like data; senders are granted by IAM, so it needs no queue policy."""
    queue = Queue(
        "DeadLetterQueue",
        KmsMasterKeyId=storage.key_arn,
        MessageRetentionPeriod=DEAD_LETTER_RETENTION_S,
    )
    template.add_resource(common.keep(queue, pipeline.spec.retain))
    common.add_output(
        template,
        stack,
        "DeadLetterQueueName",
        GetAtt(queue, "QueueName"),
        "Queue holding failed sink batches, failed enrichment runs and undeliverable schedules",
    )
    return queue


def _sink(template: Template, pipeline: Pipeline, stack: str, storage: _Storage, queue: Queue) -> Function:
    """Kinesis -> raw/: an event source mapping hands batches to the sink function."""
    if storage.stream_arn is None:
        raise ValueError(f"{stack}: the sink function reads a Kinesis stream, and this pipeline's sink has none")
    log_group = _function_log_group(template, pipeline, storage, "Sink", "sink")
    role = _function_role(
        template,
        "Sink",
        policy.sink_function_policy(
            GetAtt(log_group, "Arn"),
            storage.stream_arn,
            storage.bucket_arn,
            RAW_PREFIX,
            storage.key_arn,
            GetAtt(queue, "Arn"),
        ),
    )
    function = _function(
        template,
        pipeline,
        "Sink",
        "sink",
        role,
        log_group,
        storage,
        queue,
        "Writes each batch of the event stream to raw/ as gzip newline-delimited JSON",
        {"BUCKET": storage.bucket_name, "RAW_PREFIX": RAW_PREFIX},
    )
    template.add_resource(
        EventSourceMapping(
            "SinkEventSource",
            FunctionName=Ref(function),
            EventSourceArn=storage.stream_arn,
            StartingPosition="TRIM_HORIZON",
            BatchSize=SINK_BATCH_SIZE,
            MaximumBatchingWindowInSeconds=SINK_BATCH_WINDOW_S,
            BisectBatchOnFunctionError=True,
            MaximumRetryAttempts=SINK_RETRIES,
            DestinationConfig=DestinationConfig(OnFailure=OnFailure(Destination=GetAtt(queue, "Arn"))),
        )
    )
    common.add_output(template, stack, "SinkFunctionName", Ref(function), "Function landing stream batches in S3")
    return function


def _enrich(template: Template, pipeline: Pipeline, stack: str, storage: _Storage, queue: Queue) -> Function:
    """raw/ -> enriched/, with the enrichments the pipeline file lists."""
    log_group = _function_log_group(template, pipeline, storage, "Enrich", "enrich")
    role = _function_role(
        template,
        "Enrich",
        policy.enrich_function_policy(
            GetAtt(log_group, "Arn"),
            storage.bucket_arn,
            RAW_PREFIX,
            ENRICHED_PREFIX,
            storage.key_arn,
            GetAtt(queue, "Arn"),
        ),
    )
    function = _function(
        template,
        pipeline,
        "Enrich",
        "enrich",
        role,
        log_group,
        storage,
        queue,
        "Enriches the raw/ objects of one time window into enriched/",
        {
            "BUCKET": storage.bucket_name,
            "RAW_PREFIX": RAW_PREFIX,
            "ENRICHED_PREFIX": ENRICHED_PREFIX,
            "ENRICHMENTS": ",".join(pipeline.spec.processing.enrich),
        },
    )
    common.add_output(template, stack, "EnrichFunctionName", Ref(function), "Function enriching raw events")
    return function


def _function_log_group(
    template: Template, pipeline: Pipeline, storage: _Storage, prefix: str, function: str
) -> LogGroup:
    return common.log_group(
        template,
        f"{prefix}LogGroup",
        common.per_stack(f"/pipectl/{pipeline.name}/{pipeline.env}/{function}"),
        pipeline.spec.monitoring.log_retention_days,
        storage.key_arn,
        pipeline.spec.retain,
    )


def _function_role(template: Template, prefix: str, document: awacs.aws.Policy) -> Role:
    role: Role = template.add_resource(
        Role(
            f"{prefix}Role",
            AssumeRolePolicyDocument=policy.service_trust("lambda.amazonaws.com"),
            Policies=[Policy(PolicyName=f"{prefix.lower()}-function", PolicyDocument=document)],
        )
    )
    return role


def _function(
    template: Template,
    pipeline: Pipeline,
    prefix: str,
    source: str,
    role: Role,
    log_group: LogGroup,
    storage: _Storage,
    queue: Queue,
    description: str,
    variables: dict[str, Any],
) -> Function:
    """A Python function whose code is the asset built from generator/stacks/functions/<source>.py."""
    processing = pipeline.spec.processing
    function = Function(
        f"{prefix}Function",
        Description=description,
        Runtime=RUNTIME,
        Architectures=["arm64"],
        Handler="index.handler",
        Code=assets.function_code(template, source),
        Role=GetAtt(role, "Arn"),
        MemorySize=processing.memory_mb,
        Timeout=processing.timeout_s,
        ReservedConcurrentExecutions=processing.concurrency,
        Environment=Environment(Variables=variables),
        KmsKeyArn=storage.key_arn,
        LoggingConfig=common.json_logging(log_group),
        TracingConfig=TracingConfig(Mode="Active"),
        DeadLetterConfig=DeadLetterConfig(TargetArn=GetAtt(queue, "Arn")),
    )
    name = f"pipectl-{pipeline.name}-{pipeline.env}-{source}"
    if len(name) <= MAX_FUNCTION_NAME:  # else CloudFormation names it after the stack
        function.FunctionName = name
    template.add_resource(function)
    return function


def window_minutes(schedule: str) -> int:
    """How far back each run looks: the schedule's period, so consecutive runs tile time. A cron
    expression has no single period, so the longest period its shape allows is used; overlapping
    windows only rewrite the same enriched objects."""
    rate = re.fullmatch(r"rate\(\s*(\d+)\s+(minute|hour|day)s?\s*\)", schedule)
    if rate:
        return int(rate[1]) * MINUTES[rate[2]]
    fields = schedule[len("cron(") : -1].split()
    hour, day_of_month, day_of_week = fields[1], fields[2], fields[4]
    if hour == "*":
        return MINUTES["hour"]
    if day_of_month in ("*", "?") and day_of_week in ("*", "?"):
        return MINUTES["day"]
    if day_of_month in ("*", "?"):
        return 7 * MINUTES["day"]
    return 31 * MINUTES["day"]


def _state_machine(
    template: Template, pipeline: Pipeline, stack: str, storage: _Storage, enrich: Function, queue: Queue
) -> StateMachine:
    """Runs the enrich function with retries on Lambda service errors; a failure is reported to the
    dead-letter queue before the execution fails."""
    log_group = common.log_group(
        template,
        "StateMachineLogGroup",
        # The /aws/vendedlogs/ prefix keeps Step Functions from growing the account's logs resource policy.
        common.per_stack(f"/aws/vendedlogs/states/pipectl/{pipeline.name}/{pipeline.env}/enrich"),
        pipeline.spec.monitoring.log_retention_days,
        storage.key_arn,
        pipeline.spec.retain,
    )
    role = template.add_resource(
        Role(
            "StateMachineRole",
            AssumeRolePolicyDocument=policy.service_trust("states.amazonaws.com"),
            Policies=[
                Policy(
                    PolicyName="enrich-state-machine",
                    PolicyDocument=policy.state_machine_policy(
                        GetAtt(enrich, "Arn"), GetAtt(queue, "Arn"), storage.key_arn
                    ),
                )
            ],
        )
    )
    machine = template.add_resource(
        StateMachine(
            "StateMachine",
            StateMachineName=f"pipectl-{pipeline.name}-{pipeline.env}-enrich",
            StateMachineType="STANDARD",
            RoleArn=GetAtt(role, "Arn"),
            DefinitionString=Sub(
                definition(pipeline),
                EnrichFunctionArn=GetAtt(enrich, "Arn"),
                DeadLetterQueueUrl=Ref(queue),
            ),
            LoggingConfiguration=_execution_logging(pipeline, log_group),
            TracingConfiguration=TracingConfiguration(Enabled=True),
        )
    )
    common.add_output(template, stack, "StateMachineArn", Ref(machine), "State machine running the enrichment")
    common.add_output(
        template, stack, "StateMachineName", GetAtt(machine, "Name"), "Name of the enrichment state machine"
    )
    return machine


def _execution_logging(pipeline: Pipeline, log_group: LogGroup) -> LoggingConfiguration:
    """Every execution event by default (`monitoring.execution_log_level`); state inputs and outputs
    only when `monitoring.execution_data` asks, since they carry the events themselves."""
    monitoring = pipeline.spec.monitoring
    return LoggingConfiguration(
        Level=monitoring.execution_log_level,
        IncludeExecutionData=monitoring.execution_data,
        Destinations=[
            LogDestination(CloudWatchLogsLogGroup=CloudWatchLogsLogGroup(LogGroupArn=GetAtt(log_group, "Arn")))
        ],
    )


def definition(pipeline: Pipeline) -> str:
    """The ASL document, rendered from templates/ and parsed once so a broken template fails at synth."""
    processing = pipeline.spec.processing
    body = common.render_json(
        "processing.asl.json.j2",
        comment=f"pipectl {pipeline.name}/{pipeline.env}: enrich raw events every {processing.schedule}",
        source=common.stack_name(pipeline, KIND),
        window_minutes=window_minutes(processing.schedule),
        timeout_seconds=processing.timeout_s + 60,
        retry=ENRICH_RETRY,
    )
    return json.dumps(body, indent=2)


def _schedule(
    template: Template, pipeline: Pipeline, storage: _Storage, machine: StateMachine, queue: Queue
) -> Schedule:
    """Starts the state machine on the pipeline's schedule, passing the scheduled time as window end."""
    role = template.add_resource(
        Role(
            "ScheduleRole",
            AssumeRolePolicyDocument=policy.service_trust("scheduler.amazonaws.com"),
            Policies=[
                Policy(
                    PolicyName="start-enrichment",
                    PolicyDocument=policy.schedule_policy(Ref(machine), GetAtt(queue, "Arn"), storage.key_arn),
                )
            ],
        )
    )
    schedule: Schedule = template.add_resource(
        Schedule(
            "Schedule",
            Description=f"pipectl {pipeline.name}/{pipeline.env}: start the enrichment",
            ScheduleExpression=pipeline.spec.processing.schedule,
            ScheduleExpressionTimezone="UTC",
            FlexibleTimeWindow=FlexibleTimeWindow(Mode="OFF"),
            State="ENABLED",
            KmsKeyArn=storage.key_arn,
            Target=Target(
                Arn=Ref(machine),
                RoleArn=GetAtt(role, "Arn"),
                Input=json.dumps({"window_end": "<aws.scheduler.scheduled-time>"}),
                DeadLetterConfig=ScheduleDeadLetterConfig(Arn=GetAtt(queue, "Arn")),
                RetryPolicy=RetryPolicy(
                    MaximumEventAgeInSeconds=SCHEDULE_MAX_EVENT_AGE_S,
                    MaximumRetryAttempts=SCHEDULE_RETRY_ATTEMPTS,
                ),
            ),
        )
    )
    return schedule
