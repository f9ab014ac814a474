"""One CodeBuild project per build stage, each with its own log group and the role its stage needs."""

from __future__ import annotations

from typing import Any

from troposphere import GetAtt, ImportValue, Ref, Sub
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
from troposphere.iam import Policy as InlinePolicy
from troposphere.iam import Role

from generator.policy import builds as policy
from generator.policy import delivery as trust
from generator.stacks import common
from generator.stacks.common import CONSOLE_STACK, export_name
from generator.stacks.delivery.held_buildspec import held_buildspec
from generator.stacks.delivery.shared import Delivery
from generator.stacks.delivery.spec import (
    BUILD_IMAGE,
    BUILD_LOG_RETENTION_DAYS,
    BUILD_STAGES,
    NIGHTLY_ENV,
    project_name,
)

PUSHED = ("Validate", "Plan")
"""The stages that run the pushed commit's buildspec.yml; the others run what this template holds."""
# Stage -> what its role may do, as the role's description says it.
PURPOSES = {
    "Validate": "runs the tests, cfn-lint and synth; touches no stack",
    "SmokeTest": "reads pipectl stacks, runs their state machines, reads their dashboards",
    "Plan": "creates change sets of pipectl-* stacks with the execution role; executes none",
    "Apply": "executes the approved change sets of pipectl-* stacks; runs the commands this stack holds",
}


def add_projects(delivery: Delivery, execution: Role) -> dict[str, Project]:
    """Every build stage's project, by stage name."""
    return {stage: _project(delivery, stage, execution) for stage in BUILD_STAGES}


def _build_role(delivery: Delivery, stage: str, group: Any, execution: Role) -> Role:
    bucket, key = delivery.bucket_arn, delivery.key_arn
    if stage == "Validate":
        document = policy.validate_role(bucket, key, group, project_name(stage))
    elif stage == "SmokeTest":
        document = policy.smoke_role(bucket, key, group)
    else:
        table = ImportValue(export_name(CONSOLE_STACK, "StateTableArn"))
        role = policy.apply_role if stage == "Apply" else policy.plan_role
        document = role(bucket, key, group, table, GetAtt(execution, "Arn"))
    return delivery.template.add_resource(
        Role(
            f"{stage}BuildRole",
            Description=f"CodeBuild {project_name(stage)}: {PURPOSES[stage]}",
            AssumeRolePolicyDocument=trust.service_trust(
                "codebuild.amazonaws.com", common.arn("codebuild", f"project/{project_name(stage)}")
            ),
            Policies=[InlinePolicy(PolicyName=f"{stage.lower()}-stage", PolicyDocument=document)],
        )
    )


def _project(delivery: Delivery, stage: str, execution: Role) -> Project:
    """One CodeBuild project per stage: Validate and Plan run buildspec.yml with PIPECTL_STAGE set,
    Apply and SmokeTest the buildspec this template holds."""
    name = project_name(stage)
    group = common.log_group(
        delivery.template,
        f"{stage}BuildLogGroup",
        f"/aws/codebuild/{name}",
        BUILD_LOG_RETENTION_DAYS,
        delivery.key_arn,
        True,
    )
    role = _build_role(delivery, stage, GetAtt(group, "Arn"), execution)
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
    return delivery.template.add_resource(
        Project(
            f"{stage}Project",
            Name=name,
            Description=f"pipectl delivery, stage {stage}: "
            + (f"buildspec.yml with PIPECTL_STAGE={stage}" if stage in PUSHED else "commands held in this stack"),
            Source=Source(
                Type="CODEPIPELINE",
                BuildSpec="buildspec.yml"
                if stage in PUSHED
                else held_buildspec(stage, delivery.spec.pipectl_requirement),
            ),
            Artifacts=Artifacts(Type="CODEPIPELINE"),
            Environment=BuildEnvironment(
                Type="LINUX_CONTAINER",
                ComputeType="BUILD_GENERAL1_SMALL" if stage != "Validate" else "BUILD_GENERAL1_MEDIUM",
                Image=BUILD_IMAGE,
                ImagePullCredentialsType="CODEBUILD",
                EnvironmentVariables=variables,
            ),
            ServiceRole=GetAtt(role, "Arn"),
            EncryptionKey=delivery.key_arn,
            Cache=ProjectCache(Type="S3", Location=Sub(f"${{ArtifactBucket}}/cache/{stage.lower()}")),
            LogsConfig=LogsConfig(CloudWatchLogs=CloudWatchLogs(Status="ENABLED", GroupName=Ref(group))),
            TimeoutInMinutes=60,
            QueuedTimeoutInMinutes=60,
        )
    )
