"""The nightly run: an EventBridge Scheduler schedule that starts the delivery pipeline with RUN=nightly.

A start that fails after its retries is parked in a dead-letter queue, and an alarm on that queue
(and on starts that could not even be parked) pages the approvers, so a night without a run is noticed.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from troposphere import GetAtt, Ref, Sub, Template
from troposphere.cloudwatch import Alarm, MetricDimension
from troposphere.iam import Policy as InlinePolicy
from troposphere.iam import Role
from troposphere.kms import Key
from troposphere.scheduler import DeadLetterConfig, FlexibleTimeWindow, Schedule
from troposphere.scheduler import RetryPolicy as ScheduleRetryPolicy
from troposphere.scheduler import Target as ScheduleTarget
from troposphere.sns import Topic
from troposphere.sqs import Queue

from generator.policy import delivery as delivery_policy
from generator.policy import nightly as policy
from generator.stacks import common

START_OPERATION = ("codepipeline", "StartPipelineExecution")
PARKED_RETENTION_S = 14 * 24 * 3600  # SQS's maximum: two weeks to look at a night that did not run
RETRIES = 3
MAX_EVENT_AGE_S = 3600


class StartInputError(RuntimeError):
    """botocore's CodePipeline model no longer has the members the schedule's input is built from."""


@cache
def _start_members() -> tuple[str, str, str, str]:
    """The request member names of StartPipelineExecution, read from botocore's service model.

    Scheduler's universal target passes Input to the API as the request itself, in the API's own
    member names (CodePipeline's are camelCase); a wrong name is ignored and the run starts without
    RUN=nightly, so the names come from the model instead of being typed.
    """
    import botocore.loaders
    import botocore.model

    service, operation = START_OPERATION
    model = botocore.model.ServiceModel(botocore.loaders.create_loader().load_service_model(service, "service-2"))
    shape = model.operation_model(operation).input_shape
    members = {name.lower(): name for name in shape.members}
    if "name" not in members or "variables" not in members:
        raise StartInputError(f"{service}:{operation} has no name/variables members: {sorted(shape.members)}")
    variable = shape.members[members["variables"]].member
    fields = {name.lower(): name for name in variable.members}
    if "name" not in fields or "value" not in fields:
        raise StartInputError(f"{service}:{operation} variables have no name/value: {sorted(variable.members)}")
    return members["name"], members["variables"], fields["name"], fields["value"]


def start_input(pipeline_name: str, variables: dict[str, str]) -> dict[str, Any]:
    """The StartPipelineExecution request the schedule sends, e.g. {"name": …, "variables": [{"name", "value"}]}."""
    name, variables_member, variable_name, variable_value = _start_members()
    return {
        name: pipeline_name,
        variables_member: [{variable_name: k, variable_value: v} for k, v in variables.items()],
    }


def add_nightly_run(
    template: Template,
    name: str,
    expression: str,
    description: str,
    pipeline_arn: Any,
    key: Key,
    topic: Topic,
) -> Schedule:
    """The schedule, its role, its dead-letter queue and the alarms that notice a night without a run."""
    queue = template.add_resource(
        common.keep(
            Queue(
                "NightlyDeadLetterQueue",
                KmsMasterKeyId=GetAtt(key, "Arn"),
                MessageRetentionPeriod=PARKED_RETENTION_S,
            ),
            True,
        )
    )
    role = template.add_resource(
        Role(
            "ScheduleRole",
            Description="EventBridge Scheduler starts the pipectl delivery pipeline nightly",
            AssumeRolePolicyDocument=delivery_policy.service_trust(
                "scheduler.amazonaws.com", common.arn("scheduler", f"schedule/default/{name}")
            ),
            Policies=[
                InlinePolicy(
                    PolicyName="start-delivery",
                    PolicyDocument=policy.schedule_role(pipeline_arn, GetAtt(queue, "Arn"), GetAtt(key, "Arn")),
                )
            ],
        )
    )
    schedule = template.add_resource(
        Schedule(
            "NightlySchedule",
            Name=name,
            Description=description,
            ScheduleExpression=expression,
            ScheduleExpressionTimezone="UTC",
            FlexibleTimeWindow=FlexibleTimeWindow(Mode="OFF"),
            State="ENABLED",
            Target=ScheduleTarget(
                Arn=Sub("arn:${AWS::Partition}:scheduler:::aws-sdk:codepipeline:startPipelineExecution"),
                RoleArn=GetAtt(role, "Arn"),
                Input=Sub(json.dumps(start_input("${Pipeline}", {"RUN": "nightly"}), separators=(",", ":"))),
                RetryPolicy=ScheduleRetryPolicy(MaximumRetryAttempts=RETRIES, MaximumEventAgeInSeconds=MAX_EVENT_AGE_S),
                DeadLetterConfig=DeadLetterConfig(Arn=GetAtt(queue, "Arn")),
            ),
        )
    )
    _alarms(template, name, queue, topic)
    return schedule


def _alarms(template: Template, name: str, queue: Queue, topic: Topic) -> None:
    _alarm(
        template,
        topic,
        "NightlyRunNotStartedAlarm",
        f"{name}-not-started",
        f"The nightly delivery run could not be started after {RETRIES} retries; the failed start is in the "
        "dead-letter queue (its message says why). Start the pipeline by hand, then purge the queue.",
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum"),
        MetricDimension(Name="QueueName", Value=GetAtt(queue, "QueueName")),
    )
    _alarm(
        template,
        topic,
        "NightlyRunLostAlarm",
        f"{name}-lost",
        "EventBridge Scheduler could neither start the nightly delivery run nor park the failed start in its "
        "dead-letter queue (check the schedule role's access to the queue and its key).",
        ("AWS/Scheduler", "InvocationsFailedToBeSentToDeadLetterCount", "Sum"),
        MetricDimension(Name="ScheduleGroup", Value="default"),
    )


def _alarm(
    template: Template,
    topic: Topic,
    logical_id: str,
    name: str,
    description: str,
    metric: tuple[str, str, str],
    dimension: MetricDimension,
) -> None:
    """One occurrence in five minutes pages the approvers; no data is no trouble."""
    namespace, metric_name, statistic = metric
    template.add_resource(
        Alarm(
            logical_id,
            AlarmName=name,
            AlarmDescription=description,
            Namespace=namespace,
            MetricName=metric_name,
            Dimensions=[dimension],
            Statistic=statistic,
            Period=300,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
            TreatMissingData="notBreaching",
            AlarmActions=[Ref(topic)],
        )
    )
