"""`jwt-validation` on the local target: accepted where ELBv2 accepts it, refused where ELBv2 refuses it.

moto 5.2.5 refuses the action type outright; without the local target's extension a template that AWS
deploys would fail locally, and with a blanket allowance a rule AWS refuses would pass.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from generator.deploy.local import LocalSession
from tests.deploy.local.conftest import unique

VALID = {
    "Issuer": "https://login.example.com",
    "JwksEndpoint": "https://login.example.com/.well-known/jwks.json",
    "AdditionalClaims": [{"Name": "aud", "Format": "single-string", "Values": ["collector"]}],
}


@pytest.fixture(scope="module")
def listener(session: LocalSession) -> dict[str, str]:
    ec2, elb = session.client("ec2"), session.client("elbv2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.9.{i}.0/24", AvailabilityZone=f"eu-west-1{zone}")["Subnet"][
            "SubnetId"
        ]
        for i, zone in enumerate("ab")
    ]
    balancer = elb.create_load_balancer(Name=unique("jwt"), Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
    group = elb.create_target_group(Name=unique("jwt"), Protocol="HTTP", Port=8080, VpcId=vpc)["TargetGroups"][0]
    created = elb.create_listener(
        LoadBalancerArn=balancer,
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}],
    )
    return {"listener": created["Listeners"][0]["ListenerArn"], "group": group["TargetGroupArn"]}


def _rule(session: LocalSession, listener: dict[str, str], priority: int, jwt: dict[str, Any]) -> dict[str, Any]:
    return session.client("elbv2").create_rule(  # type: ignore[no-any-return]
        ListenerArn=listener["listener"],
        Priority=priority,
        Conditions=[{"Field": "path-pattern", "Values": ["/collect"]}],
        Actions=[
            {"Type": "jwt-validation", "Order": 1, **jwt},
            {"Type": "forward", "Order": 2, "TargetGroupArn": listener["group"]},
        ],
    )


def test_a_valid_jwt_validation_rule_is_created_and_read_back(session: LocalSession, listener: dict[str, str]) -> None:
    rule = _rule(session, listener, 10, {"JwtValidationConfig": VALID})["Rules"][0]
    found = session.client("elbv2").describe_rules(RuleArns=[rule["RuleArn"]])["Rules"][0]
    assert [a["Type"] for a in found["Actions"]] == ["jwt-validation", "forward"]


@pytest.mark.parametrize(
    ("jwt", "reason"),
    [
        ({}, "JwtValidationConfig is required"),
        ({"JwtValidationConfig": {"JwksEndpoint": VALID["JwksEndpoint"], "Issuer": ""}}, "Issuer is required"),
        ({"JwtValidationConfig": {"Issuer": VALID["Issuer"], "JwksEndpoint": ""}}, "JwksEndpoint is required"),
        (
            {"JwtValidationConfig": {**VALID, "JwksEndpoint": "http://login.example.com/jwks"}},
            "must be an HTTPS URL",
        ),
        (
            {
                "JwtValidationConfig": {
                    **VALID,
                    "AdditionalClaims": [{"Name": "exp", "Format": "single-string", "Values": ["1"]}],
                }
            },
            "'exp' is not allowed",
        ),
    ],
)
def test_an_invalid_jwt_validation_rule_is_refused(
    session: LocalSession, listener: dict[str, str], jwt: dict[str, Any], reason: str
) -> None:
    with pytest.raises(ClientError) as refused:
        _rule(session, listener, 20, jwt)
    assert reason in refused.value.response["Error"]["Message"]


def test_unknown_action_types_are_still_refused(session: LocalSession, listener: dict[str, str]) -> None:
    with pytest.raises(ClientError) as refused:
        session.client("elbv2").create_rule(
            ListenerArn=listener["listener"],
            Priority=30,
            Conditions=[{"Field": "path-pattern", "Values": ["/x"]}],
            Actions=[{"Type": "jwt-check", "Order": 1}],
        )
    assert "jwt-check" in str(refused.value)


def test_a_stack_with_a_jwt_validation_rule_is_created(session: LocalSession, listener: dict[str, str]) -> None:
    """The CloudFormation path reads moto's other list of allowed types."""
    template = {
        "Resources": {
            "Rule": {
                "Type": "AWS::ElasticLoadBalancingV2::ListenerRule",
                "Properties": {
                    "ListenerArn": listener["listener"],
                    "Priority": 40,
                    "Conditions": [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/events"]}}],
                    "Actions": [
                        {"Type": "jwt-validation", "Order": 1, "JwtValidationConfig": VALID},
                        {"Type": "forward", "Order": 2, "TargetGroupArn": listener["group"]},
                    ],
                },
            }
        }
    }
    name = unique("jwt-rule")
    cfn = session.client("cloudformation")
    cfn.create_stack(StackName=name, TemplateBody=json.dumps(template))
    assert cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    rules = session.client("elbv2").describe_rules(ListenerArn=listener["listener"])["Rules"]
    assert any(r["Priority"] == "40" and r["Actions"][0]["Type"] == "jwt-validation" for r in rules)
