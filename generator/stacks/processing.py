"""The processing stack: enrich raw events on a schedule, and keep what fails.

Every pipeline gets an enrich function run by a Step Functions state machine that an EventBridge
Scheduler schedule starts; the pipeline's sink module adds what moves its events into raw/ (for Kinesis,
a sink function fed by an event source mapping). Anything that fails for good ends up in one
dead-letter queue, which the monitoring stack watches.
"""

from __future__ import annotations

import json
import re
from functools import cached_property
from typing import Any

import awacs.aws
from troposphere import GetAtt, ImportValue, Ref, Sub, Template
from troposphere.awslambda import (
    DeadLetterConfig,
    Environment,
    Function,
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
from generator.stacks import assets, common
from generator.stacks.accepted import NO_VPC, UNRESERVED, accept
from generator.stacks.sinks import sink_of
from generator.stacks.sinks.base import RAW_PREFIX

KIND = "processing"
ENRICHED_PREFIX = "enriched/"
RUNTIME = "python3.12"
MAX_FUNCTION_NAME = 64
DEAD_LETTER_RETENTION_S = 14 * 24 * 3600  # the SQS maximum: two weeks to look at a failure
# Lambda service errors are retried by the state machine with exponential backoff and full jitter.
ENRICH_RETRY = {"interval_seconds": 2, "max_attempts": 6, "backoff_rate": 2.0, "max_delay_seconds": 60}
# A schedule whose target cannot be started is retried for an hour, then dead-lettered.
SCHEDULE_RETRY_ATTEMPTS = 10
SCHEDULE_MAX_EVENT_AGE_S = 3600
MINUTES = {"minute": 1, "hour": 60, "day": 1440}


def build_processing(pipeline: Pipeline) -> Template:
    """Dead-letter queue, the sink's processing, enrich function, state machine and its schedule."""
    return ProcessingStack(pipeline).build()


class ProcessingStack:
    """The processing stack's resources, each built once on first use; the sink module adds its own
    functions with `function`."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.name = common.stack_name(pipeline, KIND)
        self.template = common.new_template(
            common.describe(pipeline, KIND, "sink and enrich functions, enrichment state machine and schedule")
        )

    def build(self) -> Template:
        """The table of contents: a resource adds itself to the template when first named."""
        _ = self.dead_letter_queue
        sink_of(self.pipeline).add_processing(self)
        _ = self.schedule  # names the state machine, which names the enrich function
        for resource in self.template.resources.values():  # the sink may have dropped a reservation
            if isinstance(resource, Function) and "ReservedConcurrentExecutions" not in resource.properties:
                accept(resource, UNRESERVED)
        return self.template

    def output(self, name: str, value: Any, description: str) -> None:
        common.add_output(self.template, self.name, name, value, description)

    def storage_output(self, name: str) -> ImportValue:
        """A value the storage stack exports (see common.py's export contract)."""
        return common.imported(self.pipeline, "storage", name)

    @cached_property
    def key_arn(self) -> ImportValue:
        return self.storage_output("KeyArn")

    @cached_property
    def bucket_name(self) -> ImportValue:
        return self.storage_output("DataBucketName")

    @cached_property
    def bucket_arn(self) -> ImportValue:
        return self.storage_output("DataBucketArn")

    @cached_property
    def dead_letter_queue(self) -> Queue:
        """Where failed batches, failed runs and undeliverable schedules go. It is the only record of what
        failed, so it is kept like data; senders are granted by IAM, so it needs no queue policy."""
        queue = Queue("DeadLetterQueue", KmsMasterKeyId=self.key_arn, MessageRetentionPeriod=DEAD_LETTER_RETENTION_S)
        self.template.add_resource(common.keep(queue, self.pipeline.spec.retain))
        self.output(
            "DeadLetterQueueName",
            GetAtt(queue, "QueueName"),
            "Queue holding failed sink batches, failed enrichment runs and undeliverable schedules",
        )
        return queue

    @cached_property
    def enrich_function(self) -> Function:
        """raw/ -> enriched/, with the enrichments the pipeline file lists."""
        log_group = self.function_log_group("Enrich", "enrich")
        document = policy.enrich_function_policy(
            GetAtt(log_group, "Arn"),
            self.bucket_arn,
            RAW_PREFIX,
            ENRICHED_PREFIX,
            self.key_arn,
            GetAtt(self.dead_letter_queue, "Arn"),
        )
        function = self.function(
            "Enrich",
            "enrich",
            self.function_role("Enrich", document),
            log_group,
            "Enriches the raw/ objects of one time window into enriched/",
            {
                "BUCKET": self.bucket_name,
                "RAW_PREFIX": RAW_PREFIX,
                "ENRICHED_PREFIX": ENRICHED_PREFIX,
                "ENRICHMENTS": ",".join(self.pipeline.spec.processing.enrich),
            },
        )
        self.output("EnrichFunctionName", Ref(function), "Function enriching raw events")
        return function

    @cached_property
    def state_machine(self) -> StateMachine:
        return _state_machine(self)

    @cached_property
    def schedule(self) -> Schedule:
        return _schedule(self)

    def function_log_group(self, prefix: str, function: str) -> LogGroup:
        pipeline = self.pipeline
        return common.log_group(
            self.template,
            f"{prefix}LogGroup",
            common.per_stack(f"/pipectl/{pipeline.name}/{pipeline.env}/{function}"),
            pipeline.spec.monitoring.log_retention_days,
            self.key_arn,
            pipeline.spec.retain,
        )

    def function_role(self, prefix: str, document: awacs.aws.Policy) -> Role:
        role: Role = self.template.add_resource(
            Role(
                f"{prefix}Role",
                AssumeRolePolicyDocument=policy.service_trust("lambda.amazonaws.com"),
                Policies=[Policy(PolicyName=f"{prefix.lower()}-function", PolicyDocument=document)],
            )
        )
        return role

    def function(
        self, prefix: str, source: str, role: Role, log_group: LogGroup, description: str, variables: dict[str, Any]
    ) -> Function:
        """A Python function whose code is the asset built from generator/stacks/functions/<source>.py."""
        pipeline = self.pipeline
        processing = pipeline.spec.processing
        function = Function(
            f"{prefix}Function",
            Description=description,
            Runtime=RUNTIME,
            Architectures=["arm64"],
            Handler="index.handler",
            Code=assets.function_code(self.template, source),
            Role=GetAtt(role, "Arn"),
            MemorySize=processing.memory_mb,
            Timeout=processing.timeout_s,
            Environment=Environment(Variables=variables),
            KmsKeyArn=self.key_arn,
            LoggingConfig=common.json_logging(log_group),
            TracingConfig=TracingConfig(Mode="Active"),
            DeadLetterConfig=DeadLetterConfig(TargetArn=GetAtt(self.dead_letter_queue, "Arn")),
        )
        if processing.concurrency is not None:  # unset: the function draws on the account's unreserved pool
            function.ReservedConcurrentExecutions = processing.concurrency
        name = f"pipectl-{pipeline.name}-{pipeline.env}-{source}"
        if len(name) <= MAX_FUNCTION_NAME:  # else CloudFormation names it after the stack
            function.FunctionName = name
        self.template.add_resource(accept(function, NO_VPC))
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


def _state_machine(stack: ProcessingStack) -> StateMachine:
    """Runs the enrich function with retries on Lambda service errors; a failure is reported to the
    dead-letter queue before the execution fails."""
    template, pipeline, queue, enrich = stack.template, stack.pipeline, stack.dead_letter_queue, stack.enrich_function
    log_group = common.log_group(
        template,
        "StateMachineLogGroup",
        # The /aws/vendedlogs/ prefix keeps Step Functions from growing the account's logs resource policy.
        common.per_stack(f"/aws/vendedlogs/states/pipectl/{pipeline.name}/{pipeline.env}/enrich"),
        pipeline.spec.monitoring.log_retention_days,
        stack.key_arn,
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
                        GetAtt(enrich, "Arn"), GetAtt(queue, "Arn"), stack.key_arn
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
    stack.output("StateMachineArn", Ref(machine), "State machine running the enrichment")
    stack.output("StateMachineName", GetAtt(machine, "Name"), "Name of the enrichment state machine")
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


def _schedule(stack: ProcessingStack) -> Schedule:
    """Starts the state machine on the pipeline's schedule, passing the scheduled time as window end."""
    template, pipeline, queue, machine = stack.template, stack.pipeline, stack.dead_letter_queue, stack.state_machine
    role = template.add_resource(
        Role(
            "ScheduleRole",
            AssumeRolePolicyDocument=policy.service_trust("scheduler.amazonaws.com"),
            Policies=[
                Policy(
                    PolicyName="start-enrichment",
                    PolicyDocument=policy.schedule_policy(Ref(machine), GetAtt(queue, "Arn"), stack.key_arn),
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
            KmsKeyArn=stack.key_arn,
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
