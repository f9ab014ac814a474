"""Templates that try to escalate fail on the local target, through the execution role, naming the action.

The execution role is the one the delivery stack creates (its managed policies, guardrails included),
and the permissions boundary exists as the console stack makes it. Each template below is something a
push could put in `pipelines.d` or the generator: an administrator role without the boundary, a role
whose policy grants `iam:*`, a role passed to a service pipeline stacks never pass roles to. And the Plan
build, which runs a pushed buildspec, cannot execute a change set: its role is evaluated as IAM would.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from troposphere import encode_to_dict

from generator.deploy.apply import apply_now
from generator.deploy.aws import Aws
from generator.deploy.local import execution_role
from generator.deploy.local.iam_eval import Decision, decide
from generator.policy import boundary
from generator.policy.execution import _substituted
from generator.stacks.delivery import CodeCommitSource, DeliverySpec, build_delivery
from tests.deploy.conftest import Build
from tests.deploy.test_execution_role import ACCOUNT, create_execution_role, through_role, with_bucket

STACK = "pipectl-escalate-test-storage"
BOUNDARY = f"arn:aws:iam::{ACCOUNT}:policy/{boundary.POLICY_NAME}"


def trust(service: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
    }


def role(service: str = "lambda.amazonaws.com", bounded: bool = True, actions: list[str] | None = None) -> dict:
    properties: dict[str, Any] = {"AssumeRolePolicyDocument": trust(service)}
    if bounded:
        properties["PermissionsBoundary"] = BOUNDARY
    if actions:
        properties["Policies"] = [
            {
                "PolicyName": "grants",
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}],
                },
            }
        ]
    return {"Type": "AWS::IAM::Role", "Properties": properties}


@pytest.fixture
def deployer(aws: Aws, checks: execution_role.CheckStats) -> Aws:
    """The execution role and the boundary, as bootstrap leaves them."""
    create_execution_role(aws)
    aws.client("iam").create_policy(
        PolicyName=boundary.POLICY_NAME,
        PolicyDocument=json.dumps(_substituted(encode_to_dict(boundary.document()), {"${AWS::Partition}": "aws",
                                                                                   "${AWS::AccountId}": ACCOUNT})),
    )  # fmt: skip
    return through_role(aws)


@pytest.fixture
def checks() -> execution_role.CheckStats:
    execution_role.STATS.denied.clear()
    return execution_role.STATS


def deploy(aws: Aws, deployer: Aws, build: Build, resources: dict[str, Any]) -> str:
    """Apply one stack of `resources` through the execution role; the reason it failed ('' when it did not)."""
    build.add(STACK, "storage", {"Resources": resources}, "escalate", "test")
    _, result = apply_now(deployer, build.write(), "escalate", options=with_bucket(aws))
    outcome = result.stacks[STACK]
    return "" if outcome.result == "done" else " ".join(outcome.events) + " " + outcome.detail


def test_a_role_with_the_boundary_and_a_narrow_policy_is_created(
    aws: Aws, deployer: Aws, build: Build, checks: execution_role.CheckStats
) -> None:
    assert deploy(aws, deployer, build, {"Worker": role(actions=["sqs:SendMessage"])}) == ""
    assert checks.denied == []
    (created,) = [r for r in aws.client("iam").list_roles()["Roles"] if r["RoleName"].startswith(STACK)]
    assert (
        aws.client("iam").get_role(RoleName=created["RoleName"])["Role"]["PermissionsBoundary"][
            "PermissionsBoundaryArn"
        ]
        == BOUNDARY
    )


def test_an_administrator_role_without_the_boundary_is_refused(
    aws: Aws, deployer: Aws, build: Build, checks: execution_role.CheckStats
) -> None:
    admin = role(bounded=False)
    admin["Properties"]["ManagedPolicyArns"] = ["arn:aws:iam::aws:policy/AdministratorAccess"]
    failed = deploy(aws, deployer, build, {"Admin": admin})
    # IAM asks for the boundary on each of these; the handler's first one is refused, and the role never exists.
    (reason,) = checks.denied
    assert re.search(r"not authorized to perform: iam:(AttachRolePolicy|CreateRole|PutRolePolicy) ", reason)
    assert "CREATE_FAILED" in failed
    assert not [r for r in aws.client("iam").list_roles()["Roles"] if r["RoleName"].startswith(STACK)]


def test_a_role_whose_policy_grants_iam_star_is_refused(
    aws: Aws, deployer: Aws, build: Build, checks: execution_role.CheckStats
) -> None:
    failed = deploy(aws, deployer, build, {"Admin": role(actions=["iam:*", "sqs:SendMessage"])})
    assert "grants iam:*, which the permissions boundary pipectl-permissions-boundary denies" in failed


def test_a_role_passed_to_a_service_pipeline_stacks_never_pass_roles_to_is_refused(
    aws: Aws, deployer: Aws, build: Build, checks: execution_role.CheckStats
) -> None:
    pipeline = {
        "Type": "AWS::CodePipeline::Pipeline",
        "Properties": {
            "Name": "pipectl-escalate",
            "RoleArn": {"Fn::GetAtt": ["PipelineRole", "Arn"]},
            "ArtifactStore": {"Type": "S3", "Location": "pipectl-escalate-artifacts"},
            "Stages": [],
        },
    }
    failed = deploy(aws, deployer, build, {"PipelineRole": role("codepipeline.amazonaws.com"), "Pipeline": pipeline})
    assert "not authorized to perform: iam:PassRole" in failed


def _build_role(stage: str) -> list[str]:
    template = build_delivery(DeliverySpec(CodeCommitSource("pipectl-config"))).to_dict()
    values = {"${AWS::Partition}": "aws", "${AWS::AccountId}": ACCOUNT, "${AWS::Region}": "eu-west-1"}
    policies = template["Resources"][f"{stage}BuildRole"]["Properties"]["Policies"]
    return [json.dumps(_substituted(p["PolicyDocument"], values)) for p in policies]


@pytest.mark.parametrize(
    "action",
    ["ExecuteChangeSet", "DeleteStack", "SetStackPolicy", "UpdateTerminationProtection", "ContinueUpdateRollback"],
)
def test_the_plan_build_cannot_execute_or_remove_what_it_planned(action: str) -> None:
    stack = f"arn:aws:cloudformation:eu-west-1:{ACCOUNT}:stack/pipectl-shop-prod-storage/1"
    assert decide(_build_role("Plan"), f"cloudformation:{action}", stack) is Decision.IMPLICIT_DENY
    assert decide(_build_role("Apply"), f"cloudformation:{action}", stack) is Decision.ALLOWED
    assert decide(_build_role("Plan"), "cloudformation:CreateChangeSet", stack) is Decision.ALLOWED
