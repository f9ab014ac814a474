"""The `pipectl-delivery` stack: the CodePipeline that validates, plans, waits for review, applies and tests.

Source -> Validate -> Plan -> Approve -> Apply -> SmokeTest, started by a git push to the branch
(filtered to the files that change what is deployed) and once a day by an EventBridge Scheduler
schedule. Every stage but Approve runs `buildspec.yml` in its own CodeBuild project, selected by
PIPECTL_STAGE; the pipeline variable RUN (`push`, or `nightly` from the schedule) reaches the builds
as PIPECTL_RUN. The Plan build exports PIPECTL_APPROVAL: `required` whenever the plan changes a stack
outside the nightly environment (prod, the console), so prod changes always wait for a person while
the nightly `test` run goes through; only `not-required` skips the Approve stage (a V2 stage condition).
CloudFormation deploys with the execution role; the Plan/Apply role may only pass it.

One module per part of a run: `shared` (the key, artifact bucket and topic every part uses),
`execution` (the role CloudFormation deploys with), `builds` (a CodeBuild project and role per stage),
`image` (the collector's ECR repository and the build that pushes its image, before Plan),
`pipeline` (source, stages, approval) and `triggers` (push rule, nightly schedule, notifications).
"""

from __future__ import annotations

from troposphere import Output, Ref, Sub, Template

from generator.stacks import common
from generator.stacks.common import add_output
from generator.stacks.delivery import builds, execution, image, pipeline, shared, triggers
from generator.stacks.delivery.spec import (
    BUILD_STAGES,
    DEFAULT_BRANCH,
    DEFAULT_SCHEDULE,
    NIGHTLY_ENV,
    PIPELINE_NAME,
    STACK,
    TRIGGER_PATHS,
    CodeCommitSource,
    ConnectionSource,
    DeliverySpec,
    project_name,
)

__all__ = [
    "BUILD_STAGES",
    "DEFAULT_BRANCH",
    "DEFAULT_SCHEDULE",
    "NIGHTLY_ENV",
    "PIPELINE_NAME",
    "STACK",
    "TRIGGER_PATHS",
    "CodeCommitSource",
    "ConnectionSource",
    "DeliverySpec",
    "build_delivery",
    "project_name",
]


def build_delivery(spec: DeliverySpec) -> Template:
    """The delivery pipeline and everything it needs, in the order a reader follows a run."""
    template = common.new_template(_description(spec))
    delivery = shared.add_shared(template, spec)
    role = execution.add_execution_role(delivery)
    projects = builds.add_projects(delivery, role)
    projects[image.STAGE] = image.add_image_project(delivery, image.add_repository(delivery))
    source_arn = pipeline.add_source(delivery)
    built = pipeline.add_pipeline(delivery, projects, source_arn)
    triggers.add_triggers(delivery, source_arn)
    add_output(template, STACK, "PipelineName", Ref(built), "The delivery pipeline")
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
        f"pipectl delivery: {source}@{spec.branch} -> Validate (and the collector image) -> Plan -> Approve -> "
        "Apply -> SmokeTest, "
        f"on push and on {spec.schedule} (nightly {NIGHTLY_ENV} run)"
    )
