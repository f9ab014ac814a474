"""When the embedded AWS itself fails, the caller reads the exception and where its traceback is."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from generator.deploy.aws import Aws, RetryPolicy, Target, error_code, error_message
from generator.deploy.local import EmbeddedAws, start_embedded
from generator.deploy.local.background import log_file, resolve_endpoint

REGION = "eu-west-1"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[EmbeddedAws]:
    with start_embedded(log_path=tmp_path / ".pipectl" / "local.log") as local:
        yield local


def exploding_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """A model whose attribute read raises, as a pipectl or moto model with a bug would."""
    from moto.sqs.models import Queue

    def explode(self: Any, attribute_name: str) -> Any:
        raise RuntimeError(f"model exploded reading {attribute_name}")

    monkeypatch.setattr(Queue, "get_cfn_attribute", explode)


def test_a_failing_model_reaches_the_user_as_its_exception_and_the_log_path(
    server: EmbeddedAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    aws = Aws(Target.local(server.endpoint, REGION), policy=RetryPolicy(attempts=1, sleep=lambda _: None))
    template = {"Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
                "Outputs": {"QueueArn": {"Value": {"Fn::GetAtt": ["Queue", "Arn"]}}}}  # fmt: skip
    aws.cfn().create_stack(StackName="exploding", TemplateBody=json.dumps(template))
    exploding_model(monkeypatch)
    with pytest.raises(ClientError) as failed:
        aws.cfn().describe_stacks(StackName="exploding")
    message = error_message(failed.value)
    assert error_code(failed.value) == "InternalFailure"
    assert "RuntimeError: model exploded reading Arn" in message
    assert str(server.log_path) in message
    assert "invalid XML" not in message
    logged = server.log_path.read_text()
    assert "Traceback" in logged and "model exploded reading Arn" in logged and "DescribeStacks" in logged


def test_a_json_service_failure_is_an_aws_error_too(server: EmbeddedAws, monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.dynamodb.models import DynamoDBBackend

    def explode(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("table listing exploded")

    monkeypatch.setattr(DynamoDBBackend, "list_tables", explode)
    aws = Aws(Target.local(server.endpoint, REGION), policy=RetryPolicy(attempts=1, sleep=lambda _: None))
    with pytest.raises(ClientError) as failed:
        aws.client("dynamodb").list_tables()
    assert "RuntimeError: table listing exploded" in error_message(failed.value)
    assert str(server.log_path) in error_message(failed.value)


def test_the_server_a_command_starts_logs_under_the_working_directory(tmp_path: Path) -> None:
    endpoint, embedded = resolve_endpoint(tmp_path)
    assert embedded is not None
    try:
        assert embedded.log_path == log_file(tmp_path).resolve()
        assert endpoint == embedded.endpoint
    finally:
        embedded.stop()
