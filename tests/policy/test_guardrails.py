"""The execution role's reach, evaluated as IAM evaluates it, and the boundary on every role pipectl emits.

Each case is one request IAM would see from CloudFormation acting with the execution role (the derived
managed policies, resolved in an account), with the condition keys IAM would supply.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from troposphere import encode_to_dict

from generator.deploy.local.iam_eval import Decision, decide
from generator.policy import boundary
from generator.policy.execution import _substituted, resolved_documents
from generator.spec.loader import load_directory
from generator.stacks.delivery import CodeCommitSource, DeliverySpec, build_delivery
from generator.stacks.synth import synthesize

ACCOUNT = "123456789012"
REPO = Path(__file__).resolve().parents[2]
IAM = f"arn:aws:iam::{ACCOUNT}"
BOUNDARY = f"{IAM}:policy/{boundary.POLICY_NAME}"
PIPELINE_ROLE = f"{IAM}:role/pipectl-shop-prod-processing-SinkRole-ABC"
EXECUTION_ROLE = f"{IAM}:role/pipectl-delivery-ExecutionRole-ABC"
KEY = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
POOL = f"arn:aws:cognito-idp:eu-west-1:{ACCOUNT}:userpool/eu-west-1_AbCdEf"


@pytest.fixture(scope="module")
def documents() -> list[str]:
    return [json.dumps(d) for d in resolved_documents(ACCOUNT, hosted_zones=("ZOWNED1234",))]


CASES: list[tuple[str, str, str, dict[str, str], Decision]] = [
    # Roles: created or given policies only with the boundary; never the boundary changed or removed.
    ("without boundary", "iam:CreateRole", PIPELINE_ROLE, {"iam:PermissionsBoundary": ""}, Decision.IMPLICIT_DENY),
    ("other boundary", "iam:PutRolePolicy", PIPELINE_ROLE, {"iam:PermissionsBoundary": f"{IAM}:policy/x"},
     Decision.IMPLICIT_DENY),
    ("with boundary", "iam:CreateRole", PIPELINE_ROLE, {"iam:PermissionsBoundary": BOUNDARY}, Decision.ALLOWED),
    ("with boundary", "iam:AttachRolePolicy", PIPELINE_ROLE, {"iam:PermissionsBoundary": BOUNDARY}, Decision.ALLOWED),
    ("boundary edited", "iam:CreatePolicyVersion", BOUNDARY, {}, Decision.EXPLICIT_DENY),
    ("boundary deleted", "iam:DeletePolicy", BOUNDARY, {}, Decision.EXPLICIT_DENY),
    ("boundary removed", "iam:DeleteRolePermissionsBoundary", PIPELINE_ROLE, {}, Decision.EXPLICIT_DENY),
    # Its own name matches pipectl-*, but the control plane's roles are out of reach.
    ("own trust", "iam:UpdateAssumeRolePolicy", EXECUTION_ROLE, {}, Decision.EXPLICIT_DENY),
    ("own policy", "iam:PutRolePolicy", EXECUTION_ROLE, {"iam:PermissionsBoundary": BOUNDARY},
     Decision.EXPLICIT_DENY),
    ("pass itself", "iam:PassRole", EXECUTION_ROLE, {"iam:PassedToService": "lambda.amazonaws.com"},
     Decision.EXPLICIT_DENY),
    ("users", "iam:PutUserPolicy", f"{IAM}:user/someone", {}, Decision.EXPLICIT_DENY),
    # PassRole: only to the services pipeline stacks pass roles to.
    ("to lambda", "iam:PassRole", PIPELINE_ROLE, {"iam:PassedToService": "lambda.amazonaws.com"}, Decision.ALLOWED),
    ("to codebuild", "iam:PassRole", PIPELINE_ROLE, {"iam:PassedToService": "codebuild.amazonaws.com"},
     Decision.IMPLICIT_DENY),
    ("to cloudformation", "iam:PassRole", PIPELINE_ROLE, {"iam:PassedToService": "cloudformation.amazonaws.com"},
     Decision.IMPLICIT_DENY),
    # Keys: administered only where pipectl's tag is.
    ("foreign key", "kms:PutKeyPolicy", KEY, {"aws:ResourceTag/pipectl:managed-by": "someone"},
     Decision.IMPLICIT_DENY),
    ("foreign key", "kms:ScheduleKeyDeletion", KEY, {"aws:ResourceTag/pipectl:managed-by": "someone"},
     Decision.IMPLICIT_DENY),
    ("own key", "kms:ScheduleKeyDeletion", KEY, {"aws:ResourceTag/pipectl:managed-by": "pipectl"}, Decision.ALLOWED),
    # Hosted zones: only those _console.yaml lists.
    ("other zone", "route53:ChangeResourceRecordSets", "arn:aws:route53:::hostedzone/ZOTHER", {},
     Decision.IMPLICIT_DENY),
    ("owned zone", "route53:ChangeResourceRecordSets", "arn:aws:route53:::hostedzone/ZOWNED1234", {},
     Decision.ALLOWED),
    # Client secrets: only of pipectl's pools.
    ("foreign pool", "cognito-idp:DescribeUserPoolClient", POOL, {"aws:ResourceTag/pipectl:managed-by": "x"},
     Decision.IMPLICIT_DENY),
    ("own pool", "cognito-idp:DescribeUserPoolClient", POOL, {"aws:ResourceTag/pipectl:managed-by": "pipectl"},
     Decision.ALLOWED),
    # Buckets: the control plane's are never opened, though they are named pipectl-*.
    ("artifacts", "s3:PutBucketPolicy", "arn:aws:s3:::pipectl-delivery-artifactbucket-abc", {},
     Decision.EXPLICIT_DENY),
    ("templates", "s3:PutBucketPolicy", "arn:aws:s3:::pipectl-bootstrap-templatebucket-abc", {},
     Decision.EXPLICIT_DENY),
    ("data", "s3:PutBucketPolicy", "arn:aws:s3:::pipectl-shop-prod-storage-databucket-abc", {}, Decision.ALLOWED),
]  # fmt: skip


@pytest.mark.parametrize(("case", "action", "resource", "context", "expected"), CASES, ids=[c[0] for c in CASES])
def test_the_execution_role_reaches_only_pipectl_resources(
    documents: list[str], case: str, action: str, resource: str, context: dict[str, str], expected: Decision
) -> None:
    assert decide(documents, action, resource, context) is expected


def test_without_listed_zones_no_record_can_change() -> None:
    documents = [json.dumps(d) for d in resolved_documents(ACCOUNT)]
    zone = "arn:aws:route53:::hostedzone/ZANY"
    assert decide(documents, "route53:ChangeResourceRecordSets", zone) is Decision.IMPLICIT_DENY


def test_the_boundary_denies_administration_and_escalation_and_allows_the_rest() -> None:
    values = {"${AWS::Partition}": "aws", "${AWS::AccountId}": ACCOUNT}
    document = _substituted(encode_to_dict(boundary.document()), values)
    capped = [json.dumps(document)]
    for action in ("iam:CreateUser", "iam:PassRole", "organizations:LeaveOrganization", "ec2:RunInstances",
                   "lambda:UpdateFunctionCode", "lambda:CreateEventSourceMapping", "kms:PutKeyPolicy"):  # fmt: skip
        assert decide(capped, action, "*") is Decision.EXPLICIT_DENY, action
    assert decide(capped, "sts:AssumeRole", f"{IAM}:role/Administrator") is Decision.EXPLICIT_DENY
    assert decide(capped, "sts:AssumeRole", f"{IAM}:role/pipectl-shop-prod-x") is Decision.ALLOWED
    assert decide(capped, "s3:PutObject", "arn:aws:s3:::pipectl-shop/raw/x") is Decision.ALLOWED


def _roles(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == "AWS::IAM::Role"}


def test_every_role_of_every_console_and_pipeline_template_carries_the_boundary(tmp_path: Path) -> None:
    builds = synthesize(load_directory(REPO / "pipelines.d", "pipelines.d"), tmp_path)
    seen = 0
    for build in builds:
        template = json.loads(build.text)
        expected = {"Ref": "PermissionsBoundary"} if build.entry.kind == "console" else {"Fn::Sub": boundary.ARN}
        for logical_id, role in _roles(template).items():
            assert role["Properties"].get("PermissionsBoundary") == expected, (build.entry.name, logical_id)
            seen += 1
    assert seen > 20
    console = next(json.loads(b.text) for b in builds if b.entry.kind == "console")
    policy = console["Resources"]["PermissionsBoundary"]
    assert policy["Type"] == "AWS::IAM::ManagedPolicy"
    assert policy["Properties"]["ManagedPolicyName"] == boundary.POLICY_NAME


def test_the_delivery_roles_bootstrap_deploys_carry_none() -> None:
    """Only bootstrap deploys the delivery stack; its execution role needs what the boundary denies."""
    from generator.contract import StackKind
    from generator.stacks.synth import stack_build

    delivery = build_delivery(DeliverySpec(CodeCommitSource("pipectl-config")))
    built = stack_build("pipectl-delivery", StackKind.DELIVERY, delivery, "delivery.json", "eu-west-1", {}, None, True)
    assert all("PermissionsBoundary" not in r["Properties"] for r in _roles(json.loads(built.text)).values())
