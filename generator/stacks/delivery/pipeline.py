"""The pipeline itself: where the source comes from, the stages in order, and the approval between them."""

from __future__ import annotations

import json
from typing import Any

from troposphere import GetAtt, Ref
from troposphere.codebuild import Project
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
from troposphere.iam import Policy as InlinePolicy
from troposphere.iam import Role

from generator.policy import delivery as policy
from generator.stacks import common
from generator.stacks.common import add_output, keep
from generator.stacks.delivery import image
from generator.stacks.delivery.shared import Delivery
from generator.stacks.delivery.spec import (
    APPROVAL_NOT_REQUIRED,
    PIPELINE_NAME,
    STACK,
    TRIGGER_PATHS,
    CodeCommitSource,
    ConnectionSource,
    DeliverySpec,
)


def add_source(delivery: Delivery) -> Any:
    """The ARN the pipeline reads its source from: the created repository, or the connection."""
    template, spec = delivery.template, delivery.spec
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


def _build_action(stage: str, project: Project, source: str, output: str | None = None, run_order: int = 1) -> Actions:
    """A CodeBuild action; the run kind and the commit reach the build as environment variables."""
    variables = [
        {"name": "PIPECTL_RUN", "value": "#{variables.RUN}", "type": "PLAINTEXT"},
        {"name": "PIPECTL_REVISION", "value": "#{SourceVariables.CommitId}", "type": "PLAINTEXT"},
    ]
    if stage == "Apply":
        # The held Apply buildspec refuses a skipped approval for anything outside the nightly environment.
        variables.append(
            {"name": "PIPECTL_APPROVAL", "value": "#{PlanVariables.PIPECTL_APPROVAL}", "type": "PLAINTEXT"}
        )
    extra: dict[str, Any] = {"OutputArtifacts": [OutputArtifacts(Name=output)]} if output else {}
    configuration: dict[str, Any] = {
        "ProjectName": Ref(project),
        "EnvironmentVariables": json.dumps(variables, separators=(",", ":")),
    }
    inputs = [InputArtifacts(Name=source)]
    if stage == "Plan":
        extra["Namespace"] = "PlanVariables"
        # The Image action's image.json, at $CODEBUILD_SRC_DIR_Image: what the stacks run, by digest.
        inputs.append(InputArtifacts(Name=image.STAGE))
        configuration["PrimarySource"] = source
    elif stage == image.STAGE:
        extra["Namespace"] = "ImageVariables"
    return Actions(
        Name=stage,
        ActionTypeId=ActionTypeId(Category="Build", Owner="AWS", Provider="CodeBuild", Version="1"),
        Configuration=configuration,
        InputArtifacts=inputs,
        RunOrder=run_order,
        **extra,
    )


def _approval_stage(delivery: Delivery) -> Stages:
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
                    "NotificationArn": Ref(delivery.topic),
                    "CustomData": "#{PlanVariables.PIPECTL_PLAN_SUMMARY}",
                    "ExternalEntityLink": "#{PlanVariables.PIPECTL_PLAN_LINK}",
                },
                RunOrder=1,
            )
        ],
    )


def _pipeline_role(delivery: Delivery, projects: dict[str, Project], source_arn: Any) -> Role:
    return delivery.template.add_resource(
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
                        delivery.bucket_arn,
                        delivery.key_arn,
                        [GetAtt(p, "Arn") for p in projects.values()],
                        Ref(delivery.topic),
                        source_arn,
                        isinstance(delivery.spec.source, CodeCommitSource),
                    ),
                )
            ],
        )
    )


def add_pipeline(delivery: Delivery, projects: dict[str, Project], source_arn: Any) -> Pipeline:
    """Source -> Validate (then Image) -> Plan -> Approve -> Apply -> SmokeTest, run by its own role."""
    spec = delivery.spec
    role = _pipeline_role(delivery, projects, source_arn)
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
    return delivery.template.add_resource(
        Pipeline(
            "Pipeline",
            Name=PIPELINE_NAME,
            PipelineType="V2",
            ExecutionMode="SUPERSEDED",
            RoleArn=GetAtt(role, "Arn"),
            RestartExecutionOnUpdate=False,
            ArtifactStore=ArtifactStore(
                Type="S3",
                Location=Ref(delivery.bucket),
                EncryptionKey=EncryptionKey(Type="KMS", Id=delivery.key_arn),
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
                Stages(
                    Name="Validate",
                    Actions=[
                        _build_action("Validate", projects["Validate"], "Source"),
                        # After the checks pass: only a validated commit's image is pushed.
                        _build_action(image.STAGE, projects[image.STAGE], "Source", image.STAGE, run_order=2),
                    ],
                ),
                Stages(Name="Plan", Actions=[_build_action("Plan", projects["Plan"], "Source", "Planned")]),
                _approval_stage(delivery),
                Stages(Name="Apply", Actions=[_build_action("Apply", projects["Apply"], "Planned")]),
                Stages(Name="SmokeTest", Actions=[_build_action("SmokeTest", projects["SmokeTest"], "Planned")]),
            ],
            **extra,
        )
    )
