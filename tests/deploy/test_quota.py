"""Plan on `--target aws` refuses reserved concurrency the account cannot give, naming the functions.

moto 5.2.5 does not implement Lambda's GetAccountSettings, so the account's limit is injected with a
botocore `before-call` hook on that one operation (an AWS state moto cannot produce); every other call,
including GetFunctionConcurrency of deployed functions, goes to the embedded local AWS.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from generator.cli import main
from generator.deploy import quota
from generator.deploy.apply import apply_now
from generator.deploy.aws import Aws
from generator.deploy.deployed import read_deployed
from tests.deploy.conftest import REGION, Build


def function_template(reserved: dict[str, int]) -> dict[str, Any]:
    """Functions with inline code, each reserving the given concurrency."""
    role = {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            }
        },
    }
    functions = {
        name: {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Runtime": "python3.12",
                "Handler": "index.handler",
                "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                "Code": {"ZipFile": "def handler(event, context):\n    return None\n"},
                "ReservedConcurrentExecutions": amount,
            },
        }
        for name, amount in reserved.items()
    }
    return {"Resources": {"Role": role, **functions}}


@pytest.fixture
def account_limit(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """The UnreservedConcurrentExecutions the account reports; tests set it before planning."""
    from generator.deploy import aws as aws_module

    limit = {"unreserved": 1000}

    def settings(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        body = {"AccountLimit": {"ConcurrentExecutions": 1000, "UnreservedConcurrentExecutions": limit["unreserved"]}}
        return AWSResponse("https://lambda", 200, {}, None), {**body, "ResponseMetadata": {"HTTPStatusCode": 200}}

    original = aws_module.Aws._new_session

    def with_limit(self: Aws) -> Any:
        session = original(self)
        session.events.register("before-call.lambda.GetAccountSettings", settings)
        return session

    monkeypatch.setattr(aws_module.Aws, "_new_session", with_limit)
    return limit


def plan_cli(build: Build) -> int:
    argv = ["plan", "--no-synth", "--target", "aws", "--region", REGION, "--build-dir", str(build.root)]
    return main([*argv, "--revision", "r1", "--out", str(build.root.parent)])


def test_reservations_beyond_the_quota_are_refused_naming_the_functions(
    aws: Aws, build: Build, aws_target: list[str], account_limit: dict[str, int], capsys: pytest.CaptureFixture[str]
) -> None:
    account_limit["unreserved"] = 110  # 10 above the floor Lambda keeps
    build.add("pipectl-a-test-processing", "processing", function_template({"SinkFunction": 6}), "a", "test")
    build.add("pipectl-b-test-processing", "processing", function_template({"EnrichFunction": 5}), "b", "test")
    build.write()
    assert plan_cli(build) == 2
    err = capsys.readouterr().err
    assert "reserved concurrency does not fit in eu-west-1: the plan reserves 11 more, the account leaves 10" in err
    assert "pipectl-a-test-processing/SinkFunction (6 more, 6 in all)" in err
    assert "pipectl-b-test-processing/EnrichFunction (5 more, 5 in all)" in err
    assert "Traceback" not in err
    assert aws.cfn(REGION).describe_stacks()["Stacks"] == []  # no change set, nothing deployed


def test_reservations_within_the_quota_are_planned(
    aws: Aws, build: Build, aws_target: list[str], account_limit: dict[str, int]
) -> None:
    account_limit["unreserved"] = 111
    build.add("pipectl-a-test-processing", "processing", function_template({"SinkFunction": 6}), "a", "test")
    build.add("pipectl-b-test-processing", "processing", function_template({"EnrichFunction": 5}), "b", "test")
    build.write()
    assert plan_cli(build) == 0
    assert len(aws.cfn(REGION).describe_stacks()["Stacks"]) == 2  # both in REVIEW_IN_PROGRESS with a change set


def test_a_deployed_reservation_counts_only_what_it_grows_by(aws: Aws, build: Build) -> None:
    build.add("pipectl-a-test-processing", "processing", function_template({"SinkFunction": 8, "EnrichFunction": 4}))
    _, result = apply_now(aws, build.write(), "r1")
    assert result.ok, result.stacks
    build.add("pipectl-a-test-processing", "processing", function_template({"SinkFunction": 10, "EnrichFunction": 4}))
    manifest = build.write()
    deployed = read_deployed(aws, (REGION,))
    found = quota.reservations(aws, manifest, manifest.stacks, deployed)
    assert [(r.logical_id, r.added, r.wanted) for r in found[REGION]] == [("SinkFunction", 2, 10)]
