"""One embedded local AWS per test module, and a helper that deploys a template through it."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from generator.deploy.local import EmbeddedAws, LocalSession, local_session, start_embedded

REGION = "eu-west-1"
_names = itertools.count()


@pytest.fixture(scope="module")
def aws() -> Iterator[EmbeddedAws]:
    """moto keeps one account per process: a module starts from an empty one, whatever ran before it."""
    with start_embedded() as server:
        requests.post(f"{server.endpoint}/moto-api/reset", timeout=10)
        yield server


@pytest.fixture(scope="module")
def session(aws: EmbeddedAws) -> LocalSession:
    return local_session(aws.endpoint, REGION)


def unique(prefix: str) -> str:
    return f"{prefix}-{next(_names)}"


def create_stack(session: LocalSession, template: dict[str, Any], name: str) -> dict[str, str]:
    """create_stack over HTTP; returns the stack's outputs."""
    cfn = session.client("cloudformation")
    cfn.create_stack(StackName=name, TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_IAM"])
    return outputs(session, name)


def change_set(session: LocalSession, template: dict[str, Any], name: str, kind: str) -> dict[str, str]:
    """create_change_set (CREATE or UPDATE) then execute_change_set; returns the stack's outputs."""
    cfn = session.client("cloudformation")
    change = cfn.create_change_set(
        StackName=name,
        ChangeSetName=unique("cs"),
        ChangeSetType=kind,
        TemplateBody=json.dumps(template),
        Capabilities=["CAPABILITY_IAM"],
    )
    cfn.execute_change_set(ChangeSetName=change["Id"], StackName=name)
    return outputs(session, name)


def outputs(session: LocalSession, name: str) -> dict[str, str]:
    stack = session.client("cloudformation").describe_stacks(StackName=name)["Stacks"][0]
    assert stack["StackStatus"] in ("CREATE_COMPLETE", "UPDATE_COMPLETE"), stack["StackStatus"]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def physical_ids(session: LocalSession, name: str) -> dict[str, str]:
    resources = session.client("cloudformation").describe_stack_resources(StackName=name)["StackResources"]
    return {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources}


def trust(service: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
    }


def role(service: str) -> dict[str, Any]:
    return {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": trust(service)}}
