"""CloudFormation deploys with the execution role the target names, and the local target holds it to that role.

The role is created in the embedded IAM exactly as the delivery stack creates it: the managed policies
`execution_policy_documents()` derives from the permissions table. A shipped example then creates,
updates and deletes through it with no access error; without one of its permissions, the resource that
needs it fails, naming the action.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from generator.deploy.apply import ApplyOptions, apply_now
from generator.deploy.aws import Aws, RetryPolicy, Target
from generator.deploy.local import execution_role
from generator.deploy.manifest import Manifest
from generator.deploy.targets import stand_in_networks
from generator.policy.execution import resolved_documents
from generator.spec.loader import Installation, load_directory
from generator.stacks.synth import build_all
from tests.deploy.conftest import REGION, Build

ACCOUNT = "123456789012"
ROLE_NAME = "pipectl-delivery-ExecutionRole-LOCAL"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/{ROLE_NAME}"
REPO = Path(__file__).resolve().parents[2]
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "cloudformation.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}


def policy_documents(without: str | None = None) -> list[dict[str, Any]]:
    documents = resolved_documents(ACCOUNT)
    if without is None:
        return documents
    for document in documents:
        for statement in document["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            statement["Action"] = [a for a in actions if a.lower() != without.lower()] or ["sts:GetCallerIdentity"]
    return documents


def create_execution_role(aws: Aws, without: str | None = None) -> None:
    """The delivery stack's ExecutionRole and ExecutionPolicyN, made directly in the embedded IAM."""
    iam = aws.client("iam")
    iam.create_role(RoleName=ROLE_NAME, AssumeRolePolicyDocument=json.dumps(TRUST))
    for index, document in enumerate(policy_documents(without), start=1):
        arn = iam.create_policy(PolicyName=f"ExecutionPolicy{index}", PolicyDocument=json.dumps(document))["Policy"][
            "Arn"
        ]
        iam.attach_role_policy(RoleName=ROLE_NAME, PolicyArn=arn)


def local(aws: Aws, build: Build) -> Manifest:
    """The build as `pipectl up --target local` deploys it: account-owned inputs stood in locally."""
    return stand_in_networks(aws, build.write())[0]


def through_role(aws: Aws) -> Aws:
    return Aws(replace(aws.target, cloudformation_role_arn=ROLE), policy=RetryPolicy(sleep=lambda _: None))


# Named as CloudFormation names the bootstrap stack's bucket (after its stack), which the role may read.
TEMPLATE_BUCKET = "pipectl-bootstrap-templatebucket-test"


def with_bucket(aws: Aws) -> ApplyOptions:
    """The template and asset bucket the Lambda code is read from, as `pipectl bootstrap` makes it."""
    aws.client("s3").create_bucket(Bucket=TEMPLATE_BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    return ApplyOptions(template_bucket=TEMPLATE_BUCKET)


def console_first(aws: Aws, build: Build, options: ApplyOptions) -> None:
    """The console as bootstrap creates it, with the caller's rights: it holds the permissions boundary,
    which the execution role may never create, change or delete."""
    first = Build(build.root.parent / "console-first")
    first.stacks = {"pipectl-console": build.stacks["pipectl-console"]}
    assert apply_now(aws, first.write(), "bootstrap", options=options)[1].ok


def example(
    build: Build,
    pipeline: str = "backoffice",
    env: str = "test",
    kinds: tuple[str, ...] | None = None,
    edit: bool = False,
    deletion: str = "retain",
) -> None:
    """The shipped example's real templates (and the console's) in the build; `edit` changes its file."""
    installation = load_directory(REPO / "pipelines.d", "pipelines.d")
    chosen = []
    for p in installation.pipelines:
        if (p.name, p.env) == (pipeline, env):
            changes: dict[str, Any] = {"deletion": deletion}
            if edit:
                changes["monitoring"] = p.spec.monitoring.model_copy(update={"log_retention_days": 30})
                changes["processing"] = p.spec.processing.model_copy(update={"retention_days": 60})
            chosen.append(replace(p, spec=p.spec.model_copy(update=changes)))
    for stack in build_all(Installation(tuple(chosen), installation.console, installation.sources)):
        entry = stack.entry
        if kinds is not None and entry.kind not in (*kinds, "console"):
            continue
        build.add(
            entry.name,
            entry.kind,
            json.loads(stack.text),
            entry.pipeline,
            entry.env,
            tuple(d for d in entry.depends_on if kinds is None or d.rsplit("-", 1)[-1] in kinds),
            entry.retain,
            entry.stateful,
            {asset.path: asset.data for asset in stack.assets},
        )


@pytest.fixture
def checks() -> execution_role.CheckStats:
    """The local target's check counters, from zero for this test (the server runs in this process)."""
    execution_role.STATS.seconds, execution_role.STATS.operations = 0.0, 0
    execution_role.STATS.denied.clear()
    return execution_role.STATS


def test_stacks_are_created_with_the_execution_role(aws: Aws, build: Build, monkeypatch) -> None:
    monkeypatch.setenv("PIPECTL_CLOUDFORMATION_ROLE_ARN", ROLE)
    assert Target.aws(REGION).cloudformation_role_arn == ROLE
    create_execution_role(aws)
    example(build, kinds=("storage",))
    options = with_bucket(aws)
    console_first(aws, build, options)
    _, result = apply_now(through_role(aws), build.write(), "one", options=options)
    assert result.ok, {n: s.detail for n, s in result.stacks.items() if s.result != "done"}
    stacks = aws.cfn().describe_stacks()["Stacks"]
    assert {s["StackName"]: s.get("RoleARN") for s in stacks} == {
        "pipectl-console": None,
        "pipectl-backoffice-test-storage": ROLE,
    }


def test_without_an_execution_role_none_is_passed(aws: Aws, build: Build, monkeypatch) -> None:
    monkeypatch.delenv("PIPECTL_CLOUDFORMATION_ROLE_ARN", raising=False)
    assert Target.aws(REGION).cloudformation_role_arn is None
    build.console()
    assert apply_now(aws, build.write(), "one")[1].ok
    assert "RoleARN" not in aws.cfn().describe_stacks(StackName="pipectl-console")["Stacks"][0]


def test_a_role_that_does_not_exist_fails_the_stack(aws: Aws, build: Build, checks: execution_role.CheckStats) -> None:
    build.console()
    _, result = apply_now(through_role(aws), build.write(), "one")
    assert result.stacks["pipectl-console"].result == "failed"
    assert checks.denied == [f"Role {ROLE} is invalid or cannot be assumed"]


def test_a_shipped_example_creates_updates_and_deletes_through_the_role(
    aws: Aws, build: Build, tmp_path: Path, checks: execution_role.CheckStats
) -> None:
    create_execution_role(aws)
    deployer = through_role(aws)
    example(build, deletion="delete")
    options = with_bucket(aws)
    console_first(aws, build, options)
    _, created = apply_now(deployer, local(aws, build), "create", options=options)
    assert created.ok, {n: s.detail for n, s in created.stacks.items() if s.result != "done"}
    assert checks.denied == [] and checks.operations > 50

    edited = Build(tmp_path / "edited")
    example(edited, deletion="delete", edit=True)
    _, updated = apply_now(deployer, local(aws, edited), "update", options=options)
    assert updated.ok, {n: s.detail for n, s in updated.stacks.items() if s.result != "done"}
    assert checks.denied == []

    before = checks.operations
    cfn = aws.cfn()
    for name in sorted(edited.stacks, key=_teardown_order):
        cfn.delete_stack(StackName=name)
    failed = [
        f"{s['StackName']} {e['LogicalResourceId']}: {e.get('ResourceStatusReason')}"
        for s in cfn.describe_stacks()["Stacks"]
        if s["StackStatus"] != "DELETE_COMPLETE"
        for e in cfn.describe_stack_events(StackName=s["StackId"])["StackEvents"]
        if str(e.get("ResourceStatus")).endswith("FAILED")
    ]
    assert {s["StackStatus"] for s in cfn.describe_stacks()["Stacks"]} <= {"DELETE_COMPLETE"}, (failed, checks.denied)
    assert checks.denied == [] and checks.operations > before


def _teardown_order(name: str) -> int:
    return {"monitoring": 0, "ingestion": 1, "processing": 1, "storage": 2}.get(name.rsplit("-", 1)[-1], 3)


def test_one_missing_permission_fails_that_resource_naming_the_action(
    aws: Aws, build: Build, checks: execution_role.CheckStats
) -> None:
    build.console()
    options = with_bucket(aws)
    assert apply_now(aws, build.write(), "console", options=options)[1].ok  # the console, deployed without the role
    create_execution_role(aws, without="s3:PutMetricsConfiguration")
    example(build, kinds=("storage",))
    del build.stacks["pipectl-console"]
    build.console()
    _, result = apply_now(through_role(aws), build.write(), "storage", options=options)
    failed = result.stacks["pipectl-backoffice-test-storage"]
    assert failed.result == "failed" and failed.detail.startswith("ROLLBACK_COMPLETE")
    # The local target fails the resource as CloudFormation reports it: a CREATE_FAILED event naming the action.
    (event,) = [e for e in failed.events if "CREATE_FAILED" in e]
    assert " AWS::S3::Bucket CREATE_FAILED: " in event and "s3:PutMetricsConfiguration" in event
    (reason,) = checks.denied
    assert reason.startswith(
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/{ROLE_NAME}/AWSCloudFormation is not "
        "authorized to perform: s3:PutMetricsConfiguration on resource: arn:aws:s3:::pipectl-"
    )
    assert (
        "because no identity-based policy allows the s3:PutMetricsConfiguration action (Service: S3, "
        "Status Code: 403" in reason
    )
