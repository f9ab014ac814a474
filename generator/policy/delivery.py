"""Least-privilege IAM for the `pipectl-delivery` stack, as awacs documents.

Four principals act in the delivery: CodePipeline (moves artifacts, starts builds, asks for approval),
the CodeBuild projects (their roles are in `builds.py`), CloudFormation itself (the execution role,
whose grants `execution.py` derives), and the schedulers that start the pipeline.
ARNs arrive as CloudFormation expressions: nothing here knows a region or an account.
"""

from __future__ import annotations

from typing import Any

import awacs.codebuild as codebuild
import awacs.codecommit as codecommit
import awacs.codeconnections as codeconnections
import awacs.codepipeline as codepipeline
import awacs.codestar_connections as codestar_connections
import awacs.kms as kms
import awacs.s3 as s3
import awacs.sns as sns
import awacs.sts as sts
from awacs.aws import (
    Allow,
    ArnLike,
    Condition,
    ConditionElement,
    Policy,
    PolicyDocument,
    Principal,
    Statement,
    StringEquals,
)
from troposphere import Sub

from generator.contract import STACK_PREFIX as STACK_PREFIX
from generator.policy import keys, notifications, storage

VERSION = "2012-10-17"

CONSOLE_KEY_ALIAS = "alias/pipectl/console"


def _account_root() -> Principal:
    return Principal("AWS", Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root"))


def _same_account() -> ConditionElement:
    return StringEquals({"aws:SourceAccount": Sub("${AWS::AccountId}")})


def service_trust(service: str, source_arn: Any | None = None) -> PolicyDocument:
    """Only `service` acting for this account (and, when given, for this resource) may assume the role."""
    conditions: list[ConditionElement] = [_same_account()]
    if source_arn is not None:
        conditions.append(ArnLike({"aws:SourceArn": source_arn}))
    return PolicyDocument(
        Version=VERSION,
        Statement=[
            Statement(
                Effect=Allow,
                Principal=Principal("Service", service),
                Action=[sts.AssumeRole],
                Condition=Condition(conditions),
            )
        ],
    )


def cloudformation_trust() -> PolicyDocument:
    """CloudFormation may assume the execution role; the source account condition keeps others out."""
    return service_trust("cloudformation.amazonaws.com")


def key_policy(log_group_pattern: str) -> PolicyDocument:
    """The delivery key: the account administers and uses it; Logs and CodeStar notifications may use it."""
    return PolicyDocument(
        Version=VERSION,
        Statement=[
            keys.account_administers_and_delegates(),
            keys.logs_may_encrypt("CloudWatchLogsEncryptsBuildLogs", [log_group_pattern]),
            keys.alarms_may_publish(),
            notifications.sns_may_encrypt_dead_letters(),
            Statement(
                Sid="NotificationsPublishToTheEncryptedTopic",
                Effect=Allow,
                Principal=Principal("Service", "codestar-notifications.amazonaws.com"),
                Action=[kms.Decrypt, kms.GenerateDataKey],
                Resource=["*"],
                Condition=Condition(StringEquals({"kms:ViaService": Sub("sns.${AWS::Region}.amazonaws.com")})),
            ),
        ],
    )


def topic_policy(topic_arn: Any) -> PolicyDocument:
    """CodeStar notifications of this account may publish pipeline failures to the topic."""
    return PolicyDocument(
        Version=VERSION,
        Statement=[
            Statement(
                Sid="CodeStarNotificationsPublish",
                Effect=Allow,
                Principal=Principal("Service", "codestar-notifications.amazonaws.com"),
                Action=[sns.Publish],
                Resource=[topic_arn],
                Condition=Condition(_same_account()),
            )
        ],
    )


def artifacts(bucket_arn: Any, key_arn: Any, write: bool) -> list[Statement]:
    """Read (and for producers, write) pipeline artifacts in the encrypted bucket."""
    actions = [s3.GetObject, s3.GetObjectVersion] + ([s3.PutObject] if write else [])
    return [
        Statement(Sid="PipelineArtifacts", Effect=Allow, Action=actions, Resource=[Sub("${B}/*", B=bucket_arn)]),
        Statement(
            Sid="ArtifactBucketLocation",
            Effect=Allow,
            Action=[s3.GetBucketLocation, s3.GetBucketVersioning],
            Resource=[bucket_arn],
        ),
        Statement(
            Sid="ArtifactEncryption",
            Effect=Allow,
            Action=[kms.Decrypt, kms.Encrypt, kms.GenerateDataKey],
            Resource=[key_arn],
        ),
    ]


def pipeline_role(
    bucket_arn: Any, key_arn: Any, project_arns: list[Any], topic_arn: Any, source_arn: Any, codecommit_source: bool
) -> PolicyDocument:
    """CodePipeline: artifacts, the source, the four builds and the approval topic; nothing else."""
    if codecommit_source:
        source = Statement(
            Sid="ReadSourceRepository",
            Effect=Allow,
            Action=[
                codecommit.CancelUploadArchive,
                codecommit.GetBranch,
                codecommit.GetCommit,
                codecommit.GetRepository,
                codecommit.GetUploadArchiveStatus,
                codecommit.UploadArchive,
            ],
            Resource=[source_arn],
        )
    else:
        source = Statement(
            Sid="UseSourceConnection",
            Effect=Allow,
            # Connections made before 2024 have codestar-connections ARNs, newer ones codeconnections ARNs.
            Action=[
                codeconnections.UseConnection
                if str(source_arn).split(":")[2:3] == ["codeconnections"]
                else codestar_connections.UseConnection
            ],
            Resource=[source_arn],
        )
    return PolicyDocument(
        Version=VERSION,
        Statement=[
            *artifacts(bucket_arn, key_arn, write=True),
            source,
            Statement(
                Sid="RunStageBuilds",
                Effect=Allow,
                Action=[codebuild.BatchGetBuilds, codebuild.StartBuild],
                Resource=project_arns,
            ),
            Statement(Sid="AskApprovers", Effect=Allow, Action=[sns.Publish], Resource=[topic_arn]),
        ],
    )


def start_pipeline(pipeline_arn: Any) -> PolicyDocument:
    """The schedule (and, for CodeCommit, the push rule) may start this pipeline and nothing else."""
    return PolicyDocument(
        Version=VERSION,
        Statement=[
            Statement(
                Sid="StartDeliveryPipeline",
                Effect=Allow,
                Action=[codepipeline.StartPipelineExecution],
                Resource=[pipeline_arn],
            )
        ],
    )


def artifact_bucket_policy(bucket_arn: Any) -> Policy:
    """The artifact bucket answers TLS requests only, as every pipectl bucket does; IAM decides who."""
    return storage.data_bucket_policy(bucket_arn)
