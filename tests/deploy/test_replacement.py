"""Replacement from the provider schemas' create-only properties, and plan.md's use of it."""

from __future__ import annotations

from typing import Any

import pytest

from generator.deploy.apply import apply_now
from generator.deploy.aws import Aws
from generator.deploy.plan import make_plan
from generator.deploy.replacement import between_templates, references, replacement, replacements
from generator.deploy.report import render_plan
from tests.deploy.conftest import Build


@pytest.mark.parametrize(
    ("old", "new", "replaced", "expected"),
    [
        ({"QueueName": "a"}, {"QueueName": "b"}, (), "True"),
        ({"QueueName": "a", "VisibilityTimeout": 30}, {"QueueName": "a", "VisibilityTimeout": 60}, (), "False"),
        ({}, {"QueueName": "b"}, (), "True"),  # a name given where there was none
        ({"QueueName": {"Ref": "Name"}}, {"QueueName": {"Ref": "Name"}, "DelaySeconds": 5}, {"Name"}, "Conditional"),
        ({"QueueName": {"Fn::Sub": "${Topic.TopicName}-q"}}, {"QueueName": {"Fn::Sub": "${Topic.TopicName}-q"}},
         {"Topic"}, "Conditional"),
        ({"QueueName": {"Ref": "Other"}}, {"QueueName": {"Ref": "Other"}}, {"Topic"}, "False"),
    ],
)  # fmt: skip
def test_queue_replacement(old: dict[str, Any], new: dict[str, Any], replaced: set[str], expected: str) -> None:
    assert replacement("AWS::SQS::Queue", old, new, replaced) == expected


def test_nested_create_only_paths_are_compared() -> None:
    # AWS::DynamoDB::Table: /properties/ImportSourceSpecification is create-only, KeySchema is not.
    old = {"KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}]}
    assert (
        replacement("AWS::DynamoDB::Table", old, {"KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}]}) == "False"
    )
    assert replacement("AWS::DynamoDB::Table", old, {**old, "TableName": "t"}) == "True"


def test_replacement_propagates_to_dependents_as_conditional() -> None:
    types = {"Topic": "AWS::SNS::Topic", "Subscription": "AWS::SNS::Subscription"}
    subscription = {"TopicArn": {"Ref": "Topic"}, "Protocol": "email", "Endpoint": "ops@example.com"}
    answers = replacements(
        types,
        {"Topic": {"TopicName": "a"}, "Subscription": subscription},
        {"Topic": {"TopicName": "b"}, "Subscription": {**subscription, "FilterPolicy": {}}},
    )
    assert answers == {"Topic": "True", "Subscription": "Conditional"}


def test_references_reads_ref_getatt_and_sub() -> None:
    value = {"Fn::Join": ["", [{"Ref": "A"}, {"Fn::GetAtt": ["B", "Arn"]}, {"Fn::GetAtt": "C.Arn"},
                               {"Fn::Sub": ["${D}-${E.Name}-${!Literal}", {"X": {"Ref": "F"}}]}]]}  # fmt: skip
    assert references(value) == {"A", "B", "C", "D", "E", "F"}


def test_between_templates_reads_properties_of_both() -> None:
    old = {"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "a"}}}}
    new = {"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}
    assert between_templates({"Q": "AWS::SQS::Queue"}, old, new) == {"Q": "True"}


def test_plan_computes_replacement_the_target_did_not_report(aws: Aws, build: Build) -> None:
    """Fault injection: the local target reports Replacement, so it is stripped from its answers here to
    stand for a target that does not; plan must then compute it from the schemas, not say "unknown"."""
    build.pipeline("shop", kinds=("storage",))
    manifest = build.write()
    assert apply_now(aws, manifest, "one")[1].ok
    storage = build.stacks["pipectl-shop-test-storage"]["template"]["Resources"]
    storage["Queue"]["Properties"]["QueueName"] = "shop-test-events-renamed"
    storage["DataBucket"]["Properties"]["Tags"] = [{"Key": "team", "Value": "data"}]
    manifest = build.write()

    def strip(parsed: dict[str, Any], **_: Any) -> None:
        for change in parsed.get("Changes") or []:
            change.get("ResourceChange", {}).pop("Replacement", None)

    aws.cfn().read.meta.events.register("after-call.cloudformation.DescribeChangeSet", strip)
    plan = make_plan(aws, manifest, "two")
    stack = plan.get("pipectl-shop-test-storage")
    assert stack is not None
    assert {c.resource: c.replacement for c in stack.changes if c.action == "Modify"} == {
        "Queue": "True", "DataBucket": "False"}  # fmt: skip
    assert "unknown replacement" not in render_plan(plan, manifest)
