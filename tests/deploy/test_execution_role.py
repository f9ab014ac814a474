"""CloudFormation deploys with the execution role the target names, never with the caller's own rights."""

from __future__ import annotations

from dataclasses import replace

from generator.deploy.apply import apply_now
from generator.deploy.aws import Aws, RetryPolicy, Target
from tests.deploy.conftest import REGION, Build

ROLE = "arn:aws:iam::123456789012:role/pipectl-cloudformation"


def test_stacks_are_created_with_the_execution_role(aws: Aws, build: Build, monkeypatch) -> None:
    monkeypatch.setenv("PIPECTL_CLOUDFORMATION_ROLE_ARN", ROLE)
    assert Target.aws(REGION).cloudformation_role_arn == ROLE
    local = replace(aws.target, cloudformation_role_arn=ROLE)
    with_role = Aws(local, policy=RetryPolicy(sleep=lambda _: None))
    build.console()
    build.pipeline("shop", kinds=("storage",))
    assert apply_now(with_role, build.write(), "one")[1].ok
    stacks = aws.cfn().describe_stacks()["Stacks"]
    assert {s["StackName"]: s.get("RoleARN") for s in stacks} == {
        "pipectl-console": ROLE, "pipectl-shop-test-storage": ROLE}


def test_without_an_execution_role_none_is_passed(aws: Aws, build: Build, monkeypatch) -> None:
    monkeypatch.delenv("PIPECTL_CLOUDFORMATION_ROLE_ARN", raising=False)
    assert Target.aws(REGION).cloudformation_role_arn is None
    build.console()
    assert apply_now(aws, build.write(), "one")[1].ok
    assert "RoleARN" not in aws.cfn().describe_stacks(StackName="pipectl-console")["Stacks"][0]
