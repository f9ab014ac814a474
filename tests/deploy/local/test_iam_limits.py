"""The local IAM enforces IAM's policy size quotas, which moto only reports (plain moto accepts all of these)."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from generator.deploy.local import LocalSession
from tests.deploy.local.conftest import unique

TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "cloudformation.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)


def document(chars: int) -> str:
    """A policy of about `chars` characters without whitespace (IAM counts those), padded with whitespace."""
    names = [f"s3:GetObjectVersion{i:05d}" for i in range(chars // 27)]
    body = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": names, "Resource": "*"}]}
    return json.dumps(body, indent=8)


def test_a_managed_policy_over_6144_characters_is_refused(session: LocalSession) -> None:
    iam = session.client("iam")
    small = document(6000)
    assert len(small) > 6144  # whitespace does not count
    iam.create_policy(PolicyName=unique("fits"), PolicyDocument=small)
    with pytest.raises(ClientError, match=r"LimitExceeded.*Cannot exceed quota for PolicySize: 6144"):
        iam.create_policy(PolicyName=unique("too-big"), PolicyDocument=document(6300))
    arn = iam.create_policy(PolicyName=unique("grows"), PolicyDocument=document(100))["Policy"]["Arn"]
    with pytest.raises(ClientError, match="PolicySize: 6144"):
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=document(6300), SetAsDefault=True)


def test_a_roles_inline_policies_share_10240_characters(session: LocalSession) -> None:
    iam = session.client("iam")
    role = unique("inline")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=TRUST)
    iam.put_role_policy(RoleName=role, PolicyName="one", PolicyDocument=document(6000))
    iam.put_role_policy(RoleName=role, PolicyName="one", PolicyDocument=document(6000))  # replacing is not adding
    with pytest.raises(ClientError, match=f"Maximum policy size of 10240 bytes exceeded for role {role}"):
        iam.put_role_policy(RoleName=role, PolicyName="two", PolicyDocument=document(5000))


def test_a_role_takes_at_most_ten_managed_policies(session: LocalSession) -> None:
    iam = session.client("iam")
    role = unique("attached")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=TRUST)
    arns = [iam.create_policy(PolicyName=unique("p"), PolicyDocument=document(100))["Policy"]["Arn"] for _ in range(11)]
    for arn in arns[:10]:
        iam.attach_role_policy(RoleName=role, PolicyArn=arn)
    with pytest.raises(ClientError, match="Cannot exceed quota for PoliciesPerRole: 10"):
        iam.attach_role_policy(RoleName=role, PolicyArn=arns[10])
