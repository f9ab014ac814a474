"""Which action, on which resource, the local target checks for one resource operation (no server needed)."""

from __future__ import annotations

import json
from typing import Any

from generator.deploy.local.execution_role import Operation, denial
from generator.policy.execution import resolved_documents

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/pipectl-delivery-ExecutionRole-X"


def documents(without: str | None = None) -> list[str]:
    out = []
    for document in resolved_documents(ACCOUNT):
        for statement in document["Statement"]:
            statement["Action"] = [a for a in statement["Action"] if a != without] or ["sts:GetCallerIdentity"]
        out.append(json.dumps(document))
    return out


def create(resource_type: str, name: str | None, properties: dict[str, Any] | None = None) -> Operation:
    return Operation("create", "Thing", resource_type, name, None, properties or {}, ACCOUNT, "eu-west-1")


def test_the_derived_role_allows_what_pipectl_creates() -> None:
    assert denial(ROLE, documents(), create("AWS::S3::Bucket", "pipectl-shop-test-storage-databucket-1")) is None
    assert denial(ROLE, documents(), create("AWS::KMS::Alias", "alias/pipectl/shop/test")) is None


def test_the_resource_is_named_by_its_own_arn() -> None:
    reason = denial(ROLE, documents(), create("AWS::S3::Bucket", "someone-elses-bucket"))
    assert reason is not None and reason.startswith(
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/pipectl-delivery-ExecutionRole-X/AWSCloudFormation is not "
        "authorized to perform: s3:CreateBucket on resource: arn:aws:s3:::someone-elses-bucket because no "
        "identity-based policy allows the s3:CreateBucket action (Service: S3, Status Code: 403, Request ID: "
    )


def test_pass_role_is_checked_on_the_role_the_properties_name() -> None:
    function = {"Role": f"arn:aws:iam::{ACCOUNT}:role/other-team-role", "FunctionName": "pipectl-x-sink"}
    reason = denial(ROLE, documents(), create("AWS::Lambda::Function", "pipectl-x-sink", function))
    assert reason is not None and f"iam:PassRole on resource: arn:aws:iam::{ACCOUNT}:role/other-team-role" in reason


def test_an_action_without_a_resource_type_is_checked_on_star() -> None:
    reason = denial(ROLE, documents(without="kms:CreateKey"), create("AWS::KMS::Key", None))
    assert reason is not None and "kms:CreateKey on resource: * because" in reason


def test_a_secret_reference_needs_get_secret_value_on_that_secret() -> None:
    secret = f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:oidc-AbCdEf"
    rule = {
        "Actions": [
            {"AuthenticateOidcConfig": {"ClientSecret": f"{{{{resolve:secretsmanager:{secret}:SecretString:x}}}}"}}
        ]
    }
    op = create("AWS::ElasticLoadBalancingV2::ListenerRule", None, rule)
    granted = {"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"], "Resource": [secret]}
    grant = json.dumps({"Version": "2012-10-17", "Statement": [granted]})
    assert denial(ROLE, [*documents(), grant], op) is None
    # No shipped template resolves a secret, so the derived role does not grant it: refused, as on AWS.
    reason = denial(ROLE, documents(), op)
    assert reason is not None and f"secretsmanager:GetSecretValue on resource: {secret} because" in reason
    assert "(Service: secretsmanager," in reason
