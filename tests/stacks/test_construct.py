"""The per-class constructor builds exactly the objects troposphere's own constructor builds."""

from __future__ import annotations

from typing import Any

import pytest
import troposphere
from troposphere import BaseAWSObject, Output, Parameter, Ref, Sub, Tags, Template
from troposphere.cloudwatch import Alarm, MetricDimension
from troposphere.ecs import Environment
from troposphere.iam import Policy, Role
from troposphere.s3 import Bucket, BucketEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionRule

from generator.stacks import construct


class TracedBucket(Bucket):
    """A class that sets a property at class level, as troposphere allows: every object starts with it."""

    ObjectLockEnabled = True


def samples(template: Template) -> list[BaseAWSObject]:
    """Resources (bound to a template and not), properties, declarations, attributes and helper values."""
    encryption = BucketEncryption(
        ServerSideEncryptionConfiguration=[
            ServerSideEncryptionRule(
                ServerSideEncryptionByDefault=ServerSideEncryptionByDefault(SSEAlgorithm="aws:kms"),
            )
        ]
    )
    return [
        Bucket("Data", template, BucketEncryption=encryption, Tags=Tags(team="a"), DeletionPolicy="Retain"),
        Role(
            "Runner", AssumeRolePolicyDocument={"Statement": []}, Policies=[Policy(PolicyName="p", PolicyDocument={})]
        ),
        Alarm("Errors", Dimensions=[MetricDimension(Name="n", Value=Ref("AWS::StackName"))], Threshold=1.0),
        Environment(Name="MODE", Value=Sub("${AWS::Region}")),
        Output("Name", Value=Ref("Data")),
        Parameter("Size", Type="Number", Default=1),
        Bucket("Unvalidated", validation=False, DependsOn="Data"),
        TracedBucket("Traced"),
        TracedBucket("Overridden", ObjectLockEnabled=False),
    ]


def state(obj: Any) -> Any:
    """Everything an object holds, with nested troposphere objects compared the same way."""
    if isinstance(obj, BaseAWSObject):
        return {key: state(value) for key, value in vars(obj).items() if key != "template"} | {
            "template": obj.template is not None
        }
    if isinstance(obj, dict):
        return {key: state(value) for key, value in obj.items()}
    if isinstance(obj, list):
        return [state(item) for item in obj]
    if isinstance(obj, troposphere.AWSHelperFn | Tags):
        return (type(obj).__name__, state(obj.to_dict()))
    return obj


def build(monkeypatch: pytest.MonkeyPatch, init: Any) -> tuple[list[Any], dict[str, Any]]:
    with monkeypatch.context() as patch:
        patch.setattr(BaseAWSObject, "__init__", init)
        template = Template()
        objects = samples(template)
        return [state(obj) for obj in objects], template.to_dict()


def test_the_release_it_mirrors_is_the_one_installed() -> None:
    assert construct.applies(), f"troposphere {troposphere.__version__}: read its BaseAWSObject.__init__ again"


def test_objects_are_the_ones_troposphere_builds(monkeypatch: pytest.MonkeyPatch) -> None:
    ours = build(monkeypatch, construct._init)
    theirs = build(monkeypatch, construct.ORIGINAL_INIT)
    assert ours == theirs
    assert ours[1]["Resources"]["Data"]["DeletionPolicy"] == "Retain"
    assert [obj["properties"].get("ObjectLockEnabled") for obj in ours[0][-2:]] == [True, False]


def test_errors_are_the_ones_troposphere_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    for init in (construct._init, construct.ORIGINAL_INIT):
        monkeypatch.setattr(BaseAWSObject, "__init__", init)
        with pytest.raises(ValueError, match="not alphanumeric"):
            Bucket("not-valid")
        with pytest.raises(AttributeError, match="does not support attribute Nope"):
            Bucket("Data", Nope=1)
        with pytest.raises(TypeError, match="expected"):
            Role("Runner", Policies="not a list")


def test_another_release_keeps_troposphere_s_constructor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(BaseAWSObject, "__init__", construct.ORIGINAL_INIT)
    monkeypatch.setattr(troposphere, "__version__", "5.0.0")
    construct.install()
    assert BaseAWSObject.__init__ is construct.ORIGINAL_INIT
    monkeypatch.setattr(troposphere, "__version__", construct.READ_AGAINST + "9")
    construct.install()
    assert BaseAWSObject.__init__ is construct._init
