"""pipectl bootstrap: bad options end in one line and exit code 2 with nothing written; --dry-run writes
both control-plane stacks; against the local target both stacks are really created, through the same
plan/apply code as every stack, and a template the local target cannot create is refused first."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from generator.cli import main
from generator.contract import MAX_TEMPLATE_BODY
from generator.deploy.aws import Aws
from generator.deploy.bootstrap import deploy_bootstrap
from generator.deploy.deployed import read_deployed
from generator.deploy.manifest import load_manifest
from generator.deploy.targets import UnsupportedLocally
from generator.deploy.uploads import compact
from generator.spec.loader import load_directory
from generator.stacks.bootstrap import BootstrapRequest, synthesize_bootstrap
from generator.stacks.synth import build_all

REPO = Path(__file__).resolve().parents[2]
CONNECTION = "arn:aws:codeconnections:eu-west-1:123456789012:connection/0f0e0d0c-0b0a-4908-8706-050403020100"


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory holding the shipped pipeline files, as a user's repository would."""
    shutil.copytree(REPO / "pipelines.d", tmp_path / "pipelines.d")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "source: expected either --codecommit NAME or --connection-arn ARN --repository OWNER/NAME"),
        (["--codecommit", "a", "--connection-arn", CONNECTION], "source: expected either"),
        (
            ["--connection-arn", "arn:aws:s3:::bucket", "--repository", "acme/pipes"],
            "--connection-arn: expected arn:aws:codeconnections:REGION:ACCOUNT:connection/UUID, found 'arn:aws:s3:::bucket'",
        ),
        (["--connection-arn", CONNECTION], "--repository: expected OWNER/NAME with --connection-arn"),
        (
            ["--connection-arn", CONNECTION, "--repository", "no-owner"],
            "--repository: expected OWNER/NAME, found 'no-owner'",
        ),
        (["--codecommit", "bad name"], "--codecommit: expected a repository name"),
        (["--codecommit", "cfg", "--branch", "a..b"], "--branch: expected a git branch name, found 'a..b'"),
        (["--codecommit", "cfg", "--schedule", "daily"], "--schedule: expected an EventBridge Scheduler expression"),
        (
            ["--codecommit", "cfg"],
            "--approvers: expected the e-mail addresses asked to approve production plans, "
            "or --no-approvers to approve in the console only (nobody is e-mailed)",
        ),
        (
            ["--codecommit", "cfg", "--approvers", "ops@example.com", "--no-approvers"],
            "--no-approvers: expected it only without --approvers, found 'ops@example.com'",
        ),
        (
            ["--codecommit", "cfg", "--approvers", "ops@example.com", "not-an-email"],
            "--approvers: expected e-mail addresses, found 'not-an-email'",
        ),
        (
            ["--codecommit", "cfg", "--no-approvers", "--auth", "oidc"],
            "--issuer: expected the OpenID Connect issuer URL with --auth oidc",
        ),
        (
            [
                "--codecommit",
                "cfg",
                "--no-approvers",
                "--auth",
                "oidc",
                "--issuer",
                "http://login.example.com",
                "--client-id",
                "x",
            ],
            "--issuer: expected an https:// URL, found 'http://login.example.com'",
        ),
        (
            ["--codecommit", "cfg", "--no-approvers", "--auth", "oidc", "--issuer", "https://login.example.com"],
            "--client-id: expected the OpenID Connect client id with --auth oidc",
        ),
        (
            ["--codecommit", "cfg", "--no-approvers", "--auth", "cognito", "--issuer", "https://login.example.com"],
            "--issuer/--client-id: expected them only with --auth oidc, not --auth cognito",
        ),
    ],
)
def test_bad_options_are_one_line_exit_2_and_write_nothing(
    checkout: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(["bootstrap", "--dry-run", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"pipectl: {message}")
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert not (checkout / "build").exists()


def test_a_bad_pipeline_file_is_located_and_nothing_is_written(
    checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shop = checkout / "pipelines.d" / "shop.yaml"
    shop.write_text(shop.read_text() + "unknown_key: 1\n")
    assert main(["bootstrap", "--dry-run", "--codecommit", "cfg", "--no-approvers"]) == 2
    assert "pipelines.d/shop.yaml:" in capsys.readouterr().err
    assert not (checkout / "build").exists()


def test_dry_run_writes_both_stacks_and_their_manifest_only(checkout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bootstrap", "--dry-run", "--codecommit", "cfg", "--approvers", "ops@example.com"]) == 0
    folder = checkout / "build" / "bootstrap"
    written = sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))  # .lint-cache: lint's own
    assert written == ["assets", "bootstrap.json", "console.json", "delivery.json", "manifest.json"]
    manifest = load_manifest(folder)
    assert manifest.names == ("pipectl-console", "pipectl-delivery")
    assert manifest.bootstrap is not None and manifest.bootstrap.name == "pipectl-bootstrap"
    assert manifest.bootstrap.template == "bootstrap.json" and "eu-west-1" in manifest.bootstrap.regions
    assert manifest["pipectl-delivery"].depends_on == ("pipectl-console",)
    assert manifest["pipectl-delivery"].termination_protection
    assert "nothing was deployed" in capsys.readouterr().out
    delivery = json.loads((folder / "delivery.json").read_text())
    assert delivery["Resources"]["SourceRepository"]["Properties"]["RepositoryName"] == "cfg"


def test_the_console_is_byte_for_byte_what_synth_deploys(checkout: Path) -> None:
    """Otherwise the pipeline's first run would update the console bootstrap just created."""
    built = synthesize_bootstrap(
        Path("pipelines.d"), Path("build"), BootstrapRequest(codecommit="cfg", no_approvers=True)
    )
    synthesized = build_all(load_directory(Path("pipelines.d")))[0]
    assert built.builds[0].text == synthesized.text
    assert built.builds[0].entry == synthesized.entry


def test_auth_flags_override_console_yaml_and_say_so(checkout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "bootstrap",
        "--dry-run",
        "--connection-arn",
        CONNECTION,
        "--repository",
        "acme/pipes",
        "--auth",
        "oidc",
        "--issuer",
        "https://login.example.com",
        "--client-id",
        "pipectl-console",
        "--no-approvers",
    ]
    assert main(argv) == 0
    console = json.loads((checkout / "build" / "bootstrap" / "console.json").read_text())
    api = console["Resources"]["GraphQLApi"]["Properties"]
    assert api["AuthenticationType"] == "OPENID_CONNECT"
    assert api["OpenIDConnectConfig"] == {"Issuer": "https://login.example.com", "ClientId": "pipectl-console"}
    assert not any(r["Type"].startswith("AWS::Cognito::") for r in console["Resources"].values())
    assert "_console.yaml says auth cognito, bootstrap deploys auth oidc" in capsys.readouterr().out


def _stacks(aws: Aws) -> dict[str, Any]:
    return {name: stack for name, stack in read_deployed(aws, (aws.target.region,)).items()}


def test_bootstrap_against_the_local_target_creates_both_stacks(aws: Aws, checkout: Path) -> None:
    request = BootstrapRequest(codecommit="pipectl-config", approvers=("ops@example.com",))
    built = synthesize_bootstrap(Path("pipelines.d"), Path("build"), request)
    manifest = load_manifest(built.directory)
    plan, result = deploy_bootstrap(aws, manifest, "r1")
    assert plan.summary().startswith("2 to create") and result.ok, result.stacks
    live = _stacks(aws)
    assert {live[n].status for n in ("pipectl-console", "pipectl-delivery")} == {"CREATE_COMPLETE"}
    assert live["pipectl-delivery"].termination_protection
    region = aws.target.region
    pipeline = aws.client("codepipeline", region).get_pipeline(name="pipectl-delivery")["pipeline"]
    assert [s["name"] for s in pipeline["stages"]] == ["Source", "Validate", "Plan", "Approve", "Apply", "SmokeTest"]
    projects = aws.client("codebuild", region).list_projects()["projects"]
    assert sorted(projects) == [f"pipectl-delivery-{s}" for s in ("apply", "image", "plan", "smoketest", "validate")]
    schedule = aws.client("scheduler", region).get_schedule(Name="pipectl-delivery-nightly")
    assert json.loads(schedule["Target"]["Input"])["variables"] == [{"name": "RUN", "value": "nightly"}]
    parked = schedule["Target"]["DeadLetterConfig"]["Arn"].rsplit(":", 1)[1]
    assert aws.client("sqs", region).get_queue_url(QueueName=parked)["QueueUrl"]
    assert aws.client("codecommit", region).get_repository(repositoryName="pipectl-config")
    assert live["pipectl-delivery"].outputs["PipelineName"] == "pipectl-delivery"
    again, second = deploy_bootstrap(aws, manifest, "r2")
    assert not again.has_changes and second.ok


def test_pipeline_stacks_are_not_orphans_of_bootstrap(aws: Aws, checkout: Path) -> None:
    """Bootstrap's manifest names two stacks; the pipelines deployed beside them are not its to delete."""
    aws.cfn().create_stack(
        StackName="pipectl-shop-test-storage",
        TemplateBody=json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}),
        Tags=[{"Key": "pipectl:pipeline", "Value": "shop"}],
    )
    built = synthesize_bootstrap(
        Path("pipelines.d"), Path("build"), BootstrapRequest(codecommit="cfg", no_approvers=True)
    )
    plan, result = deploy_bootstrap(aws, load_manifest(built.directory), "r1")
    assert [s.name for s in plan.stacks] == ["pipectl-console", "pipectl-delivery"] and result.ok
    assert "pipectl-shop-test-storage" in _stacks(aws)


def test_a_type_the_local_target_cannot_create_is_refused_before_deploying(aws: Aws, checkout: Path) -> None:
    built = synthesize_bootstrap(
        Path("pipelines.d"), Path("build"), BootstrapRequest(codecommit="cfg", no_approvers=True)
    )
    path = built.directory / "delivery.json"
    template = json.loads(path.read_text())
    template["Resources"]["Connection"] = {
        "Type": "AWS::CodeStarConnections::Connection",
        "Properties": {"ConnectionName": "github", "ProviderType": "GitHub"},
    }
    path.write_text(json.dumps(template))
    with pytest.raises(UnsupportedLocally, match="pipectl-delivery: AWS::CodeStarConnections::Connection"):
        deploy_bootstrap(aws, load_manifest(built.directory), "r1")
    assert _stacks(aws) == {}


def test_the_command_deploys_to_the_local_target_and_prints_the_outputs(
    checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """End to end through the CLI: it starts its own embedded AWS for the command, as a user's run does."""
    assert (
        main(["bootstrap", "--target", "local", "--codecommit", "pipectl-config", "--no-approvers", "--revision", "r1"])
        == 0
    )
    out = capsys.readouterr().out
    assert "apply: 2 done" in out
    assert "pipectl-delivery: PipelineConsoleUrl = https://" in out
    assert "pipectl-delivery: RepositoryCloneUrlHttp = https://git-codecommit." in out


def test_bootstrap_creates_the_template_bucket_first_and_delivery_comes_from_it(aws: Aws, checkout: Path) -> None:
    """A delivery template over CloudFormation's inline limit goes by TemplateURL, read from the bucket of
    the bootstrap stack created (inline) just before. Sent compact, the shipped delivery template is
    about 41 KB (87 KB pretty), under the limit: it is padded here past it, as a larger execution-role
    policy would make it. A botocore hook records what CreateChangeSet really sent; the requests still
    reach the local target."""
    sent: list[dict[str, Any]] = []
    aws.cfn().write.meta.events.register(
        "provide-client-params.cloudformation.CreateChangeSet", lambda params, **_: sent.append(dict(params))
    )
    built = synthesize_bootstrap(
        Path("pipelines.d"), Path("build"), BootstrapRequest(codecommit="cfg", no_approvers=True)
    )
    path = built.directory / "delivery.json"
    template = json.loads(path.read_text())
    template["Metadata"]["pad"] = "x" * (MAX_TEMPLATE_BODY - len(compact(path.read_text())) + 1)
    path.write_text(json.dumps(template, indent=2, sort_keys=True))
    assert len(compact(path.read_text())) > MAX_TEMPLATE_BODY
    manifest = load_manifest(built.directory)
    _, result = deploy_bootstrap(aws, manifest, "r1")
    assert result.ok, result.stacks
    assert [p["StackName"] for p in sent] == ["pipectl-bootstrap", "pipectl-console", "pipectl-delivery"]
    first, _, delivery = sent
    assert "TemplateBody" in first and "TemplateURL" not in first
    assert "TemplateBody" not in delivery
    live = _stacks(aws)
    assert live["pipectl-delivery"].status == "CREATE_COMPLETE"
    bucket = live["pipectl-bootstrap"].outputs["TemplateBucketName"]
    assert delivery["TemplateURL"].startswith(
        f"https://{bucket}.s3.{aws.target.region}.amazonaws.com/pipectl/templates/"
    )
    s3 = aws.client("s3")
    encryption = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert encryption["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    # (moto's bucket model applies only encryption and tags: versioning, public access and lifecycle
    # are checked in the template, tests/stacks/test_template_bucket.py.)
    assert s3.get_bucket_policy(Bucket=bucket)["Policy"]
    # A second run changes nothing and uploads nothing.
    sent.clear()
    again, second = deploy_bootstrap(aws, manifest, "r2")
    assert not again.has_changes and second.ok and sent == []
