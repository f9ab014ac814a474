"""The one AWS door: backoff on throttling and transient errors, call counting, timeouts.

moto never throttles, so throttling is injected: with botocore's Stubber for single calls, and
with a fault-injecting before-call hook on the real clients for a whole plan against moto.
"""

from __future__ import annotations

import itertools
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from generator.deploy.apply import apply_now
from generator.deploy.aws import Aws, CallCounter, Client, RetryPolicy, Target
from generator.deploy.errors import WaitTimeout
from generator.deploy.plan import make_plan
from tests.deploy.conftest import Build, new_aws


def stubbed() -> tuple[Client, Stubber, list[float]]:
    raw = boto3.client("cloudformation", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    slept: list[float] = []
    client = Client("cloudformation", raw, raw, CallCounter(), RetryPolicy(attempts=4, sleep=slept.append))
    return client, Stubber(raw), slept


@pytest.mark.parametrize(
    "code", ["Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException"]
)
def test_throttled_calls_are_retried_with_backoff(code: str) -> None:
    client, stub, slept = stubbed()
    stub.add_client_error("describe_stacks", code, http_status_code=400)
    stub.add_client_error("describe_stacks", code, http_status_code=400)
    stub.add_response("describe_stacks", {"Stacks": []})
    with stub:
        assert client.describe_stacks() == {"Stacks": []}
    assert len(slept) == 2 and all(s >= 0 for s in slept)
    assert client._counter.retries["cloudformation:DescribeStacks"] == 2


def test_writes_are_retried_when_throttled_but_not_on_server_errors() -> None:
    client, stub, _ = stubbed()
    stub.add_client_error("execute_change_set", "Throttling", http_status_code=400)
    stub.add_response("execute_change_set", {})
    stub.add_client_error("execute_change_set", "InternalFailure", http_status_code=500)
    with stub:
        client.execute_change_set(ChangeSetName="arn")
        with pytest.raises(ClientError):  # may have been carried out: never repeated blindly
            client.execute_change_set(ChangeSetName="arn")
    stub.assert_no_pending_responses()


def test_reads_are_retried_on_server_errors_and_give_up_after_the_attempts() -> None:
    client, stub, slept = stubbed()
    stub.add_client_error("describe_stacks", "InternalFailure", http_status_code=500)
    stub.add_response("describe_stacks", {"Stacks": []})
    for _ in range(4):
        stub.add_client_error("list_exports", "Throttling", http_status_code=400)
    with stub:
        client.describe_stacks()
        with pytest.raises(ClientError, match="Throttling"):
            client.list_exports()
    assert len(slept) == 1 + 3


def test_validation_errors_are_not_retried() -> None:
    client, stub, slept = stubbed()
    stub.add_client_error("describe_stacks", "ValidationError", "Stack x does not exist", http_status_code=400)
    with stub, pytest.raises(ClientError):
        client.describe_stacks(StackName="x")
    assert slept == []


def throttle_every_other(aws: Aws, operations: set[str]) -> list[str]:
    """Answer every other call of `operations` with a Throttling error, as a busy account would."""
    seen: list[str] = []
    tick = itertools.count()

    def hook(model: Any, **_: Any) -> Any:
        if model.name in operations and next(tick) % 2 == 0:
            seen.append(model.name)
            return (
                _Http(400),
                {
                    "Error": {"Code": "Throttling", "Message": "Rate exceeded"},
                    "ResponseMetadata": {"HTTPStatusCode": 400},
                },
            )
        return None

    cfn = aws.cfn()
    for raw in (cfn.read, cfn.write):
        raw.meta.events.register_first("before-call.cloudformation.*", hook)
    return seen


class _Http:
    def __init__(self, status: int) -> None:
        self.status_code = status
        self.headers: dict[str, str] = {}
        self.content = b""
        self.raw = None
        self.url = ""


def test_a_plan_and_apply_survive_throttling(aws: Aws, build: Build, moto_url: str) -> None:
    build.pipeline("shop")
    manifest = build.write()
    throttled = new_aws(moto_url)
    seen = throttle_every_other(
        throttled, {"DescribeStacks", "CreateChangeSet", "DescribeChangeSet", "ExecuteChangeSet", "DescribeStackEvents"}
    )

    plan, result = apply_now(throttled, manifest, "one")

    assert {s.name: s.action for s in plan.stacks if s.action != "create-after"} == {
        "pipectl-shop-test-storage": "create"
    }
    assert result.ok, result.stacks
    assert {"DescribeStacks", "CreateChangeSet", "ExecuteChangeSet"} <= set(seen)
    assert sum(throttled.counter.retries.values()) == len(seen)
    assert {s.action for s in make_plan(aws, manifest, "two").stacks} == {"none"}


def test_poll_gives_up_after_its_timeout(aws: Aws) -> None:
    with pytest.raises(WaitTimeout, match=r"timed out after 0\.1s waiting for godot"):
        aws.poll(lambda: 1, lambda _: False, 0.1, "godot")


def test_local_target_uses_dummy_credentials_and_the_endpoint(moto_url: str) -> None:
    aws = Aws(Target.local(moto_url, "eu-west-1"))
    creds = aws._session.get_credentials()
    assert (creds.access_key, creds.secret_key) == ("testing", "testing")
    assert aws.cfn().read.meta.endpoint_url == moto_url
    assert aws.cfn().read.meta.config.retries["mode"] == "standard"


def test_aws_target_honours_aws_endpoint_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://localhost:4566")
    target = Target.aws("eu-west-1")
    assert target.endpoint_url == "http://localhost:4566" and not target.is_local
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "a")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "b")
    client = Aws(target).cfn()
    assert client.read.meta.config.retries["mode"] == "adaptive"
    assert client.write.meta.config.retries["total_max_attempts"] == 1
