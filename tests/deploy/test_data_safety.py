"""Data safety of apply: a plan that would replace or delete stateful data is refused unless named,
and stateful stacks carry a stack policy and termination protection after every deploy."""

from __future__ import annotations

import json

import pytest

from generator.deploy.apply import ApplyOptions, apply_now, apply_plan
from generator.deploy.aws import Aws
from generator.deploy.errors import RefusedError
from generator.deploy.plan import make_plan
from generator.stacks.synth import stack_policy
from tests.deploy.conftest import Build

STORAGE = "pipectl-shop-test-storage"


@pytest.fixture
def deployed(aws: Aws, build: Build) -> Build:
    build.console()
    build.pipeline("shop", kinds=("storage",))
    build.stacks[STORAGE]["stack_policy"] = stack_policy(["DataBucket"])
    build.stacks[STORAGE]["termination_protection"] = True
    assert apply_now(aws, build.write(), "one")[1].ok
    return build


def without_bucket(build: Build) -> Build:
    template = build.stacks[STORAGE]["template"]
    del template["Resources"]["DataBucket"]
    del template["Outputs"]["DataBucketName"]
    return build


def test_stateful_stacks_get_their_stack_policy_and_termination_protection(aws: Aws, deployed: Build) -> None:
    cfn = aws.cfn()
    stack = cfn.describe_stacks(StackName=STORAGE)["Stacks"][0]
    assert stack["EnableTerminationProtection"] is True
    policy = json.loads(cfn.get_stack_policy(StackName=STORAGE)["StackPolicyBody"])
    assert {
        "Effect": "Deny",
        "Action": ["Update:Replace", "Update:Delete"],
        "Principal": "*",
        "Resource": ["LogicalResourceId/DataBucket"],
    } in policy["Statement"]


def test_a_plan_deleting_stateful_data_is_refused_and_nothing_runs(aws: Aws, deployed: Build) -> None:
    manifest = without_bucket(deployed).write()
    plan = make_plan(aws, manifest, "two")
    (change,) = [c for s in plan.stacks for c in s.changes]
    assert (change.resource, change.action, change.data_at_risk) == ("DataBucket", "Remove", True)
    with pytest.raises(RefusedError, match=r"DataBucket .* would be deleted"):
        apply_plan(aws, manifest, plan)
    resources = aws.cfn().describe_stack_resources(StackName=STORAGE)["StackResources"]
    assert "DataBucket" in {r["LogicalResourceId"] for r in resources}


def test_allow_replace_lifts_the_refusal_and_the_policy_for_that_resource_only(aws: Aws, deployed: Build) -> None:
    bucket = aws.cfn().describe_stack_resource(StackName=STORAGE, LogicalResourceId="DataBucket")[
        "StackResourceDetail"
    ]["PhysicalResourceId"]
    aws.client("s3").put_object(Bucket=bucket, Key="raw/event.json", Body=b"{}")
    manifest = without_bucket(deployed).write()
    plan = make_plan(aws, manifest, "two")
    result = apply_plan(aws, manifest, plan, options=ApplyOptions(allow_replace=frozenset({"DataBucket"})))
    assert result.ok, {n: r.detail for n, r in result.stacks.items()}
    resources = aws.cfn().describe_stack_resources(StackName=STORAGE)["StackResources"]
    assert "DataBucket" not in {r["LogicalResourceId"] for r in resources}
    # the template retained the bucket: out of the stack, not out of the account
    assert aws.client("s3").get_object(Bucket=bucket, Key="raw/event.json")["Body"].read() == b"{}"
    policy = json.loads(aws.cfn().get_stack_policy(StackName=STORAGE)["StackPolicyBody"])
    assert any(s["Effect"] == "Deny" for s in policy["Statement"]), "the policy is back after the run"


def test_the_stack_policy_alone_stops_an_out_of_band_deletion(aws: Aws, deployed: Build) -> None:
    """Even bypassing pipectl's refusal, the embedded AWS enforces the policy as CloudFormation does."""
    template = without_bucket(deployed).stacks[STORAGE]["template"]
    cfn = aws.cfn()
    made = cfn.create_change_set(
        StackName=STORAGE, ChangeSetName="by-hand", ChangeSetType="UPDATE", TemplateBody=json.dumps(template)
    )
    with pytest.raises(Exception, match="stack policy forbids Update:Delete on LogicalResourceId/DataBucket"):
        cfn.execute_change_set(ChangeSetName=made["Id"])
