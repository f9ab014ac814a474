"""The recorder: a function that writes stack-status and delivery events into the state table."""

from __future__ import annotations

from typing import Any

from troposphere import GetAtt, Ref
from troposphere.awslambda import DeadLetterConfig, Environment, Function, Permission, TracingConfig
from troposphere.events import RetryPolicy, Rule, Target
from troposphere.iam import Policy as InlinePolicy
from troposphere.iam import Role
from troposphere.sqs import Queue

from generator.policy import console as policy
from generator.stacks import assets, common
from generator.stacks.console.names import RECORDER_CONCURRENCY, RECORDER_NAME, RECORDER_SOURCE
from generator.stacks.console.state import ControlPlane


def add_recorder(plane: ControlPlane) -> tuple[Function, Queue]:
    """A function that writes stack-status and delivery events into the table, and the rule that feeds it."""
    template, console, key, table = plane.template, plane.console, plane.key, plane.table
    dead_letters = template.add_resource(
        common.keep(
            Queue(
                "RecorderDeadLetterQueue",
                QueueName=f"{RECORDER_NAME}-dlq",
                KmsMasterKeyId=GetAtt(key, "Arn"),
                KmsDataKeyReusePeriodSeconds=300,
                MessageRetentionPeriod=1209600,
            ),
            True,
        )
    )
    group = common.log_group(
        template,
        "RecorderLogGroup",
        f"/aws/lambda/{RECORDER_NAME}",
        console.log_retention_days,
        GetAtt(key, "Arn"),
        True,
    )
    role = template.add_resource(
        Role(
            "RecorderRole",
            Description="The recorder writes stack and delivery events into the state table",
            AssumeRolePolicyDocument=policy.lambda_trust(),
            Policies=[
                InlinePolicy(
                    PolicyName="record-events",
                    PolicyDocument=policy.recorder(
                        GetAtt(table, "Arn"), GetAtt(key, "Arn"), GetAtt(dead_letters, "Arn"), GetAtt(group, "Arn")
                    ),
                )
            ],
        )
    )
    function = template.add_resource(
        Function(
            "RecorderFunction",
            FunctionName=RECORDER_NAME,
            Description="Records CloudFormation stack-status and CodePipeline execution and approval events",
            Runtime="python3.12",
            Architectures=["arm64"],
            Handler="index.handler",
            Code=assets.function_code(template, RECORDER_SOURCE),
            MemorySize=256,
            Timeout=30,
            Role=GetAtt(role, "Arn"),
            Environment=Environment(Variables={"TABLE_NAME": Ref(table)}),
            LoggingConfig=common.json_logging(group),
            TracingConfig=TracingConfig(Mode="Active"),
            ReservedConcurrentExecutions=RECORDER_CONCURRENCY,
            DeadLetterConfig=DeadLetterConfig(TargetArn=GetAtt(dead_letters, "Arn")),
        )
    )
    rule = template.add_resource(
        Rule(
            "RecorderRule",
            Name=RECORDER_NAME,
            Description="pipectl stack-status changes, delivery pipeline executions and approvals, to the recorder",
            State="ENABLED",
            EventPattern=recorded_events(),
            Targets=[
                Target(
                    Id="Recorder",
                    Arn=GetAtt(function, "Arn"),
                    RetryPolicy=RetryPolicy(MaximumRetryAttempts=8, MaximumEventAgeInSeconds=3600),
                )
            ],
        )
    )
    template.add_resource(
        Permission(
            "RecorderPermission",
            Action="lambda:InvokeFunction",
            FunctionName=GetAtt(function, "Arn"),
            Principal="events.amazonaws.com",
            SourceArn=GetAtt(rule, "Arn"),
            SourceAccount=Ref("AWS::AccountId"),
        )
    )
    return function, dead_letters


def recorded_events() -> dict[str, Any]:
    """Status changes of stacks named pipectl-*, and executions and approval actions of pipectl's delivery
    pipelines (the recorder keeps the manual approvals among the actions)."""
    return {
        "source": ["aws.cloudformation", "aws.codepipeline"],
        "detail-type": [
            "CloudFormation Stack Status Change",
            "CodePipeline Pipeline Execution State Change",
            "CodePipeline Action Execution State Change",
        ],
        "resources": [
            {"prefix": common.arn("cloudformation", "stack/pipectl-")},
            {"prefix": common.arn("codepipeline", "pipectl")},
        ],
    }
