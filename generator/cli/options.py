"""Options several commands share, each defined once: where the pipeline files and build/ are, which AWS
to talk to, how to plan, lock and replace. A command module picks the groups it needs."""

from __future__ import annotations

import argparse
import os
import re

ROLE_ARN = r"^arn:aws(-cn|-us-gov)?:iam::\d{12}:role/[\w+=,.@/-]{1,512}$"


def pipelines(parser: argparse.ArgumentParser, what: str = "pipeline files") -> None:
    parser.add_argument(
        "--pipelines", "-p", default="pipelines.d", metavar="DIR", help=f"{what} (default: pipelines.d)"
    )


def source(parser: argparse.ArgumentParser) -> None:
    """Where the pipeline files are and where synth writes."""
    pipelines(parser, "directory of pipeline files")
    parser.add_argument("--build-dir", default="build", metavar="DIR", help="where synth writes (default: build)")
    collector_image(parser)


def collector_image(parser: argparse.ArgumentParser) -> None:
    """The image the delivery pipeline built; without it the ingestion templates wait for one (see README)."""
    parser.add_argument(
        "--collector-image",
        metavar="REF|FILE.json",
        default=os.environ.get("PIPECTL_COLLECTOR_IMAGE") or None,
        help="the collector image pipelines run unless their file names another: REPOSITORY@sha256:DIGEST, or "
        "the image build's image.json (default: PIPECTL_COLLECTOR_IMAGE; none: the ingestion templates' "
        "CollectorImage parameter has no default, and only the local target, which stands one in, deploys them)",
    )


def jobs(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--jobs", "-j", type=int, default=None, help=f"parallel {what} workers (default: CPU count)")


def role_arn(value: str) -> str:
    """Checked before anything is written or deployed: CloudFormation would refuse it only at deploy time."""
    if not re.match(ROLE_ARN, value):
        raise argparse.ArgumentTypeError(f"expected arn:aws:iam::ACCOUNT:role/NAME, found {value!r}")
    return value


def target(parser: argparse.ArgumentParser) -> None:
    """Which AWS: --target/--profile/--region/--role-arn (AWS_ENDPOINT_URL is honoured by boto3 itself)."""
    parser.add_argument(
        "--target",
        "-t",
        choices=("local", "aws"),
        default=os.environ.get("PIPECTL_TARGET", "local"),
        help="local: the embedded AWS (default; no account needed); aws: the standard credential "
        "chain, with AWS_ENDPOINT_URL honoured. Default from PIPECTL_TARGET",
    )
    parser.add_argument("--region", help="where the state table lives (default: the console stack's region)")
    parser.add_argument("--profile", help="AWS profile for --target aws")
    parser.add_argument(
        "--role-arn",
        metavar="ARN",
        type=role_arn,
        default=os.environ.get("PIPECTL_CLOUDFORMATION_ROLE_ARN") or None,
        help="the execution role CloudFormation deploys with (the delivery stack's ExecutionRoleArn output); "
        "default PIPECTL_CLOUDFORMATION_ROLE_ARN, else the caller's own rights",
    )
    parser.add_argument("--build-dir", default="build", metavar="DIR", help="synth output (default: build)")
    parser.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text",
        help="json: one JSON object per stack operation on standard error (default: text)",
    )


def revision(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--revision", help="names the change sets and tags the stacks (default: the git commit)")


def template_bucket(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--template-bucket",
        metavar="NAME",
        default=os.environ.get("PIPECTL_TEMPLATE_BUCKET") or None,
        help="S3 bucket (in each stack's region) for templates over 51,200 bytes and Lambda code assets "
        "(default: PIPECTL_TEMPLATE_BUCKET, else the pipectl-bootstrap stack's bucket in that region)",
    )


def planning(parser: argparse.ArgumentParser) -> None:
    """What plan, apply and up share: the revision, one environment, concurrency, where plan files go."""
    revision(parser)
    parser.add_argument(
        "--env", metavar="ENV", help="plan only this environment (and the console), e.g. the nightly run's test"
    )
    parser.add_argument("--concurrency", type=int, default=4, help="stacks worked on at once (default: 4)")
    parser.add_argument("--out", default=".", metavar="DIR", help="where plan.json and plan.md go (default: .)")
    template_bucket(parser)
    collector_image(parser)


def replacing(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--allow-replace",
        action="append",
        default=[],
        metavar="[STACK/]LOGICAL_ID",
        help="allow this run to replace or delete this stateful resource (repeatable): LOGICAL_ID in every "
        "stack, STACK/LOGICAL_ID in that stack only; without it such a plan is refused, and an id the plan "
        "does not change is an error",
    )


def locking(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--lock-timeout",
        type=float,
        default=600.0,
        metavar="SECONDS",
        help="how long to wait for another run's lock (default: 600)",
    )
