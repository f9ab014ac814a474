"""Statement and rule diffs: widening only when access is added, narrowing shown as narrowing."""

from __future__ import annotations

from typing import Any

from generator.deploy.access import Access, diff_access


def role(*statements: dict[str, Any], trust: str = "lambda.amazonaws.com") -> dict[str, Any]:
    return {
        "AssumeRolePolicyDocument": {
            "Statement": [{"Effect": "Allow", "Principal": {"Service": trust}, "Action": "sts:AssumeRole"}]
        },
        "Policies": [{"PolicyName": "p", "PolicyDocument": {"Statement": list(statements)}}],
    }


READ = {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::b/*"}
READ_WRITE = {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "arn:aws:s3:::b/*"}


def test_an_added_action_widens_and_its_removal_narrows() -> None:
    wider = diff_access("AWS::IAM::Role", role(READ), role(READ_WRITE))
    assert wider.access == Access.WIDENING
    assert wider.granted == ["s3:PutObject on arn:aws:s3:::b/* to (this role)"] and wider.revoked == []
    assert [(s.change, s.actions) for s in wider.statements] == [
        ("removed", "s3:GetObject"),
        ("added", "s3:GetObject, s3:PutObject"),
    ]
    narrower = diff_access("AWS::IAM::Role", role(READ_WRITE), role(READ))
    assert narrower.access == Access.NARROWING and not narrower.access.widens


def test_a_wildcard_covers_what_it_names_and_a_condition_narrows() -> None:
    star = {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b/*"}
    assert diff_access("AWS::IAM::Role", role(star), role(READ)).access == Access.NARROWING
    conditioned = {**READ, "Condition": {"Bool": {"aws:SecureTransport": "true"}}}
    assert diff_access("AWS::IAM::Role", role(READ), role(conditioned)).access == Access.NARROWING
    assert diff_access("AWS::IAM::Role", role(conditioned), role(READ)).access == Access.WIDENING


def test_deny_statements_count_the_other_way() -> None:
    deny = {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::b/*"}
    allow = {"Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"}, "Action": "s3:PutObject"}
    before = {"PolicyDocument": {"Statement": [allow, deny]}}
    after = {"PolicyDocument": {"Statement": [allow]}}
    removed = diff_access("AWS::S3::BucketPolicy", before, after)
    assert removed.access == Access.WIDENING and removed.granted[0].startswith("deny s3:* on")
    assert diff_access("AWS::S3::BucketPolicy", after, before).access == Access.NARROWING


def test_trust_and_key_and_topic_policies_are_read() -> None:
    widened_trust = diff_access("AWS::IAM::Role", role(READ), role(READ, trust="ecs-tasks.amazonaws.com"))
    assert widened_trust.access == Access.BOTH
    assert {s.policy for s in widened_trust.statements} == {"trust policy"}
    key = {"KeyPolicy": {"Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:*"}]}}
    assert diff_access("AWS::KMS::Key", {"KeyPolicy": {"Statement": []}}, key).access == Access.WIDENING
    topic = {"PolicyDocument": {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sns:Publish"}]}}
    assert diff_access("AWS::SNS::TopicPolicy", topic, None).access == Access.NARROWING


def test_security_group_rules_as_direction_protocol_ports_peer() -> None:
    https = {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "0.0.0.0/0"}
    every = {"IpProtocol": "-1", "CidrIp": "10.0.0.0/8"}
    diff = diff_access("AWS::EC2::SecurityGroup", {"SecurityGroupIngress": [https]}, {"SecurityGroupIngress": [every]})
    assert [(r.change, r.direction, r.protocol, r.ports, r.peer) for r in diff.rules] == [
        ("removed", "ingress", "tcp", "443", "0.0.0.0/0"),
        ("added", "ingress", "all", "all", "10.0.0.0/8"),
    ]
    assert diff.access == Access.BOTH
    assert diff_access("AWS::EC2::SecurityGroupIngress", None, https).access == Access.WIDENING
    unchanged = diff_access(
        "AWS::EC2::SecurityGroup", {"SecurityGroupIngress": [https]}, {"SecurityGroupIngress": [https]}
    )
    assert unchanged.access == Access.NONE and unchanged.rules == []
