"""What starts a run and who hears about it: the push rule (CodeCommit), the nightly schedule, notifications."""

from __future__ import annotations

from typing import Any

from troposphere import GetAtt, Ref, Template
from troposphere.codestarnotifications import NotificationRule
from troposphere.codestarnotifications import Target as NotificationTarget
from troposphere.events import Rule
from troposphere.events import Target as EventTarget
from troposphere.iam import Policy as InlinePolicy
from troposphere.iam import Role

from generator.policy import delivery as policy
from generator.stacks import common, nightly
from generator.stacks.delivery.shared import Delivery
from generator.stacks.delivery.spec import (
    NIGHTLY_ENV,
    NOTIFIED_EVENTS,
    PIPELINE_NAME,
    SCHEDULE_NAME,
    CodeCommitSource,
    DeliverySpec,
)


def add_triggers(delivery: Delivery, source_arn: Any) -> None:
    """The nightly run, the push rule where the source needs one, and failure notifications."""
    template, spec = delivery.template, delivery.spec
    pipeline_arn = common.arn("codepipeline", "${Pipeline}")
    nightly.add_nightly_run(
        template,
        SCHEDULE_NAME,
        spec.schedule,
        f"Starts {PIPELINE_NAME} daily with RUN=nightly: the {NIGHTLY_ENV} environment, smoke-tested",
        pipeline_arn,
        delivery.key,
        delivery.topic,
    )
    if isinstance(spec.source, CodeCommitSource):
        _push_rule(template, spec, source_arn, pipeline_arn)
    _notifications(delivery, pipeline_arn)


def _start_role(template: Template, logical_id: str, service: str, pipeline_arn: Any, source_arn: Any) -> Role:
    return template.add_resource(
        Role(
            logical_id,
            Description=f"{service} starts the pipectl delivery pipeline",
            AssumeRolePolicyDocument=policy.service_trust(service, source_arn),
            Policies=[InlinePolicy(PolicyName="start-delivery", PolicyDocument=policy.start_pipeline(pipeline_arn))],
        )
    )


def _push_rule(template: Template, spec: DeliverySpec, repository_arn: Any, pipeline_arn: Any) -> Rule:
    """CodeCommit sources have no V2 trigger filters: a push to the branch starts the pipeline by rule."""
    role = _start_role(
        template,
        "PushRuleRole",
        "events.amazonaws.com",
        pipeline_arn,
        common.arn("events", f"rule/{PIPELINE_NAME}-push"),
    )
    return template.add_resource(
        Rule(
            "PushRule",
            Name=f"{PIPELINE_NAME}-push",
            Description=f"A push to {spec.branch} starts {PIPELINE_NAME}",
            State="ENABLED",
            EventPattern={
                "source": ["aws.codecommit"],
                "detail-type": ["CodeCommit Repository State Change"],
                "resources": [repository_arn],
                "detail": {
                    "event": ["referenceCreated", "referenceUpdated"],
                    "referenceType": ["branch"],
                    "referenceName": [spec.branch],
                },
            },
            Targets=[EventTarget(Id="DeliveryPipeline", Arn=pipeline_arn, RoleArn=GetAtt(role, "Arn"))],
        )
    )


def _notifications(delivery: Delivery, pipeline_arn: Any) -> NotificationRule:
    """Failed runs and rejected plans, to the approvers' topic."""
    return delivery.template.add_resource(
        NotificationRule(
            "FailureNotifications",
            Name=f"{PIPELINE_NAME}-events",
            DetailType="FULL",
            EventTypeIds=list(NOTIFIED_EVENTS),
            Resource=pipeline_arn,
            Status="ENABLED",
            Targets=[NotificationTarget(TargetType="SNS", TargetAddress=Ref(delivery.topic))],
            DependsOn=["DeliveryTopicPolicy"],
        )
    )
