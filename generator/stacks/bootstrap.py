"""Bootstrap's synth: the control-plane stacks under `build/bootstrap/`, with their own manifest.

`pipectl-bootstrap` (the template and asset bucket, one per region the installation uses),
`pipectl-console` (state table, API, recorder) and `pipectl-delivery` (the CodePipeline) are created
once per installation. This writes them (delivery depends on console; the bootstrap stack is the
manifest's `bootstrap` section, deployed first) with the console's Lambda code under
`build/bootstrap/assets/`, so the folder is complete on its own; generator/deploy/bootstrap.py then
plans and applies that manifest like any other. The console stack synthesized here is the one
`pipectl synth` produces, so the pipeline's own runs find it in sync.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

from generator.contract import StackKind
from generator.spec.loader import Installation, load_directory
from generator.spec.models import ConsoleAuthCognito, ConsoleAuthOidc, ConsoleSpec
from generator.stacks.delivery import (
    DEFAULT_BRANCH,
    DEFAULT_SCHEDULE,
    STACK,
    CodeCommitSource,
    ConnectionSource,
    DeliverySpec,
    build_delivery,
)
from generator.stacks.synth import (
    BucketBuild,
    StackBuild,
    bootstrap_build,
    build_all,
    check_dependencies,
    console_region,
    control_tags,
    manifest_text,
    stack_build,
    write_assets,
)

BOOTSTRAP_DIR = "bootstrap"
DELIVERY_TEMPLATE = "delivery.json"

CODECOMMIT_NAME = re.compile(r"^[\w.-]{1,100}$")
CONNECTION_ARN = re.compile(
    r"^arn:aws(-cn|-us-gov)?:(codestar-connections|codeconnections):[a-z0-9-]+:\d{12}:connection/[0-9a-f-]{36}$"
)
REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+$")
BRANCH = re.compile(r"^(?![/.-])(?!.*(\.\.|//|@\{|\.lock$|/$|\.$))[A-Za-z0-9._/-]{1,200}$")
SCHEDULE = re.compile(r"^(rate\(\s*\d+\s+(minute|minutes|hour|hours|day|days)\s*\)|cron\([^)]+\))$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
HTTPS_URL = re.compile(r"^https://[^\s/]+(/[^\s]*)?$")
CLIENT_ID = re.compile(r"^[\w.:/@-]{1,256}$")


class BootstrapInputError(ValueError):
    """A bootstrap option that cannot work; the message names the option, what it expects and what it got."""


@dataclass(frozen=True)
class BootstrapRequest:
    """The options of `pipectl bootstrap`, as given on the command line."""

    codecommit: str | None = None
    connection_arn: str | None = None
    repository: str | None = None
    branch: str = DEFAULT_BRANCH
    schedule: str = DEFAULT_SCHEDULE
    approvers: tuple[str, ...] = ()
    no_approvers: bool = False
    auth: str | None = None
    issuer: str | None = None
    client_id: str | None = None


@dataclass(frozen=True)
class BootstrapBuild:
    """What bootstrap wrote: the folder, its manifest's stacks, and notes for the person running it.

    `bucket` is the bootstrap stack (template and asset bucket), deployed in each of its regions first.
    """

    directory: Path
    builds: tuple[StackBuild, ...]
    notes: tuple[str, ...]
    bucket: BucketBuild


def _expect(ok: bool, option: str, expected: str, found: str | None) -> None:
    if not ok:
        raise BootstrapInputError(
            f"{option}: expected {expected}, found {found!r}" if found is not None else f"{option}: expected {expected}"
        )


def delivery_spec(request: BootstrapRequest) -> DeliverySpec:
    """Check the source, branch, schedule and approvers; the first mistake is reported."""
    if bool(request.codecommit) == bool(request.connection_arn):
        raise BootstrapInputError(
            "source: expected either --codecommit NAME or --connection-arn ARN --repository OWNER/NAME"
        )
    source: CodeCommitSource | ConnectionSource
    if request.codecommit:
        _expect(request.repository is None, "--repository", "no value with --codecommit", request.repository)
        name = request.codecommit
        _expect(
            bool(CODECOMMIT_NAME.match(name)) and not name.endswith(".git"),
            "--codecommit",
            "a repository name (letters, digits, . _ -, up to 100, not ending in .git)",
            name,
        )
        source = CodeCommitSource(name)
    else:
        arn = str(request.connection_arn)
        _expect(
            bool(CONNECTION_ARN.match(arn)),
            "--connection-arn",
            "arn:aws:codeconnections:REGION:ACCOUNT:connection/UUID",
            arn,
        )
        _expect(request.repository is not None, "--repository", "OWNER/NAME with --connection-arn", None)
        _expect(bool(REPOSITORY.match(str(request.repository))), "--repository", "OWNER/NAME", request.repository)
        source = ConnectionSource(arn, str(request.repository))
    _expect(bool(BRANCH.match(request.branch)), "--branch", "a git branch name", request.branch)
    _expect(
        bool(SCHEDULE.match(request.schedule)),
        "--schedule",
        "an EventBridge Scheduler expression such as cron(0 3 * * ? *) or rate(1 day)",
        request.schedule,
    )
    _expect(
        not (request.approvers and request.no_approvers),
        "--no-approvers",
        "it only without --approvers",
        " ".join(request.approvers),
    )
    _expect(
        bool(request.approvers) or request.no_approvers,
        "--approvers",
        "the e-mail addresses asked to approve production plans, or --no-approvers to approve in the console "
        "only (nobody is e-mailed)",
        None,
    )
    for email in request.approvers:
        _expect(bool(EMAIL.match(email)), "--approvers", "e-mail addresses", email)
    return DeliverySpec(source, request.branch, request.schedule, tuple(dict.fromkeys(request.approvers)))


def console_spec(console: ConsoleSpec, request: BootstrapRequest) -> ConsoleSpec:
    """`_console.yaml`'s console, with --auth (and its issuer and client id) in place of its sign-in."""
    if request.auth is None:
        _expect(
            request.issuer is None and request.client_id is None,
            "--issuer/--client-id",
            "them only with --auth oidc",
            request.issuer or request.client_id,
        )
        return console
    if request.auth == "cognito":
        _expect(
            request.issuer is None and request.client_id is None,
            "--issuer/--client-id",
            "them only with --auth oidc, not --auth cognito",
            request.issuer or request.client_id,
        )
        return console.model_copy(update={"auth": ConsoleAuthCognito(type="cognito")})
    _expect(request.auth == "oidc", "--auth", "cognito or oidc", request.auth)
    _expect(request.issuer is not None, "--issuer", "the OpenID Connect issuer URL with --auth oidc", None)
    _expect(bool(HTTPS_URL.match(str(request.issuer))), "--issuer", "an https:// URL", request.issuer)
    _expect(request.client_id is not None, "--client-id", "the OpenID Connect client id with --auth oidc", None)
    _expect(bool(CLIENT_ID.match(str(request.client_id))), "--client-id", "a client id", request.client_id)
    auth = ConsoleAuthOidc(type="oidc", issuer=str(request.issuer), client_id=str(request.client_id))
    return console.model_copy(update={"auth": auth, "admin_email": None})


def synthesize_bootstrap(pipelines_dir: Path, build_dir: Path, request: BootstrapRequest) -> BootstrapBuild:
    """Write `<build_dir>/bootstrap/`: console.json, delivery.json and their manifest. Nothing is deployed."""
    delivery = delivery_spec(request)
    installation = load_directory(pipelines_dir, str(pipelines_dir).rstrip("/"))
    region = console_region(installation)
    console = console_spec(installation.console, request).model_copy(update={"region": region})
    delivery = replace(delivery, hosted_zones=tuple(console.hosted_zones))
    notes = _override_notes(installation.console, console, pipelines_dir)
    console_build = build_all(Installation((), console, ()))[0]
    builds = (console_build, _delivery_build(delivery, region))
    check_dependencies(builds)
    bucket = bootstrap_build([region, *(p.spec.region for p in installation.pipelines)])
    directory = build_dir / BOOTSTRAP_DIR
    _write(directory, builds, bucket)
    return BootstrapBuild(directory, builds, notes, bucket)


def _override_notes(written: ConsoleSpec, used: ConsoleSpec, pipelines_dir: Path) -> tuple[str, ...]:
    if written.auth == used.auth:
        return ()
    return (
        f"note: {pipelines_dir}/_console.yaml says auth {written.auth.type}, bootstrap deploys "
        f"auth {used.auth.type}: put the same auth in _console.yaml and push it, or the next pipeline run "
        "changes the console back",
    )


def _delivery_build(spec: DeliverySpec, region: str) -> StackBuild:
    """The delivery stack's manifest entry: after the console, as its import of the state table's ARN says."""
    tags = control_tags(StackKind.DELIVERY)
    return stack_build(STACK, StackKind.DELIVERY, build_delivery(spec), DELIVERY_TEMPLATE, region, tags, None, True)


def _write(directory: Path, builds: tuple[StackBuild, ...], bucket: BucketBuild) -> None:
    """Templates, their assets (under this folder's own assets/, as the manifest's paths say) and manifest."""
    directory.mkdir(parents=True, exist_ok=True)
    write_assets(directory, builds)
    (directory / bucket.entry.template).write_text(bucket.text, encoding="utf-8")
    for build in builds:
        (directory / build.entry.template).write_text(build.text, encoding="utf-8")
    (directory / "manifest.json").write_text(manifest_text(list(builds), bucket), encoding="utf-8")
