"""Property rows: before → after, cut to a line, secrets and dynamic references never printed."""

from __future__ import annotations

import json

from generator.deploy.properties import DYNAMIC, HIDDEN, diff_properties, from_details, show


def test_changed_leaves_are_listed_with_create_only_ones_marked() -> None:
    before = {"MaxCapacity": 8, "MinCapacity": 2, "Tags": [{"Key": "a", "Value": "1"}]}
    after = {"MaxCapacity": 10, "MinCapacity": 2, "Tags": [{"Key": "a", "Value": "2"}]}
    rows = diff_properties("AWS::ApplicationAutoScaling::ScalableTarget", before, after)
    assert [(r.path, r.before, r.after, r.replaces) for r in rows] == [
        ("MaxCapacity", "8", "10", False),
        ("Tags[0].Value", "1", "2", False),
    ]
    renamed = diff_properties("AWS::Kinesis::Stream", {}, {"Name": "events"})
    assert [(r.path, r.before, r.after, r.replaces) for r in renamed] == [("Name", "(none)", "events", True)]


def test_secrets_dynamic_references_and_no_echo_parameters_are_hidden() -> None:
    rows = diff_properties(
        "AWS::RDS::DBInstance",
        {"MasterUserPassword": "old-pass", "Endpoint": "{{resolve:secretsmanager:db:SecretString:host}}"},
        {"MasterUserPassword": "new-pass", "Endpoint": "{{resolve:secretsmanager:db2:SecretString:host}}"},
    )
    assert {(r.before, r.after) for r in rows} == {(HIDDEN, HIDDEN), (DYNAMIC, DYNAMIC)}
    assert "pass" not in json.dumps([r.__dict__ for r in rows])
    assert show({"Ref": "DbPassword"}, "Value", frozenset({"DbPassword"})) == HIDDEN


def test_long_values_are_cut_and_intrinsics_read_short() -> None:
    assert show("x" * 200).endswith("…") and len(show("x" * 200)) == 60
    assert show({"Fn::GetAtt": ["Key", "Arn"]}) == "GetAtt(Key.Arn)"
    assert show({"Fn::Sub": ["${B}/raw/*", {"B": {"Fn::ImportValue": "s:Arn"}}]}) == "${ImportValue(s:Arn)}/raw/*"


def test_aws_before_and_after_values_from_the_change_set() -> None:
    """DescribeChangeSet with IncludePropertyValues, as AWS answers it (the local target gives no values)."""
    details = [
        {
            "Target": {
                "Attribute": "Properties",
                "Name": "MaxCapacity",
                "Path": "/Properties/MaxCapacity",
                "RequiresRecreation": "Never",
                "BeforeValue": "8",
                "AfterValue": "10",
                "AttributeChangeType": "Modify",
            }
        },
        {"Target": {"Attribute": "Properties", "Name": "Password", "BeforeValue": "****", "AfterValue": "****"}},
        {"Target": {"Attribute": "Tags", "RequiresRecreation": "Never"}},
        {"Target": {"Attribute": "Properties", "Name": "Name"}},  # no values: left to the template diff
    ]
    rows = from_details(details)
    assert [(r.path, r.before, r.after, r.replaces) for r in rows] == [
        ("MaxCapacity", "8", "10", False),
        ("Password", HIDDEN, HIDDEN, False),
    ]
