"""IAM's identity-policy evaluation as the local target applies it to the execution role."""

from __future__ import annotations

import json
from typing import Any

from generator.deploy.local.iam_eval import Decision, decide

BUCKET = "arn:aws:s3:::pipectl-shop-test-storage-databucket-1"


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def test_allow_on_the_resource_and_implicit_deny_elsewhere() -> None:
    policy = doc(allow("s3:CreateBucket", "arn:aws:s3:::pipectl-*"))
    assert decide([policy], "s3:CreateBucket", BUCKET) is Decision.ALLOWED
    assert decide([policy], "s3:CreateBucket", "arn:aws:s3:::other") is Decision.IMPLICIT_DENY
    assert decide([policy], "s3:DeleteBucket", BUCKET) is Decision.IMPLICIT_DENY


def test_actions_match_case_insensitively_with_wildcards_and_resources_case_sensitively() -> None:
    policy = doc(allow(["S3:put*Configuration", "s3:GetBucket?cl"], "arn:aws:s3:::pipectl-*"))
    assert decide([policy], "s3:PutMetricsConfiguration", BUCKET) is Decision.ALLOWED
    assert decide([policy], "s3:getbucketacl", BUCKET) is Decision.ALLOWED
    assert decide([policy], "s3:PutMetricsConfiguration", "arn:aws:s3:::PIPECTL-x") is Decision.IMPLICIT_DENY


def test_an_explicit_deny_wins_in_any_document() -> None:
    granted = doc(allow("s3:*", "*"))
    denied = doc({"Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": BUCKET})
    assert decide([granted, denied], "s3:DeleteBucket", BUCKET) is Decision.EXPLICIT_DENY
    assert decide([granted, denied], "s3:CreateBucket", BUCKET) is Decision.ALLOWED


def test_not_action_and_not_resource() -> None:
    policy = doc({"Effect": "Allow", "NotAction": "iam:*", "NotResource": "arn:aws:s3:::secret"})
    assert decide([policy], "s3:CreateBucket", BUCKET) is Decision.ALLOWED
    assert decide([policy], "iam:CreateRole", BUCKET) is Decision.IMPLICIT_DENY
    assert decide([policy], "s3:CreateBucket", "arn:aws:s3:::secret") is Decision.IMPLICIT_DENY


def test_an_action_without_a_resource_type_matches_only_star() -> None:
    scoped = doc(allow("kinesis:UpdateShardCount", "arn:aws:kinesis:*:123456789012:*"))
    anywhere = doc(allow("kinesis:UpdateShardCount", "*"))
    assert decide([scoped], "kinesis:UpdateShardCount", "*") is Decision.IMPLICIT_DENY
    assert decide([anywhere], "kinesis:UpdateShardCount", "*") is Decision.ALLOWED


def test_some_resource_when_the_resource_cannot_be_known_offline() -> None:
    policy = doc(allow("ec2:CreateVpc", "arn:aws:ec2:*:123456789012:*"))
    assert decide([policy], "ec2:CreateVpc", None) is Decision.ALLOWED
    scoped_deny = doc({"Effect": "Deny", "Action": "ec2:CreateVpc", "Resource": "arn:aws:ec2:*:1:vpc/x"})
    assert decide([policy, scoped_deny], "ec2:CreateVpc", None) is Decision.ALLOWED
    deny_all = doc({"Effect": "Deny", "Action": "ec2:*", "Resource": "*"})
    assert decide([policy, deny_all], "ec2:CreateVpc", None) is Decision.EXPLICIT_DENY


def test_known_conditions_are_evaluated_and_unknown_ones_hold() -> None:
    role = "arn:aws:iam::123456789012:role/pipectl-x"
    policy = doc(
        allow("iam:PassRole", role, Condition={"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}})
    )
    assert decide([policy], "iam:PassRole", role, {"iam:PassedToService": "lambda.amazonaws.com"}) is Decision.ALLOWED
    assert decide([policy], "iam:PassRole", role, {"iam:PassedToService": "ecs-tasks.amazonaws.com"}) is (
        Decision.IMPLICIT_DENY
    )
    assert decide([policy], "iam:PassRole", role, {}) is Decision.ALLOWED  # not known offline: the statement applies
    tagged = doc(allow("sqs:CreateQueue", "*", Condition={"StringLike": {"aws:RequestTag/pipectl:pipeline": "shop*"}}))
    assert decide([tagged], "sqs:CreateQueue", "*", {"aws:RequestTag/pipectl:pipeline": "shop"}) is Decision.ALLOWED
    assert decide([tagged], "sqs:CreateQueue", "*", {"aws:RequestTag/pipectl:pipeline": "mobile"}) is (
        Decision.IMPLICIT_DENY
    )
    deny_unknown = doc(
        {
            "Effect": "Deny",
            "Action": "*",
            "Resource": "*",
            "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "false"}},
        }
    )
    assert decide([tagged, deny_unknown], "sqs:CreateQueue", "*", {}) is Decision.EXPLICIT_DENY
