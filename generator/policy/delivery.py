"""Least-privilege IAM for the `pipectl-delivery` stack, as awacs documents.

Four principals act in the delivery: CodePipeline (moves artifacts, starts builds, asks for approval),
the CodeBuild projects (Validate touches no stack; Plan and Apply touch only stacks named `pipectl-*`
and may pass only the CloudFormation execution role; SmokeTest only reads and starts executions),
CloudFormation itself (the execution role, whose grants `execution.py` derives), and the
schedulers that start the pipeline. ARNs arrive as CloudFormation expressions: nothing here knows a
region or an account.
"""

from __future__ import annotations

from typing import Any

import awacs.codebuild as codebuild
import awacs.codecommit as codecommit
import awacs.codeconnections as codeconnections
import awacs.codepipeline as codepipeline
import awacs.codestar_connections as codestar_connections
import awacs.iam as iam
import awacs.kms as kms
import awacs.logs as logs
import awacs.s3 as s3
import awacs.sns as sns
import awacs.sts as sts
from awacs.aws import (
    Action,
    Allow,
    ArnLike,
    Condition,
    ConditionElement,
    ForAnyValueStringEquals,
    Policy,
    PolicyDocument,
    Principal,
    Statement,
    StringEquals,
)
from troposphere import Sub

from generator.contract import STACK_PREFIX as STACK_PREFIX
from generator.policy import keys, storage

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


def _artifacts(bucket_arn: Any, key_arn: Any, write: bool) -> list[Statement]:
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
            *_artifacts(bucket_arn, key_arn, write=True),
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


def _build_basics(bucket_arn: Any, key_arn: Any, log_group_arn: Any, write: bool) -> list[Statement]:
    return [
        *_artifacts(bucket_arn, key_arn, write),
        Statement(
            Sid="WriteBuildLogs",
            Effect=Allow,
            Action=[logs.CreateLogStream, logs.PutLogEvents],
            Resource=[log_group_arn, Sub("${G}:log-stream:*", G=log_group_arn)],
        ),
    ]


def report_groups(project_name: str) -> Statement:
    """CodeBuild creates the report groups named `<project>-<report>` that the buildspec declares."""
    return Statement(
        Sid="PublishTestReports",
        Effect=Allow,
        Action=[
            codebuild.BatchPutCodeCoverages,
            codebuild.BatchPutTestCases,
            codebuild.CreateReport,
            codebuild.CreateReportGroup,
            codebuild.UpdateReport,
        ],
        Resource=[
            Sub(f"arn:${{AWS::Partition}}:codebuild:${{AWS::Region}}:${{AWS::AccountId}}:report-group/{project_name}-*")
        ],
    )


def validate_role(bucket_arn: Any, key_arn: Any, log_group_arn: Any, project_name: str) -> PolicyDocument:
    """Validate runs the repository's own tests and linters: it reads the source, writes build/, reports."""
    return PolicyDocument(
        Version=VERSION,
        Statement=[*_build_basics(bucket_arn, key_arn, log_group_arn, write=True), report_groups(project_name)],
    )


def _stacks() -> Any:
    return Sub(f"arn:${{AWS::Partition}}:cloudformation:*:${{AWS::AccountId}}:stack/{STACK_PREFIX}*/*")


def _state_table(table_arn: Any) -> list[Statement]:
    """The controller's run records and deploy lock live in the console's state table (KMS-encrypted)."""
    return [
        Statement(
            Sid="RecordRunsAndHoldTheLock",
            Effect=Allow,
            Action=[
                Action("dynamodb", name)
                for name in ("ConditionCheckItem", "DeleteItem", "GetItem", "PutItem", "Query", "UpdateItem")
            ],
            Resource=[table_arn, Sub("${T}/index/*", T=table_arn)],
        ),
        Statement(
            Sid="UseTheConsoleKeyThroughDynamoDB",
            Effect=Allow,
            Action=[kms.Decrypt, kms.Encrypt, kms.GenerateDataKey],
            Resource=[Sub("arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/*")],
            Condition=Condition(
                [
                    ForAnyValueStringEquals({"kms:ResourceAliases": CONSOLE_KEY_ALIAS}),
                    StringEquals({"kms:ViaService": Sub("dynamodb.${AWS::Region}.amazonaws.com")}),
                ]
            ),
        ),
    ]


def deploy_role(
    bucket_arn: Any, key_arn: Any, log_group_arn: Any, table_arn: Any, execution_role_arn: Any
) -> PolicyDocument:
    """Plan and Apply: change sets on stacks named pipectl-* only, deployed as the execution role."""
    return PolicyDocument(
        Version=VERSION,
        Statement=[
            *_build_basics(bucket_arn, key_arn, log_group_arn, write=True),
            Statement(
                Sid="ReadStacks",
                Effect=Allow,
                # The controller lists the account's stacks to find its own (tag pipectl:managed-by).
                Action=[Action("cloudformation", "DescribeStacks")],
                Resource=[Sub("arn:${AWS::Partition}:cloudformation:*:${AWS::AccountId}:stack/*/*")],
            ),
            Statement(
                Sid="ChangePipectlStacksOnly",
                Effect=Allow,
                Action=[
                    Action("cloudformation", name)
                    for name in (
                        "ContinueUpdateRollback",
                        "CreateChangeSet",
                        "DeleteChangeSet",
                        "DeleteStack",
                        "DescribeChangeSet",
                        "DescribeStackEvents",
                        "ExecuteChangeSet",
                        "GetTemplate",
                        "ListChangeSets",
                        "SetStackPolicy",
                        "UpdateTerminationProtection",
                    )
                ],
                Resource=[_stacks()],
            ),
            Statement(
                Sid="PassOnlyTheExecutionRole",
                Effect=Allow,
                Action=[iam.PassRole],
                Resource=[execution_role_arn],
                Condition=Condition(StringEquals({"iam:PassedToService": "cloudformation.amazonaws.com"})),
            ),
            Statement(
                Sid="PublishPipectlMetrics",
                Effect=Allow,
                Action=[Action("cloudwatch", "PutMetricData")],
                # Metrics are not resources (Resource "*" is the only value AWS accepts); the condition
                # pins the calls to pipectl's own namespace.
                Resource=["*"],
                Condition=Condition(StringEquals({"cloudwatch:namespace": "pipectl"})),
            ),
            *_state_table(table_arn),
        ],
    )


def smoke_role(bucket_arn: Any, key_arn: Any, log_group_arn: Any) -> PolicyDocument:
    """SmokeTest reads pipectl stacks, starts and watches their state machines, and reads dashboards."""
    return PolicyDocument(
        Version=VERSION,
        Statement=[
            *_build_basics(bucket_arn, key_arn, log_group_arn, write=False),
            Statement(
                Sid="ReadStacks",
                Effect=Allow,
                Action=[Action("cloudformation", "DescribeStacks")],
                Resource=[Sub("arn:${AWS::Partition}:cloudformation:*:${AWS::AccountId}:stack/*/*")],
            ),
            Statement(
                Sid="RunProcessing",
                Effect=Allow,
                Action=[Action("states", "StartExecution")],
                Resource=[Sub(f"arn:${{AWS::Partition}}:states:*:${{AWS::AccountId}}:stateMachine:{STACK_PREFIX}*")],
            ),
            Statement(
                Sid="WatchProcessing",
                Effect=Allow,
                Action=[Action("states", "DescribeExecution")],
                Resource=[Sub(f"arn:${{AWS::Partition}}:states:*:${{AWS::AccountId}}:execution:{STACK_PREFIX}*:*")],
            ),
            Statement(
                Sid="ReadDashboards",
                Effect=Allow,
                Action=[Action("cloudwatch", "GetDashboard")],
                Resource=[Sub(f"arn:${{AWS::Partition}}:cloudwatch::${{AWS::AccountId}}:dashboard/{STACK_PREFIX}*")],
            ),
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
