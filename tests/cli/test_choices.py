"""Silent acceptance becomes a clear error: exit 2 and a message naming the valid choices."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.cli import main
from generator.deploy.aws import Aws
from tests.deploy.conftest import REGION, Build


@pytest.fixture
def tiny(aws: Aws, build: Build, aws_target: list[str]) -> list[str]:
    build.pipeline("tiny", kinds=("storage",))
    build.write()
    return aws_target


def test_an_unknown_environment(tiny: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for command in (["plan", "--no-synth"], ["apply", "--auto-approve", "--no-synth"]):
        assert main([*command, *tiny, "--env", "staging"]) == 2
        err = capsys.readouterr().err
        assert "--env: no environment named 'staging' in the pipeline files; expected one of: test" in err
    assert not (tmp_path / "plan.json").exists()


def test_status_of_an_unknown_pipeline(tiny: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "NOSUCH", *tiny]) == 2
    assert "status: no pipeline named 'NOSUCH'; expected one of: tiny" in capsys.readouterr().err
    assert main(["status", "tiny", *tiny]) == 0  # known but not deployed: its stacks, NOT_DEPLOYED


def test_missing_aws_credentials_say_what_to_do(
    aws: Aws, build: Build, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    build.root = tmp_path / "build"
    build.pipeline("tiny", kinds=("storage",))
    build.write()
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name in ("AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"):
        monkeypatch.delenv(name, raising=False)
    assert main(["status", "--target", "aws", "--region", REGION, "--build-dir", "build"]) == 3
    err = capsys.readouterr().err
    assert "Unable to locate credentials" in err
    assert "--profile NAME" in err and "AWS_ACCESS_KEY_ID" in err and "aws sso login" in err


def test_status_shows_collector_dns_target_dashboard_and_outputs(
    aws: Aws, build: Build, tiny: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    from generator.deploy.apply import apply_now

    outputs = build.stacks["pipectl-tiny-test-storage"]["template"]["Outputs"]
    outputs["CollectorEndpoint"] = {"Value": "https://c.example.com/collect"}
    outputs["LoadBalancerDnsName"] = {"Value": "pipectl-lb-1.eu-west-1.elb.amazonaws.com"}
    outputs["DashboardName"] = {"Value": "pipectl-tiny-test"}
    assert apply_now(aws, build.write(), "one")[1].ok
    capsys.readouterr()
    assert main(["status", "tiny", "--outputs", *tiny]) == 0
    out = capsys.readouterr().out
    assert "collector: https://c.example.com/collect" in out
    assert "point DNS at: pipectl-lb-1.eu-west-1.elb.amazonaws.com" in out
    url = "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#dashboards/dashboard/pipectl-tiny-test"
    assert f"dashboard: {url}" in out
    assert "outputs of tiny" in out and "    DataBucketName = tiny-test-data" in out
