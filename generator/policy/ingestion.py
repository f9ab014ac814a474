"""IAM for the ingestion stack, built with awacs: collector roles, EC2 instances, VPC flow logs.

What a collector may do with its sink is its sink module's (`generator/stacks/sinks/`), using `key_via`.

Each function returns one document for one role, so a reviewer reads a role's whole power in one place.
"""

from __future__ import annotations

from typing import Any

from awacs import ecr, ecs, kms, logs
from awacs.aws import (
    Allow,
    ArnLike,
    Condition,
    Policy,
    PolicyDocument,
    Principal,
    Statement,
    StringEquals,
)
from awacs.sts import AssumeRole
from troposphere import AccountId, Sub


def _trust(service: str, source_arn: Any | None = None) -> Policy:
    """Only `service` may assume the role; with `source_arn`, only on behalf of this account's resources."""
    statement = Statement(Effect=Allow, Principal=Principal("Service", service), Action=[AssumeRole])
    if source_arn is not None:
        statement.Condition = Condition(
            [StringEquals("aws:SourceAccount", AccountId), ArnLike("aws:SourceArn", source_arn)]
        )
    return PolicyDocument(Version="2012-10-17", Statement=[statement])


def task_trust() -> Policy:
    """ECS tasks of this account and region assume the collector's task role."""
    return _trust("ecs-tasks.amazonaws.com", Sub("arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:*"))


def execution_trust() -> Policy:
    return _trust("ecs-tasks.amazonaws.com")


def instance_trust() -> Policy:
    return _trust("ec2.amazonaws.com")


def flow_log_trust() -> Policy:
    """VPC Flow Logs assume the delivery role, only for flow logs of this account and region."""
    return _trust(
        "vpc-flow-logs.amazonaws.com",
        Sub("arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:vpc-flow-log/*"),
    )


def execution_policy(log_group_arn: Any, repository_arn: Any | None) -> Policy:
    """What ECS needs to start a collector: write its logs and, for a private ECR image, pull it."""
    statements = [
        Statement(
            Sid="WriteCollectorLogs",
            Effect=Allow,
            Action=[logs.CreateLogStream, logs.PutLogEvents],
            Resource=[log_group_arn],
        )
    ]
    if repository_arn is not None:
        statements += [
            Statement(
                Sid="PullCollectorImage",
                Effect=Allow,
                Action=[ecr.BatchCheckLayerAvailability, ecr.BatchGetImage, ecr.GetDownloadUrlForLayer],
                Resource=[repository_arn],
            ),
            Statement(
                Sid="GetRegistryToken",
                Effect=Allow,
                Action=[ecr.GetAuthorizationToken],
                # ecr:GetAuthorizationToken has no resource-level permissions: AWS accepts only "*".
                Resource=["*"],
            ),
        ]
    return PolicyDocument(Version="2012-10-17", Statement=statements)


def key_via(service: str, key_arn: Any, actions: list[kms.Action]) -> Statement:
    """Use the pipeline key only through `service`, never directly."""
    return Statement(
        Sid="UseKeyThroughSink",
        Effect=Allow,
        Action=actions,
        Resource=[key_arn],
        Condition=Condition(StringEquals("kms:ViaService", Sub(f"{service}.${{AWS::Region}}.amazonaws.com"))),
    )


def instance_policy(cluster_arn: Any, container_instances_arn: Any) -> Policy:
    """What the ECS agent on a container instance needs, scoped to the collectors' cluster."""
    return PolicyDocument(
        Version="2012-10-17",
        Statement=[
            Statement(
                Sid="JoinCollectorCluster",
                Effect=Allow,
                Action=[
                    ecs.DeregisterContainerInstance,
                    ecs.RegisterContainerInstance,
                    ecs.SubmitAttachmentStateChanges,
                    ecs.SubmitContainerStateChange,
                    ecs.SubmitTaskStateChange,
                ],
                Resource=[cluster_arn],
            ),
            Statement(
                Sid="RunAsContainerInstance",
                Effect=Allow,
                Action=[ecs.Poll, ecs.StartTelemetrySession, ecs.UpdateContainerInstancesState],
                Resource=[container_instances_arn],
            ),
            Statement(
                Sid="DiscoverEcsEndpoint",
                Effect=Allow,
                Action=[ecs.DiscoverPollEndpoint],
                # ecs:DiscoverPollEndpoint has no resource-level permissions: AWS accepts only "*".
                Resource=["*"],
            ),
        ],
    )


def flow_log_policy(log_group_arn: Any) -> Policy:
    """VPC Flow Logs may write to the flow log group the template created, and nothing else."""
    return PolicyDocument(
        Version="2012-10-17",
        Statement=[
            Statement(
                Sid="WriteFlowLogs",
                Effect=Allow,
                Action=[logs.CreateLogStream, logs.DescribeLogStreams, logs.PutLogEvents],
                Resource=[log_group_arn],
            ),
        ],
    )
