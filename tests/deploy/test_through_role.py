"""The shipped examples, deployed as the delivery pipeline deploys them: `pipectl bootstrap --target local`,
then `pipectl up` with CloudFormation acting through the execution role bootstrap created, an edit in
every file, and `destroy --yes --delete-data`. The local target checks every resource operation
against the role's policies, so a permission the derived policy lacks fails here, naming the action.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from generator.cli import main
from generator.contract import TEMPLATE_KEY_PREFIX

REPO = Path(__file__).resolve().parents[2]
REGION = "eu-west-1"
PIPELINES = ("backoffice", "mobile", "shop")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("through-role")
    shutil.copytree(REPO / "pipelines.d", folder / "pipelines.d")
    old = Path.cwd()
    os.chdir(folder)
    try:
        assert main(["local", "start"]) == 0
        yield folder
    finally:
        main(["local", "stop"])
        os.chdir(old)


def client(project: Path, service: str):  # type: ignore[no-untyped-def]
    endpoint = json.loads((project / ".pipectl" / "local.json").read_text())["endpoint"]
    return boto3.client(
        service, region_name=REGION, endpoint_url=endpoint, aws_access_key_id="testing", aws_secret_access_key="testing"
    )


def stacks(project: Path) -> dict[str, dict]:  # type: ignore[type-arg]
    return {s["StackName"]: s for s in client(project, "cloudformation").describe_stacks()["Stacks"]}


def failures(project: Path, names: list[str]) -> list[str]:
    """Every FAILED stack event of these stacks: an access error would be one of them."""
    cfn = client(project, "cloudformation")
    return [
        f"{e['LogicalResourceId']}: {e.get('ResourceStatusReason')}"
        for name in names
        for e in cfn.describe_stack_events(StackName=name)["StackEvents"]
        if str(e.get("ResourceStatus", "")).endswith("FAILED")
    ]


@pytest.fixture(scope="module")
def role(project: Path) -> str:
    argv = [
        "bootstrap",
        "--target",
        "local",
        "--codecommit",
        "pipectl-config",
        "--approvers",
        "ops@example.com",
        "--revision",
        "r1",
    ]
    assert main(argv) == 0
    live = stacks(project)
    assert {live[n]["StackStatus"] for n in ("pipectl-bootstrap", "pipectl-console", "pipectl-delivery")} == {
        "CREATE_COMPLETE"
    }
    outputs = {o["OutputKey"]: o["OutputValue"] for o in live["pipectl-delivery"]["Outputs"]}
    return str(outputs["ExecutionRoleArn"])


def test_bootstrap_deploys_the_delivery_stack_through_the_template_bucket(project: Path, role: str) -> None:
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks(project)["pipectl-bootstrap"]["Outputs"]}
    bucket = outputs["TemplateBucketName"]
    keys = [o["Key"] for o in client(project, "s3").list_objects_v2(Bucket=bucket).get("Contents", [])]
    # Over 51,200 bytes even compact: it can only have gone by TemplateURL.
    assert any(k.startswith(f"{TEMPLATE_KEY_PREFIX}pipectl-delivery/") for k in keys), keys
    assert any(k.startswith("assets/") for k in keys)  # the console's Lambda code


def test_every_example_is_created_updated_and_destroyed_through_the_role(
    project: Path, role: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["up", "--role-arn", role]) == 0, capsys.readouterr().out
    live = stacks(project)
    ours = sorted(n for n in live if n.startswith(tuple(f"pipectl-{p}-" for p in PIPELINES)))
    assert len(ours) == 24
    assert {live[n]["StackStatus"] for n in ours} == {"CREATE_COMPLETE"}
    assert {live[n].get("RoleARN") for n in ours} == {role}
    assert failures(project, ours) == []

    for name in PIPELINES:  # an edit in each file: alarms' log retention and the data's lifetime
        path = project / "pipelines.d" / f"{name}.yaml"
        text = path.read_text()
        text += "monitoring:\n  log_retention_days: 30\n" if "\nmonitoring:" not in text else ""
        path.write_text(
            text.replace("retention_days: 365", "retention_days: 400").replace(
                "retention_days: 90\n", "retention_days: 120\n"
            )
        )
    capsys.readouterr()
    assert main(["up", "--role-arn", role]) == 0, capsys.readouterr().out
    live = stacks(project)
    updated = [n for n in ours if live[n]["StackStatus"] == "UPDATE_COMPLETE"]
    assert len(updated) >= len(PIPELINES) * 2, {n: live[n]["StackStatus"] for n in ours}
    assert failures(project, ours) == []

    for name in PIPELINES:
        code = main(["destroy", name, "--yes", "--delete-data", "--disable-protection", "--role-arn", role])
        assert code == 0, capsys.readouterr().out
    live = stacks(project)
    assert not [n for n in live if n in ours and live[n]["StackStatus"] != "DELETE_COMPLETE"]


@pytest.mark.parametrize(
    "value", ["pipectl-delivery-ExecutionRole", "arn:aws:iam::123:role/x", "arn:aws:s3:::pipectl-bucket"]
)
def test_a_malformed_role_arn_is_refused_before_anything_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    shutil.copytree(REPO / "pipelines.d", tmp_path / "pipelines.d")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(["plan", "--role-arn", value])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert f"--role-arn: expected arn:aws:iam::ACCOUNT:role/NAME, found {value!r}" in err and "Traceback" not in err
    assert not (tmp_path / "build").exists() and not (tmp_path / ".pipectl").exists()
