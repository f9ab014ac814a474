"""pipectl run on the AWS target (moto behind AWS_ENDPOINT_URL, as a real account is reached): the
execution is started through boto3, its ARN and console link are printed, `--no-wait` returns at once,
and waiting is bounded. moto never ends an execution by itself, so a wait can only time out here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from generator.cli import main
from generator.deploy.aws import Aws
from tests.deploy.conftest import REGION, Build
from tests.deploy.smoke_stacks import deploy


@pytest.fixture
def on_aws(aws: Aws, build: Build, aws_target: list[str]) -> list[str]:
    deploy(aws, build)
    return aws_target


def test_no_wait_prints_the_execution_and_its_console_link(
    on_aws: list[str], aws: Aws, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "shop", "--no-wait", *on_aws, "--output", "json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["status"] == "RUNNING" and result["env"] == "test" and result["log"] is None
    assert result["console_url"] == (
        f"https://{REGION}.console.aws.amazon.com/states/home?region={REGION}"
        f"#/v2/executions/details/{result['execution_arn']}"
    )
    listed = aws.client("stepfunctions").list_executions(stateMachineArn=result["state_machine_arn"])["executions"]
    assert [e["executionArn"] for e in listed] == [result["execution_arn"]]
    assert main(["run", "shop", "--no-wait", *on_aws]) == 0
    out = capsys.readouterr().out
    assert out.startswith("execution arn:aws:states:") and "console: https://" in out


def test_waiting_is_bounded(on_aws: list[str], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["run", "shop", "--timeout", "0.5", *on_aws]) == 1
    err = capsys.readouterr().err
    assert "timed out after 0.5s waiting for execution pipectl-run-" in err and "Traceback" not in err


def test_what_is_not_deployed_is_a_clean_error(
    on_aws: list[str], aws: Aws, build: Build, capsys: pytest.CaptureFixture[str]
) -> None:
    deploy(aws, build, env="prod", deployed=False)  # in the manifest, not in the account
    assert main(["run", "shop", "--env", "prod", *on_aws]) == 2
    err = capsys.readouterr().err
    assert "pipectl-shop-prod-processing is not deployed on the aws target" in err and "Traceback" not in err
    assert main(["run", "shop", *on_aws, "--no-wait"]) == 0, "without --env: the only environment deployed"
