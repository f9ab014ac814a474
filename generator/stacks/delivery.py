"""The `pipectl-delivery` stack: the CodePipeline that validates, plans, waits for review, applies and tests.

Source -> Validate -> Plan -> Approve -> Apply -> SmokeTest, started by a git push to the branch
(filtered to the files that change what is deployed) and once a day by an EventBridge Scheduler
schedule. Every stage but Approve runs `buildspec.yml` in its own CodeBuild project, selected by
PIPECTL_STAGE; the pipeline variable RUN (`push`, or `nightly` from the schedule) reaches the builds
as PIPECTL_RUN. The Plan build exports PIPECTL_APPROVAL: `required` whenever the plan changes a stack
outside the nightly environment (prod, the console), so prod changes always wait for a person while
the nightly `test` run goes through; only `not-required` skips the Approve stage (a V2 stage condition).
CloudFormation deploys with the execution role; the Plan/Apply role may only pass it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from troposphere import GetAtt, ImportValue, Output, Ref, Sub, Template
from troposphere.codebuild import (
    Artifacts,
    CloudWatchLogs,
    EnvironmentVariable,
    LogsConfig,
    Project,
    ProjectCache,
    Source,
)
from troposphere.codebuild import Environment as BuildEnvironment
from troposphere.codecommit import Repository
from troposphere.codepipeline import (
    Actions,
    ActionTypeId,
    ArtifactStore,
    BeforeEntryConditions,
    Condition,
    EncryptionKey,
    GitBranchFilterCriteria,
    GitConfiguration,
    GitFilePathFilterCriteria,
    GitPushFilter,
    InputArtifacts,
    OutputArtifacts,
    Pipeline,
    PipelineTriggerDeclaration,
    RuleDeclaration,
    RuleTypeId,
    Stages,
    VariableDeclaration,
)
from troposphere.codestarnotifications import NotificationRule
from troposphere.codestarnotifications import Target as NotificationTarget
from troposphere.events import Rule
from troposphere.events import Target as EventTarget
from troposphere.iam import ManagedPolicy, Role
from troposphere.iam import Policy as InlinePolicy
from troposphere.kms import Alias, Key
from troposphere.s3 import (
    Bucket,
    BucketEncryption,
    BucketPolicy,
    LifecycleConfiguration,
    LifecycleRule,
    NoncurrentVersionExpiration,
    OwnershipControls,
    OwnershipControlsRule,
    PublicAccessBlockConfiguration,
    ServerSideEncryptionByDefault,
    ServerSideEncryptionRule,
    VersioningConfiguration,
)
from troposphere.sns import SubscriptionResource, Topic, TopicPolicy

from generator.contract import DELIVERY_STACK
from generator.policy import delivery as policy
from generator.policy.execution import ANY_RESOURCE_REASON, execution_policy_documents
from generator.stacks import common, nightly
from generator.stacks.common import CONSOLE_STACK, add_output, export_name, keep

STACK = DELIVERY_STACK
PIPELINE_NAME = "pipectl-delivery"
SCHEDULE_NAME = "pipectl-delivery-nightly"
DEFAULT_SCHEDULE = "cron(0 3 * * ? *)"
DEFAULT_BRANCH = "main"
NIGHTLY_ENV = "test"
BUILD_STAGES = ("Validate", "Plan", "Apply", "SmokeTest")
# The files whose change can change what is deployed: a push touching none of them starts no run.
TRIGGER_PATHS = ("pipelines.d/**", "generator/**", "templates/**", "buildspec.yml", "pyproject.toml", "setup.py")
BUILD_IMAGE = "aws/codebuild/amazonlinux2-x86_64-standard:5.0"  # Python 3.11 and 3.12
BUILD_LOG_RETENTION_DAYS = 90
ARTIFACT_DAYS = 30
APPROVAL_NOT_REQUIRED = "not-required"
# Waiting approvals are announced by the approval action itself (with the plan summary), on the same topic.
NOTIFIED_EVENTS = (
    "codepipeline-pipeline-pipeline-execution-failed",
    "codepipeline-pipeline-manual-approval-failed",
)


@dataclass(frozen=True)
class CodeCommitSource:
    """A CodeCommit repository the stack creates (and retains)."""

    repository: str


@dataclass(frozen=True)
class ConnectionSource:
    """A GitHub, GitLab or Bitbucket repository `OWNER/NAME` reached through a CodeStar connection."""

    connection_arn: str
    repository: str


@dataclass(frozen=True)
class DeliverySpec:
    """What `pipectl bootstrap` was told: where the source is, when to run, who approves."""

    source: CodeCommitSource | ConnectionSource
    branch: str = DEFAULT_BRANCH
    schedule: str = DEFAULT_SCHEDULE
    approvers: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class _Shared:
    """What every part of the stack refers to: the key, the artifact bucket and the topic."""

    key: Key
    bucket: Bucket
    topic: Topic


def build_delivery(spec: DeliverySpec) -> Template:
    """The delivery pipeline and everything it needs, in the order a reader follows a run."""
    template = common.new_template(_description(spec))
    key = _key(template)
    shared = _Shared(key, _artifact_bucket(template, key), _topic(template, key, spec.approvers))
    execution = _execution_role(template)
    projects = {stage: _project(template, shared, stage, execution) for stage in BUILD_STAGES}
    source_arn = _source(template, spec)
    pipeline = _pipeline(template, spec, shared, projects, source_arn)
    pipeline_arn = common.arn("codepipeline", "${Pipeline}")
    nightly.add_nightly_run(
        template,
        SCHEDULE_NAME,
        spec.schedule,
        f"Starts {PIPELINE_NAME} daily with RUN=nightly: the {NIGHTLY_ENV} environment, smoke-tested",
        pipeline_arn,
        key,
        shared.topic,
    )
    if isinstance(spec.source, CodeCommitSource):
        _push_rule(template, spec, source_arn, pipeline_arn)
    _notifications(template, shared, pipeline_arn)
    add_output(template, STACK, "PipelineName", Ref(pipeline), "The delivery pipeline")
    template.add_output(
        Output(
            "PipelineConsoleUrl",
            Description="The delivery pipeline in the console: runs, approvals, build logs",
            Value=Sub(
                "https://${AWS::Region}.console.aws.amazon.com/codesuite/codepipeline/pipelines/${Pipeline}/view"
                "?region=${AWS::Region}"
            ),
        )
    )
    return template


def _description(spec: DeliverySpec) -> str:
    source = (
        f"CodeCommit {spec.source.repository}"
        if isinstance(spec.source, CodeCommitSource)
        else f"{spec.source.repository} (CodeStar connection)"
    )
    return (
        f"pipectl delivery: {source}@{spec.branch} -> Validate -> Plan -> Approve -> Apply -> SmokeTest, "
        f"on push and on {spec.schedule} (nightly {NIGHTLY_ENV} run)"
    )


def _key(template: Template) -> Key:
    """One key for artifacts, build logs and the notification topic."""
    key = template.add_resource(
        keep(
            Key(
                "DeliveryKey",
                Description="pipectl delivery: pipeline artifacts, build logs, notifications",
                EnableKeyRotation=True,
                PendingWindowInDays=30,
                KeyPolicy=policy.key_policy(f"/aws/codebuild/{PIPELINE_NAME}-*"),
            ),
            True,
        )
    )
    template.add_resource(Alias("DeliveryKeyAlias", AliasName="alias/pipectl/delivery", TargetKeyId=Ref(key)))
    return key


def _artifact_bucket(template: Template, key: Key) -> Bucket:
    """Source zips, plans and build/ between stages: encrypted, private, TLS-only, expired after a month."""
    bucket = template.add_resource(
        keep(
            Bucket(
                "ArtifactBucket",
                BucketEncryption=BucketEncryption(
                    ServerSideEncryptionConfiguration=[
                        ServerSideEncryptionRule(
                            BucketKeyEnabled=True,
                            ServerSideEncryptionByDefault=ServerSideEncryptionByDefault(
                                SSEAlgorithm="aws:kms", KMSMasterKeyID=GetAtt(key, "Arn")
                            ),
                        )
                    ]
                ),
                PublicAccessBlockConfiguration=PublicAccessBlockConfiguration(
                    BlockPublicAcls=True, BlockPublicPolicy=True, IgnorePublicAcls=True, RestrictPublicBuckets=True
                ),
                OwnershipControls=OwnershipControls(
                    Rules=[OwnershipControlsRule(ObjectOwnership="BucketOwnerEnforced")]
                ),
                VersioningConfiguration=VersioningConfiguration(Status="Enabled"),
                LifecycleConfiguration=LifecycleConfiguration(
                    Rules=[
                        LifecycleRule(
                            Id="ExpireArtifacts",
                            Status="Enabled",
                            ExpirationInDays=ARTIFACT_DAYS,
                            NoncurrentVersionExpiration=NoncurrentVersionExpiration(NoncurrentDays=7),
                        )
                    ]
                ),
            ),
            True,
        )
    )
    template.add_resource(
        BucketPolicy(
            "ArtifactBucketPolicy",
            Bucket=Ref(bucket),
            PolicyDocument=policy.artifact_bucket_policy(GetAtt(bucket, "Arn")),
        )
    )
    add_output(template, STACK, "ArtifactBucketName", Ref(bucket), "Encrypted bucket of pipeline artifacts")
    return bucket


def _topic(template: Template, key: Key, approvers: tuple[str, ...]) -> Topic:
    """Approval requests (with the plan summary) and failures, e-mailed to the approvers."""
    topic = template.add_resource(
        Topic(
            "DeliveryTopic",
            TopicName=PIPELINE_NAME,
            DisplayName="pipectl delivery",
            KmsMasterKeyId=GetAtt(key, "Arn"),
        )
    )
    template.add_resource(
        TopicPolicy("DeliveryTopicPolicy", Topics=[Ref(topic)], PolicyDocument=policy.topic_policy(Ref(topic)))
    )
    for index, email in enumerate(approvers):
        template.add_resource(
            SubscriptionResource(f"Approver{index + 1}", TopicArn=Ref(topic), Protocol="email", Endpoint=email)
        )
    add_output(template, STACK, "TopicArn", Ref(topic), "Approval requests and failures of the delivery pipeline")
    return topic


def _execution_role(template: Template) -> Role:
    """The role CloudFormation deploys pipectl's stacks with; the builds may only pass it.

    Its grants are the managed policies `execution_policy_documents()` derives from the execution
    permissions table, attached to it (IAM's quotas: 6,144 characters each, ten per role).
    """
    role = template.add_resource(
        Role(
            "ExecutionRole",
            Description="CloudFormation deploys pipectl stacks with this role (passed by the Plan/Apply builds)",
            AssumeRolePolicyDocument=policy.cloudformation_trust(),
        )
    )
    for index, document in enumerate(execution_policy_documents(), start=1):
        template.add_resource(
            ManagedPolicy(
                f"ExecutionPolicy{index}",
                Description=f"pipectl execution role, part {index}: handler permissions of the emitted types; "
                f"Resource * only where {ANY_RESOURCE_REASON}",
                PolicyDocument=document,
                Roles=[Ref(role)],
            )
        )
    add_output(template, STACK, "ExecutionRoleArn", GetAtt(role, "Arn"), "CloudFormation execution role")
    return role


def project_name(stage: str) -> str:
    return f"{PIPELINE_NAME}-{stage.lower()}"


def _build_role(template: Template, shared: _Shared, stage: str, group: Any, execution: Role) -> Role:
    bucket, key = GetAtt(shared.bucket, "Arn"), GetAtt(shared.key, "Arn")
    if stage == "Validate":
        document = policy.validate_role(bucket, key, group, project_name(stage))
        purpose = "runs the tests, cfn-lint and synth; touches no stack"
    elif stage == "SmokeTest":
        document = policy.smoke_role(bucket, key, group)
        purpose = "reads pipectl stacks, runs their state machines, reads their dashboards"
    else:
        table = ImportValue(export_name(CONSOLE_STACK, "StateTableArn"))
        document = policy.deploy_role(bucket, key, group, table, GetAtt(execution, "Arn"))
        purpose = "plans and applies change sets of pipectl-* stacks, passing only the execution role"
    return template.add_resource(
        Role(
            f"{stage}BuildRole",
            Description=f"CodeBuild {project_name(stage)}: {purpose}",
            AssumeRolePolicyDocument=policy.service_trust(
                "codebuild.amazonaws.com", common.arn("codebuild", f"project/{project_name(stage)}")
            ),
            Policies=[InlinePolicy(PolicyName=f"{stage.lower()}-stage", PolicyDocument=document)],
        )
    )


def _project(template: Template, shared: _Shared, stage: str, execution: Role) -> Project:
    """One CodeBuild project per stage, all running buildspec.yml with PIPECTL_STAGE set."""
    name = project_name(stage)
    group = common.log_group(
        template,
        f"{stage}BuildLogGroup",
        f"/aws/codebuild/{name}",
        BUILD_LOG_RETENTION_DAYS,
        GetAtt(shared.key, "Arn"),
        True,
    )
    role = _build_role(template, shared, stage, GetAtt(group, "Arn"), execution)
    variables = [
        EnvironmentVariable(Name="PIPECTL_STAGE", Type="PLAINTEXT", Value=stage),
        EnvironmentVariable(Name="PIPECTL_TARGET", Type="PLAINTEXT", Value="aws"),
        EnvironmentVariable(Name="PIPECTL_NIGHTLY_ENV", Type="PLAINTEXT", Value=NIGHTLY_ENV),
    ]
    if stage in ("Plan", "Apply"):
        variables.append(
            EnvironmentVariable(
                Name="PIPECTL_CLOUDFORMATION_ROLE_ARN", Type="PLAINTEXT", Value=GetAtt(execution, "Arn")
            )
        )
    return template.add_resource(
        Project(
            f"{stage}Project",
            Name=name,
            Description=f"pipectl delivery, stage {stage}: buildspec.yml with PIPECTL_STAGE={stage}",
            Source=Source(Type="CODEPIPELINE", BuildSpec="buildspec.yml"),
            Artifacts=Artifacts(Type="CODEPIPELINE"),
            Environment=BuildEnvironment(
                Type="LINUX_CONTAINER",
                ComputeType="BUILD_GENERAL1_SMALL" if stage != "Validate" else "BUILD_GENERAL1_MEDIUM",
                Image=BUILD_IMAGE,
                ImagePullCredentialsType="CODEBUILD",
                EnvironmentVariables=variables,
            ),
            ServiceRole=GetAtt(role, "Arn"),
            EncryptionKey=GetAtt(shared.key, "Arn"),
            Cache=ProjectCache(Type="S3", Location=Sub(f"${{ArtifactBucket}}/cache/{stage.lower()}")),
            LogsConfig=LogsConfig(CloudWatchLogs=CloudWatchLogs(Status="ENABLED", GroupName=Ref(group))),
            TimeoutInMinutes=60,
            QueuedTimeoutInMinutes=60,
        )
    )


def _source(template: Template, spec: DeliverySpec) -> Any:
    """The ARN the pipeline reads its source from: the created repository, or the connection."""
    if isinstance(spec.source, ConnectionSource):
        return spec.source.connection_arn
    repository = template.add_resource(
        keep(
            Repository(
                "SourceRepository",
                RepositoryName=spec.source.repository,
                RepositoryDescription="pipectl: pipelines.d/ and the generator; a push starts the delivery",
            ),
            True,
        )
    )
    add_output(template, STACK, "RepositoryCloneUrlHttp", GetAtt(repository, "CloneUrlHttp"), "git clone URL")
    return GetAtt(repository, "Arn")


def _source_action(spec: DeliverySpec) -> Actions:
    if isinstance(spec.source, CodeCommitSource):
        provider, configuration = (
            "CodeCommit",
            {
                "RepositoryName": spec.source.repository,
                "BranchName": spec.branch,
                "PollForSourceChanges": "false",
                "OutputArtifactFormat": "CODE_ZIP",
            },
        )
    else:
        provider, configuration = (
            "CodeStarSourceConnection",
            {
                "ConnectionArn": spec.source.connection_arn,
                "FullRepositoryId": spec.source.repository,
                "BranchName": spec.branch,
                "OutputArtifactFormat": "CODE_ZIP",
                "DetectChanges": "true",
            },
        )
    return Actions(
        Name="Source",
        ActionTypeId=ActionTypeId(Category="Source", Owner="AWS", Provider=provider, Version="1"),
        Configuration=configuration,
        OutputArtifacts=[OutputArtifacts(Name="Source")],
        Namespace="SourceVariables",
        RunOrder=1,
    )


def _build_action(stage: str, project: Project, source: str, output: str | None = None) -> Actions:
    """A CodeBuild action; the run kind and the commit reach the build as environment variables."""
    variables = [
        {"name": "PIPECTL_RUN", "value": "#{variables.RUN}", "type": "PLAINTEXT"},
        {"name": "PIPECTL_REVISION", "value": "#{SourceVariables.CommitId}", "type": "PLAINTEXT"},
    ]
    extra: dict[str, Any] = {"OutputArtifacts": [OutputArtifacts(Name=output)]} if output else {}
    if stage == "Plan":
        extra["Namespace"] = "PlanVariables"
    return Actions(
        Name=stage,
        ActionTypeId=ActionTypeId(Category="Build", Owner="AWS", Provider="CodeBuild", Version="1"),
        Configuration={
            "ProjectName": Ref(project),
            "EnvironmentVariables": json.dumps(variables, separators=(",", ":")),
        },
        InputArtifacts=[InputArtifacts(Name=source)],
        RunOrder=1,
        **extra,
    )


def _approval_stage(shared: _Shared) -> Stages:
    """A person approves the plan, unless the Plan build said no approval is needed (the stage is skipped)."""
    return Stages(
        Name="Approve",
        BeforeEntry=BeforeEntryConditions(
            Conditions=[
                Condition(
                    Result="SKIP",
                    Rules=[
                        RuleDeclaration(
                            Name="PlanNeedsApproval",
                            RuleTypeId=RuleTypeId(Category="Rule", Owner="AWS", Provider="VariableCheck", Version="1"),
                            Configuration={
                                # Skipped only on an explicit "not-required": any other value waits.
                                "Variable": "#{PlanVariables.PIPECTL_APPROVAL}",
                                "Value": APPROVAL_NOT_REQUIRED,
                                "Operator": "NE",
                            },
                        )
                    ],
                )
            ]
        ),
        Actions=[
            Actions(
                Name="ReviewPlan",
                ActionTypeId=ActionTypeId(Category="Approval", Owner="AWS", Provider="Manual", Version="1"),
                Configuration={
                    "NotificationArn": Ref(shared.topic),
                    "CustomData": "#{PlanVariables.PIPECTL_PLAN_SUMMARY}",
                    "ExternalEntityLink": "#{PlanVariables.PIPECTL_PLAN_LINK}",
                },
                RunOrder=1,
            )
        ],
    )


def _pipeline_role(
    template: Template, spec: DeliverySpec, shared: _Shared, projects: dict[str, Project], source_arn: Any
) -> Role:
    return template.add_resource(
        Role(
            "PipelineRole",
            Description="CodePipeline pipectl-delivery: artifacts, source, builds, approval requests",
            AssumeRolePolicyDocument=policy.service_trust(
                "codepipeline.amazonaws.com", common.arn("codepipeline", PIPELINE_NAME)
            ),
            Policies=[
                InlinePolicy(
                    PolicyName="run-delivery",
                    PolicyDocument=policy.pipeline_role(
                        GetAtt(shared.bucket, "Arn"),
                        GetAtt(shared.key, "Arn"),
                        [GetAtt(p, "Arn") for p in projects.values()],
                        Ref(shared.topic),
                        source_arn,
                        isinstance(spec.source, CodeCommitSource),
                    ),
                )
            ],
        )
    )


def _pipeline(
    template: Template, spec: DeliverySpec, shared: _Shared, projects: dict[str, Project], source_arn: Any
) -> Pipeline:
    role = _pipeline_role(template, spec, shared, projects, source_arn)
    extra: dict[str, Any] = {}
    if isinstance(spec.source, ConnectionSource):
        extra["Triggers"] = [
            PipelineTriggerDeclaration(
                ProviderType="CodeStarSourceConnection",
                GitConfiguration=GitConfiguration(
                    SourceActionName="Source",
                    Push=[
                        GitPushFilter(
                            Branches=GitBranchFilterCriteria(Includes=[spec.branch]),
                            FilePaths=GitFilePathFilterCriteria(Includes=list(TRIGGER_PATHS)),
                        )
                    ],
                ),
            )
        ]
    return template.add_resource(
        Pipeline(
            "Pipeline",
            Name=PIPELINE_NAME,
            PipelineType="V2",
            ExecutionMode="SUPERSEDED",
            RoleArn=GetAtt(role, "Arn"),
            RestartExecutionOnUpdate=False,
            ArtifactStore=ArtifactStore(
                Type="S3",
                Location=Ref(shared.bucket),
                EncryptionKey=EncryptionKey(Type="KMS", Id=GetAtt(shared.key, "Arn")),
            ),
            Variables=[
                VariableDeclaration(
                    Name="RUN",
                    DefaultValue="push",
                    Description="push (a git push or a manual start) or nightly (the daily schedule)",
                )
            ],
            Stages=[
                Stages(Name="Source", Actions=[_source_action(spec)]),
                Stages(Name="Validate", Actions=[_build_action("Validate", projects["Validate"], "Source")]),
                Stages(Name="Plan", Actions=[_build_action("Plan", projects["Plan"], "Source", "Planned")]),
                _approval_stage(shared),
                Stages(Name="Apply", Actions=[_build_action("Apply", projects["Apply"], "Planned")]),
                Stages(Name="SmokeTest", Actions=[_build_action("SmokeTest", projects["SmokeTest"], "Planned")]),
            ],
            **extra,
        )
    )


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


def _notifications(template: Template, shared: _Shared, pipeline_arn: Any) -> NotificationRule:
    """Failed runs and rejected plans, to the approvers' topic."""
    return template.add_resource(
        NotificationRule(
            "FailureNotifications",
            Name=f"{PIPELINE_NAME}-events",
            DetailType="FULL",
            EventTypeIds=list(NOTIFIED_EVENTS),
            Resource=pipeline_arn,
            Status="ENABLED",
            Targets=[NotificationTarget(TargetType="SNS", TargetAddress=Ref(shared.topic))],
            DependsOn=["DeliveryTopicPolicy"],
        )
    )
