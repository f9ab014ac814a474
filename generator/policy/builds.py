"""Least-privilege IAM for the delivery's CodeBuild projects, one role per build stage.

Validate touches no stack; Plan and Apply touch only stacks named `pipectl-*` and may pass only the
CloudFormation execution role; SmokeTest only reads and starts executions. ARNs arrive as
CloudFormation expressions: nothing here knows a region or an account.
"""

from __future__ import annotations

from typing import Any

import awacs.codebuild as codebuild
import awacs.ecr as ecr
import awacs.iam as iam
import awacs.kms as kms
import awacs.logs as logs
from awacs.aws import Action, Allow, Condition, ForAnyValueStringEquals, PolicyDocument, Statement, StringEquals
from troposphere import Sub

from generator.contract import CONSOLE_SITE_BUCKET
from generator.policy.delivery import CONSOLE_KEY_ALIAS, STACK_PREFIX, VERSION, artifacts


def _build_basics(bucket_arn: Any, key_arn: Any, log_group_arn: Any, write: bool) -> list[Statement]:
    return [
        *artifacts(bucket_arn, key_arn, write),
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
    """The controller's run records and deploy lock live in the console's state table (KMS-encrypted); it
    scans it once after an upgrade, to give older items the keys of a newer index (deploy/state_layout.py)."""
    return [
        Statement(
            Sid="RecordRunsAndHoldTheLock",
            Effect=Allow,
            Action=[
                Action("dynamodb", name)
                for name in ("ConditionCheckItem", "DeleteItem", "GetItem", "PutItem", "Query", "Scan", "UpdateItem")
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


PLAN_ACTIONS = (
    "CreateChangeSet",
    "DeleteChangeSet",
    "DescribeChangeSet",
    "DescribeStackEvents",
    "GetTemplate",
    "ListChangeSets",
)
"""Plan reads stacks and creates, describes and deletes change sets: it never changes a stack."""
APPLY_ACTIONS = (
    *PLAN_ACTIONS,
    "ContinueUpdateRollback",
    "DeleteStack",
    "ExecuteChangeSet",
    "SetStackPolicy",
    "UpdateTerminationProtection",
)
"""Apply alone executes change sets (and creates the deferred ones), protects and removes stacks."""


def plan_role(
    bucket_arn: Any, key_arn: Any, log_group_arn: Any, table_arn: Any, execution_role_arn: Any
) -> PolicyDocument:
    """Plan: change sets on pipectl-* stacks, created with the execution role, never executed.

    Plan runs the pushed commit's buildspec.yml, so it holds nothing that changes a stack: the
    execution role is passed only so that CloudFormation can create a change set with it.
    """
    return _deploy_role(bucket_arn, key_arn, log_group_arn, table_arn, execution_role_arn, PLAN_ACTIONS, False)


def apply_role(
    bucket_arn: Any, key_arn: Any, log_group_arn: Any, table_arn: Any, execution_role_arn: Any
) -> PolicyDocument:
    """Apply: executes the approved change sets; runs only commands the delivery template holds."""
    return _deploy_role(bucket_arn, key_arn, log_group_arn, table_arn, execution_role_arn, APPLY_ACTIONS, True)


def _deploy_role(
    bucket_arn: Any,
    key_arn: Any,
    log_group_arn: Any,
    table_arn: Any,
    execution_role_arn: Any,
    stack_actions: tuple[str, ...],
    publishes_console: bool,
) -> PolicyDocument:
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
                Sid="ChangeSetsOfPipectlStacksOnly",
                Effect=Allow,
                Action=[Action("cloudformation", name) for name in sorted(stack_actions)],
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
            *(_publish_console() if publishes_console else []),
        ],
    )


def _publish_console() -> list[Statement]:
    """Apply copies the console app into its site bucket (KMS-encrypted with the console key); Plan never
    does, so the served app changes only with an approved apply."""
    return [
        Statement(
            Sid="PublishTheConsoleApp",
            Effect=Allow,
            # The controller copies the console app into its site bucket, under the app's digest.
            Action=[Action("s3", "GetObject"), Action("s3", "PutObject")],
            Resource=[Sub(f"arn:${{AWS::Partition}}:s3:::{CONSOLE_SITE_BUCKET}/*")],
        ),
        Statement(
            Sid="UseTheConsoleKeyThroughS3",
            Effect=Allow,
            Action=[kms.Decrypt, kms.GenerateDataKey],
            Resource=[Sub("arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/*")],
            Condition=Condition(
                [
                    ForAnyValueStringEquals({"kms:ResourceAliases": CONSOLE_KEY_ALIAS}),
                    StringEquals({"kms:ViaService": Sub("s3.${AWS::Region}.amazonaws.com")}),
                ]
            ),
        ),
    ]


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


def image_role(bucket_arn: Any, key_arn: Any, log_group_arn: Any, repository_arn: Any) -> PolicyDocument:
    """Image reads the source, writes image.json, and pushes to (and pulls from) the collector's repository only."""
    return PolicyDocument(
        Version=VERSION,
        Statement=[
            *_build_basics(bucket_arn, key_arn, log_group_arn, write=True),
            Statement(
                Sid="PushAndPullTheCollectorImageOnly",
                Effect=Allow,
                Action=[
                    ecr.BatchCheckLayerAvailability,
                    ecr.BatchGetImage,
                    ecr.CompleteLayerUpload,
                    ecr.GetDownloadUrlForLayer,
                    ecr.InitiateLayerUpload,
                    ecr.PutImage,
                    ecr.UploadLayerPart,
                ],
                Resource=[repository_arn],
            ),
            Statement(
                Sid="GetRegistryToken",
                Effect=Allow,
                Action=[ecr.GetAuthorizationToken],
                # ecr:GetAuthorizationToken has no resource-level permissions: AWS accepts only "*"
                # (generator/policy/rules/unscoped_actions.py); the token pushes nowhere the grants above do not.
                Resource=["*"],
            ),
        ],
    )
