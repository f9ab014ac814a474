"""Firehose delivery streams and log streams: created by CloudFormation through pipectl's models, found by
boto3, refused where Firehose or CloudWatch Logs would refuse them, and gone with their stack."""

from __future__ import annotations

import json
from typing import Any

from generator.deploy.local import LocalSession
from tests.deploy.local.conftest import create_stack, physical_ids, role, unique


def template(role_arn: Any = None, key_type: str = "CUSTOMER_MANAGED_CMK") -> dict[str, Any]:
    encryption: dict[str, Any] = {"KeyType": key_type}
    if key_type == "CUSTOMER_MANAGED_CMK":
        encryption["KeyARN"] = {"Fn::GetAtt": ["Key", "Arn"]}
    return {
        "Resources": {
            "Key": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": {"Version": "2012-10-17", "Statement": []}}},
            "Bucket": {"Type": "AWS::S3::Bucket"},
            "DeliveryRole": role("firehose.amazonaws.com"),
            "DeliveryLogGroup": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": unique("/pipectl/t")}},
            "DeliveryLogStream": {
                "Type": "AWS::Logs::LogStream",
                "Properties": {"LogGroupName": {"Ref": "DeliveryLogGroup"}, "LogStreamName": "S3Delivery"},
            },
            "Delivery": {
                "Type": "AWS::KinesisFirehose::DeliveryStream",
                "Properties": {
                    "DeliveryStreamType": "DirectPut",
                    "DeliveryStreamEncryptionConfigurationInput": encryption,
                    "ExtendedS3DestinationConfiguration": {
                        "BucketARN": {"Fn::GetAtt": ["Bucket", "Arn"]},
                        "RoleARN": role_arn or {"Fn::GetAtt": ["DeliveryRole", "Arn"]},
                        "Prefix": "raw/!{timestamp:yyyy/MM/dd/HH}/",
                        "ErrorOutputPrefix": "delivery-errors/!{firehose:error-output-type}/",
                        "CompressionFormat": "GZIP",
                        "BufferingHints": {"SizeInMBs": 32, "IntervalInSeconds": 120},
                        "CloudWatchLoggingOptions": {
                            "Enabled": True,
                            "LogGroupName": {"Ref": "DeliveryLogGroup"},
                            "LogStreamName": {"Ref": "DeliveryLogStream"},
                        },
                    },
                },
            },
        },
        "Outputs": {
            "Name": {"Value": {"Ref": "Delivery"}},
            "Arn": {"Value": {"Fn::GetAtt": ["Delivery", "Arn"]}},
            "LogGroup": {"Value": {"Ref": "DeliveryLogGroup"}},
            "LogStream": {"Value": {"Ref": "DeliveryLogStream"}},
        },
    }


def test_a_delivery_stream_and_its_log_stream_exist_and_go_with_their_stack(session: LocalSession) -> None:
    name = unique("firehose")
    outputs = create_stack(session, template(), name)
    firehose = session.client("firehose")
    described = firehose.describe_delivery_stream(DeliveryStreamName=outputs["Name"])["DeliveryStreamDescription"]
    assert described["DeliveryStreamARN"] == outputs["Arn"]
    assert described["DeliveryStreamStatus"] == "ACTIVE"
    assert described["DeliveryStreamType"] == "DirectPut"
    destination = described["Destinations"][0]["ExtendedS3DestinationDescription"]
    assert destination["Prefix"] == "raw/!{timestamp:yyyy/MM/dd/HH}/"
    assert destination["CompressionFormat"] == "GZIP"
    assert destination["BucketARN"].endswith(physical_ids(session, name)["Bucket"])
    streams = session.client("logs").describe_log_streams(logGroupName=outputs["LogGroup"])["logStreams"]
    assert [s["logStreamName"] for s in streams] == [outputs["LogStream"]] == ["S3Delivery"]

    session.client("cloudformation").delete_stack(StackName=name)
    assert outputs["Name"] not in firehose.list_delivery_streams()["DeliveryStreamNames"]


def refused(session: LocalSession, template: dict[str, Any], logical_id: str) -> str:
    """Create a stack that must fail; the reason CloudFormation gives for `logical_id`."""
    name = unique("refused")
    cfn = session.client("cloudformation")
    cfn.create_stack(StackName=name, TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_IAM"])
    assert cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"] == "ROLLBACK_COMPLETE"
    events = cfn.describe_stack_events(StackName=name)["StackEvents"]
    reasons = [
        str(e.get("ResourceStatusReason"))
        for e in events
        if e["LogicalResourceId"] == logical_id and e["ResourceStatus"] == "CREATE_FAILED"
    ]
    assert reasons, events
    return reasons[0]


def test_a_delivery_stream_whose_role_does_not_exist_is_refused(session: LocalSession) -> None:
    before = session.client("firehose").list_delivery_streams()["DeliveryStreamNames"]
    missing = "arn:aws:iam::123456789012:role/pipectl-nobody"
    assert "pipectl-nobody not found" in refused(session, template(role_arn=missing), "Delivery")
    assert session.client("firehose").list_delivery_streams()["DeliveryStreamNames"] == before


def test_a_customer_managed_key_must_be_named(session: LocalSession) -> None:
    broken = template()
    del broken["Resources"]["Delivery"]["Properties"]["DeliveryStreamEncryptionConfigurationInput"]["KeyARN"]
    assert "CUSTOMER_MANAGED_CMK needs a KeyARN" in refused(session, broken, "Delivery")


def test_an_aws_owned_key_needs_no_key_arn(session: LocalSession) -> None:
    outputs = create_stack(session, template(key_type="AWS_OWNED_CMK"), unique("firehose-aws-key"))
    assert outputs["Name"] in session.client("firehose").list_delivery_streams()["DeliveryStreamNames"]


def test_a_destination_the_local_target_cannot_deliver_to_is_refused(session: LocalSession) -> None:
    broken = template()
    properties = broken["Resources"]["Delivery"]["Properties"]
    properties["HttpEndpointDestinationConfiguration"] = properties.pop("ExtendedS3DestinationConfiguration")
    assert "delivers to S3 only" in refused(session, broken, "Delivery")


def test_a_log_stream_needs_its_group(session: LocalSession) -> None:
    orphan = {
        "Resources": {
            "Stream": {
                "Type": "AWS::Logs::LogStream",
                "Properties": {"LogGroupName": "/pipectl/no-such-group", "LogStreamName": "S3Delivery"},
            }
        }
    }
    assert refused(session, orphan, "Stream")
