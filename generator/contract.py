"""Facts every layer shares: the spec, the stack builders, the controller and the local target.

Each fact lives here once; the layers import it and never retype it. The module sits at the bottom of
the package and imports nothing from it, so every stage may import it without reaching up the chain.
Lambda code deployed as assets cannot import the package: `generator.stacks.assets` renders the
values such code imports from here into the zipped source at synth.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class StackKind(StrEnum):
    """What a stack holds; the `pipectl:kind` tag and the last part of a pipeline stack's name."""

    STORAGE = "storage"
    INGESTION = "ingestion"
    PROCESSING = "processing"
    MONITORING = "monitoring"
    CONSOLE = "console"
    DELIVERY = "delivery"
    BOOTSTRAP = "bootstrap"


PIPELINE_KINDS: Final = (StackKind.STORAGE, StackKind.INGESTION, StackKind.PROCESSING, StackKind.MONITORING)
"""The stacks of one pipeline in one environment, in manifest order."""
CONTROL_KINDS: Final = (StackKind.CONSOLE, StackKind.DELIVERY)
"""The control-plane stacks, one of each per installation."""
PROTECTED_KINDS: Final = frozenset({StackKind.CONSOLE, StackKind.STORAGE, StackKind.DELIVERY})
"""Stacks whose loss would lose data: termination protection when their data is retained."""

STACK_PREFIX: Final = "pipectl-"
"""Every stack pipectl deploys is named `pipectl-...`; the execution role is scoped to that prefix."""
CONSOLE_STACK: Final = f"{STACK_PREFIX}{StackKind.CONSOLE}"
DELIVERY_STACK: Final = f"{STACK_PREFIX}{StackKind.DELIVERY}"
BOOTSTRAP_STACK: Final = f"{STACK_PREFIX}{StackKind.BOOTSTRAP}"
"""Per account and region: the template and asset bucket that deploys into that account need."""
CONTROL_STACKS: Final = {CONSOLE_STACK: StackKind.CONSOLE, DELIVERY_STACK: StackKind.DELIVERY}


def pipeline_stack_name(pipeline: str, env: str, kind: StackKind) -> str:
    """`pipectl-<pipeline>-<env>-<kind>`: part of the user interface, never changes for a pipeline."""
    return f"{STACK_PREFIX}{pipeline}-{env}-{kind}"


def export_name(stack: str, output: str) -> str:
    """Every stack exports its outputs as `<stack>:<output>`, so an export names the stack that owns it."""
    return f"{stack}:{output}"


def exporting_stack(name: str) -> str | None:
    """The stack an export name `<stack>:<output>` belongs to; None for a name of another shape."""
    stack, colon, output = name.partition(":")
    return stack if colon and stack.startswith(STACK_PREFIX) and output and ":" not in output else None


class Tag(StrEnum):
    """Stack tags: who a stack belongs to, what it holds, and what built it."""

    PIPELINE = "pipectl:pipeline"
    ENV = "pipectl:env"
    KIND = "pipectl:kind"
    OWNER = "pipectl:owner"
    MANAGED_BY = "pipectl:managed-by"
    SPEC_HASH = "pipectl:spec-hash"
    """The manifest's hash of template, parameters and tags: plan compares it with the deployed stack's."""
    REVISION = "pipectl:revision"
    """The commit a stack was deployed from."""
    STANDS_IN_FOR = "pipectl:stands-in-for"
    """On the local target: the real-account resource a stand-in replaces."""


MANAGED_BY: Final = "pipectl"
"""The value of the `pipectl:managed-by` tag on every stack pipectl deploys."""

STATEFUL_TYPES: Final = frozenset(
    {
        "AWS::S3::Bucket",
        "AWS::DynamoDB::Table",
        "AWS::Kinesis::Stream",
        "AWS::KMS::Key",
        "AWS::Logs::LogGroup",
        "AWS::Cognito::UserPool",
        "AWS::CodeCommit::Repository",
        "AWS::ECR::Repository",
    }
)
"""Resource types that hold data or identities: retained (policy rule E9008), guarded by the stack policy,
flagged in plan.md when replaced or removed, and listed before a stack is deleted."""

TELEMETRY_NAMESPACE: Final = "pipectl"
"""CloudWatch namespace of pipectl's own metrics: the controller publishes, the dashboards read."""


class TelemetryMetric(StrEnum):
    """pipectl's own metrics (generator/deploy/telemetry.py), with dimensions Pipeline and Environment."""

    STACKS_CHANGED = "StacksChanged"
    STACKS_FAILED = "StacksFailed"
    APPLY_DURATION = "ApplyDuration"
    CHANGE_SETS_AWAITING_APPROVAL = "ChangeSetsAwaitingApproval"
    DRIFTED_STACKS = "DriftedStacks"


# The state table (layout: generator/stacks/console.py), written by the controller and the recorder.
STATE_TABLE_OUTPUT: Final = "StateTableName"
"""The console stack's output naming the state table."""
CONTROL_PIPELINE: Final = "_control"
"""Pipeline and environment under which the state table files the control-plane stacks (console, delivery),
and the pipeline and environment of their progress lines and metrics. No pipeline file can take this name."""
CONTROL_ENV: Final = "_control"
KEY_SEPARATOR: Final = "#"
PIPELINE_PK_PREFIX: Final = "PIPELINE#"
STACK_SK_PREFIX: Final = "STACK#"
RUN_PREFIX: Final = "RUN#"
META_SK: Final = "META"
DELIVERY_PK: Final = "DELIVERY"
EXECUTION_SK_PREFIX: Final = "EXEC#"
EXECUTION_START_SK_PREFIX: Final = "EXECID#"
LOCK_PK: Final = "LOCK"
LOCK_SK: Final = "deploy"
ENV_SK_PREFIX: Final = "ENV#"
CONSOLE_PK: Final = "CONSOLE"
ACCESS_SK: Final = "ACCESS"
"""The group mapping of `_console.yaml` (admins_group, groups: group -> pipelines), written by the controller."""
CONSOLE_ACCESS_METADATA: Final = "pipectl:console-access"
"""The console template's Metadata key holding that mapping: the controller reads it from build/ and writes it."""
CONSOLE_SITE_METADATA: Final = "pipectl:console-site"
"""The console template's Metadata key naming the app's asset and the site bucket prefix CloudFront serves."""
CONSOLE_SITE_BUCKET: Final = "pipectl-console-site-${AWS::AccountId}-${AWS::Region}"
"""The console app's bucket (a Sub): the console stack creates it, the deploying roles publish into it."""
APPROVAL_SK_PREFIX: Final = "APPROVAL#"
APPROVAL_WAITING: Final = "STARTED"
"""CodePipeline's state of a manual approval action that waits for a person."""
BY_SORT_KEY_INDEX: Final = "BySortKey"
FEED_INDEX: Final = "ByFeed"
"""The index (partition `feed`, sort `feed_sk`) the console reads lists from in one request per page:
every pipeline item (feed PIPELINE, `<pipeline>`), environment item (feed ENV, `<pipeline>#<env>`) and
run item of a pipeline (feed RUN, `<started_at>#<run_id>`). A constant partition per feed is enough: these
items are written a few times an hour, far below one partition's thousand writes a second."""
FEED_ATTRIBUTE: Final = "feed"
FEED_SORT_ATTRIBUTE: Final = "feed_sk"
PIPELINE_FEED: Final = "PIPELINE"
ENV_FEED: Final = "ENV"
RUN_FEED: Final = "RUN"
LAYOUT_SK: Final = "LAYOUT"
"""CONSOLE / LAYOUT: the version of the table layout the items follow (the controller upgrades older items)."""
LAYOUT_VERSION: Final = 2
"""2: pipeline, run and environment items carry the feed keys."""
CONSOLE_LIMITS: Final = {
    "pipelines": 1000,
    "pipelines_page_default": 50,
    "pipelines_page_max": 100,
    "page_environments": 1000,
    "runs_default": 20,
    "runs_max": 100,
    "stacks": 500,
    "environments": 50,
    "approvals": 100,
    "filter_pipelines_max": 100,
}
"""Items the console API returns at most per query: the AppSync resolvers and the local console both apply them."""
RUN_CHANGED_RESULTS: Final = ("done", "create", "update", "create-after", "update-after", "delete")
"""Per-stack results of a run (apply outcomes, plan actions) that count as a change in the console."""
RUN_FAILED_RESULTS: Final = ("failed", "error")
COGNITO_GROUPS_CLAIM: Final = "cognito:groups"
"""The ID token claim listing a Cognito user's groups; with OIDC, `_console.yaml` names the claim."""
CLOUDFRONT_CERTIFICATE_REGION: Final = "us-east-1"
"""CloudFront serves certificates of ACM in this region only."""

ASSETS_DIR: Final = "assets"
"""Under build/: content-addressed files (Lambda code zips) named `<sha256>.<ext>`."""
ASSET_KEY_PREFIX: Final = "assets/"
"""Object keys of assets in the template and asset bucket: `assets/<sha256>.<ext>`."""
ASSET_BUCKET_PARAMETER: Final = "AssetBucket"
"""A template that declares this parameter has it filled by the controller with the bucket's name."""
TEMPLATE_KEY_PREFIX: Final = "pipectl/templates/"
"""Object keys of templates sent by TemplateURL: `pipectl/templates/<stack>/<sha256>.json` (expired by lifecycle)."""
TEMPLATE_BUCKET_OUTPUT: Final = "TemplateBucketName"
"""The bootstrap stack's output (and `<stack>:<output>` export) naming the template and asset bucket."""

MAX_TEMPLATE_BODY: Final = 51_200
"""Bytes CloudFormation accepts inline as TemplateBody; larger templates go through S3."""
MAX_TEMPLATE_URL_BODY: Final = 1_000_000
"""Bytes CloudFormation accepts for a template read from S3 by TemplateURL."""

# The collector image: built by the delivery pipeline from collector/, run by the ingestion stacks by digest.
COLLECTOR_REPOSITORY: Final = "pipectl/collector"
"""The ECR repository the delivery stack holds (and the local target stands in) for the collector image."""
COLLECTOR_IMAGE_PARAMETER: Final = "CollectorImage"
"""The ingestion template's parameter naming the image its task runs. Its default is the image synth was
given; without one it has none, so nothing deploys until the delivery pipeline's image build names it
(the local target stands in an image it pushes to its own registry)."""
IMAGE_DIGEST_REFERENCE: Final = r"^[a-z0-9][a-z0-9.-]*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)+@sha256:[0-9a-f]{64}$"
"""`REPOSITORY@sha256:DIGEST`: an image named by its content, as the delivery pipeline's build writes it."""
IMAGE_PINNED_REFERENCE: Final = r"^[^\s@]+(@sha256:[0-9a-f]{64}|:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})$"
"""What a template accepts as the collector image: a digest, or an explicit tag (the spec refuses `latest`)."""
