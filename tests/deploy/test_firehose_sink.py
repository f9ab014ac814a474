"""A pipeline with the Firehose sink, deployed on the local target as the delivery pipeline deploys it:
`pipectl bootstrap`, then `pipectl up` with CloudFormation acting through the execution role bootstrap
created (so the derived permissions must cover the delivery stream), then `destroy`."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from generator.cli import main

REPO = Path(__file__).resolve().parents[2]
PIPELINES = REPO / "tests" / "stacks" / "sinks" / "pipelines.d"
REGION = "eu-west-1"
STACKS = [f"pipectl-clicks-test-{kind}" for kind in ("storage", "ingestion", "processing", "monitoring")]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("firehose")
    shutil.copytree(PIPELINES, folder / "pipelines.d")
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


def outputs(stack: dict) -> dict[str, str]:  # type: ignore[type-arg]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


@pytest.fixture(scope="module")
def role(project: Path) -> str:
    argv = ["bootstrap", "--target", "local", "--codecommit", "pipectl-config", "--no-approvers", "--revision", "r1"]
    assert main(argv) == 0
    return outputs(stacks(project)["pipectl-delivery"])["ExecutionRoleArn"]


def test_the_firehose_pipeline_is_created_through_the_execution_role_and_destroyed(
    project: Path, role: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["up", "--role-arn", role]) == 0, capsys.readouterr().out
    live = stacks(project)
    assert {live[name]["StackStatus"] for name in STACKS} == {"CREATE_COMPLETE"}
    assert {live[name].get("RoleARN") for name in STACKS} == {role}

    storage = outputs(live["pipectl-clicks-test-storage"])
    assert "StreamName" not in storage
    described = client(project, "firehose").describe_delivery_stream(DeliveryStreamName=storage["DeliveryStreamName"])
    description = described["DeliveryStreamDescription"]
    assert description["DeliveryStreamARN"] == storage["DeliveryStreamArn"]
    assert description["DeliveryStreamEncryptionConfiguration"]["KeyType"] == "CUSTOMER_MANAGED_CMK"
    destination = description["Destinations"][0]["ExtendedS3DestinationDescription"]
    assert destination["BucketARN"].endswith(f":::{storage['DataBucketName']}")
    assert destination["Prefix"].startswith("raw/")
    assert destination["CompressionFormat"] == "GZIP"
    assert destination["BufferingHints"] == {"SizeInMBs": 32, "IntervalInSeconds": 120}

    # The collectors are told where to write, and processing has no sink function of its own.
    definitions = client(project, "ecs").list_task_definitions()["taskDefinitionArns"]
    container = client(project, "ecs").describe_task_definition(taskDefinition=definitions[0])["taskDefinition"]
    environment = {e["name"]: e["value"] for e in container["containerDefinitions"][0]["environment"]}
    assert environment["SINK_TYPE"] == "firehose"
    assert environment["DELIVERY_STREAM_NAME"] == storage["DeliveryStreamName"]
    assert "SinkFunctionName" not in outputs(live["pipectl-clicks-test-processing"])
    alarms = client(project, "cloudwatch").describe_alarms(AlarmNamePrefix="pipectl-clicks-test-")["MetricAlarms"]
    assert {"pipectl-clicks-test-delivery-throttled", "pipectl-clicks-test-delivery-late"} <= {
        a["AlarmName"] for a in alarms
    }

    code = main(["destroy", "clicks", "--yes", "--delete-data", "--disable-protection", "--role-arn", role])
    assert code == 0, capsys.readouterr().out
    live = stacks(project)
    assert not [n for n in STACKS if n in live and live[n]["StackStatus"] != "DELETE_COMPLETE"]
    assert client(project, "firehose").list_delivery_streams()["DeliveryStreamNames"] == []
