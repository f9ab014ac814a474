"""The shop pipeline's stacks that `pipectl smoke` and `pipectl run` read (ingestion's collector endpoint,
processing's state machine, monitoring's dashboard), reduced to what they use, in a build/ and deployed."""

from __future__ import annotations

import json
from typing import Any

from generator.deploy.aws import Aws
from generator.deploy.manifest import Manifest
from tests.deploy.conftest import Build

DEFINITION = json.dumps({"StartAt": "Enrich", "States": {"Enrich": {"Type": "Pass", "End": True}}})
DASHBOARD = json.dumps(
    {"widgets": [{"type": "text", "x": 0, "y": 0, "width": 6, "height": 2, "properties": {"markdown": "shop"}}]}
)


def templates(endpoint: str) -> dict[str, dict[str, Any]]:
    """The three stacks smoke reads, reduced to the resources and outputs it uses."""
    role = {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            }
        },
    }
    return {
        "ingestion": {
            "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
            "Outputs": {"CollectorEndpoint": {"Value": endpoint}},
        },
        "processing": {
            "Resources": {
                "Role": role,
                "Machine": {
                    "Type": "AWS::StepFunctions::StateMachine",
                    "Properties": {
                        "StateMachineName": "pipectl-shop-test",
                        "DefinitionString": DEFINITION,
                        "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]},
                    },
                },
            },
            "Outputs": {"StateMachineArn": {"Value": {"Ref": "Machine"}}},
        },
        "monitoring": {
            "Resources": {
                "Dashboard": {
                    "Type": "AWS::CloudWatch::Dashboard",
                    "Properties": {"DashboardName": "pipectl-shop-test", "DashboardBody": DASHBOARD},
                }
            },
            "Outputs": {"DashboardName": {"Value": {"Ref": "Dashboard"}}},
        },
    }


def deploy(
    aws: Aws,
    build: Build,
    endpoint: str = "https://collect.shop.example.com/collect",
    env: str = "test",
    deployed: bool = True,
) -> Manifest:
    for kind, template in templates(endpoint).items():
        name = f"pipectl-shop-{env}-{kind}"
        build.add(name, kind, template, "shop", env)
        if deployed:
            aws.cfn().create_stack(StackName=name, TemplateBody=json.dumps(template))
    return build.write()
