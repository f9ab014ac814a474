"""Silent acceptance becomes a clear error: exit 2 and a message naming the valid choices."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.cli import main
from generator.deploy.aws import Aws
from tests.deploy.conftest import REGION, Build


@pytest.fixture
def tiny(aws: Aws, build: Build, moto_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    monkeypatch.chdir(tmp_path)
    build.root = tmp_path / "build"
    build.pipeline("tiny", kinds=("storage",))
    build.write()
    return ["--target", "aws", "--region", REGION, "--build-dir", "build"]


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
