"""What the delivery stack is built from: the options bootstrap was given, and the names it fixes."""

from __future__ import annotations

from dataclasses import dataclass, field

from generator.contract import DELIVERY_STACK

STACK = DELIVERY_STACK
PIPELINE_NAME = "pipectl-delivery"
SCHEDULE_NAME = "pipectl-delivery-nightly"
DEFAULT_SCHEDULE = "cron(0 3 * * ? *)"
DEFAULT_BRANCH = "main"
NIGHTLY_ENV = "test"
BUILD_STAGES = ("Validate", "Plan", "Apply", "SmokeTest")
# The files whose change can change what is deployed: a push touching none of them starts no run.
TRIGGER_PATHS = (
    "pipelines.d/**",
    "generator/**",
    "collector/**",
    "templates/**",
    "buildspec.yml",
    "pyproject.toml",
    "setup.py",
)
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
    pipectl_requirement: str = field(default_factory=lambda: f"pipectl=={_installed_version()}")
    """What Apply and SmokeTest install: the pipectl bootstrap ran with, unless told otherwise."""
    hosted_zones: tuple[str, ...] = ()
    """`_console.yaml`'s hosted_zones: the only Route 53 zones the execution role may change records in."""


def _installed_version() -> str:
    from importlib.metadata import version

    return version("pipectl")


def project_name(stage: str) -> str:
    return f"{PIPELINE_NAME}-{stage.lower()}"
