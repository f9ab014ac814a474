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
