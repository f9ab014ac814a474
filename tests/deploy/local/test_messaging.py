"""Policies, subscriptions, alarms, schedules and Lambda: created by CloudFormation, found by boto3."""

from __future__ import annotations

import json
from typing import Any

import pytest

from generator.deploy.local import LocalSession
from tests.deploy.local.conftest import change_set, create_stack, physical_ids, role, unique

LAMBDA_CODE = "def handler(event, context):\n    return event\n"


def statement(action: str, resource: Any) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": action,
                "Resource": resource,
            }
        ],
    }


def template(threshold: int) -> dict[str, Any]:
    return {
        "Resources": {
            "AlarmTopic": {"Type": "AWS::SNS::Topic"},
            "AlarmEmail": {
                "Type": "AWS::SNS::Subscription",
                "Properties": {
                    "TopicArn": {"Ref": "AlarmTopic"},
                    "Protocol": "email",
                    "Endpoint": "oncall@example.com",
                    "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}},
                },
            },
            "AlarmTopicPolicy": {
                "Type": "AWS::SNS::TopicPolicy",
                "Properties": {
                    "Topics": [{"Ref": "AlarmTopic"}],
                    "PolicyDocument": statement("sns:Publish", {"Ref": "AlarmTopic"}),
                },
            },
            "DeadLetterQueue": {"Type": "AWS::SQS::Queue"},
            "DeadLetterQueuePolicy": {
                "Type": "AWS::SQS::QueuePolicy",
                "Properties": {
                    "Queues": [{"Ref": "DeadLetterQueue"}],
                    "PolicyDocument": statement("sqs:SendMessage", {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}),
                },
            },
            "DeadLetterAlarm": {
                "Type": "AWS::CloudWatch::Alarm",
                "Properties": {
                    "AlarmDescription": "messages in the dead-letter queue",
                    "Namespace": "AWS/SQS",
                    "MetricName": "ApproximateNumberOfMessagesVisible",
                    "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["DeadLetterQueue", "QueueName"]}}],
                    "Statistic": "Maximum",
                    "Period": 300,
                    "EvaluationPeriods": 1,
                    "Threshold": threshold,
                    "ComparisonOperator": "GreaterThanThreshold",
                    "AlarmActions": [{"Ref": "AlarmTopic"}],
                },
            },
            "DataBucket": {"Type": "AWS::S3::Bucket"},
            "DataBucketPolicy": {
                "Type": "AWS::S3::BucketPolicy",
                "Properties": {
                    "Bucket": {"Ref": "DataBucket"},
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Deny",
                                "Principal": "*",
                                "Action": "s3:*",
                                "Resource": {"Fn::Sub": "${DataBucket.Arn}/*"},
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        ],
                    },
                },
            },
            "SchedulerRole": role("scheduler.amazonaws.com"),
            "FunctionRole": role("lambda.amazonaws.com"),
            "EnrichFunction": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Runtime": "python3.12",
                    "Handler": "index.handler",
                    "Role": {"Fn::GetAtt": ["FunctionRole", "Arn"]},
                    "Code": {"ZipFile": LAMBDA_CODE},
                },
            },
            "EnrichInvokeConfig": {
                "Type": "AWS::Lambda::EventInvokeConfig",
                "Properties": {
                    "FunctionName": {"Ref": "EnrichFunction"},
                    "Qualifier": "$LATEST",
                    "MaximumRetryAttempts": 2,
                    "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}}},
                },
            },
            "ProcessingSchedule": {
                "Type": "AWS::Scheduler::Schedule",
                "Properties": {
                    "ScheduleExpression": "rate(1 hour)",
                    "FlexibleTimeWindow": {"Mode": "OFF"},
                    "Target": {
                        "Arn": {"Fn::GetAtt": ["EnrichFunction", "Arn"]},
                        "RoleArn": {"Fn::GetAtt": ["SchedulerRole", "Arn"]},
                        "DeadLetterConfig": {"Arn": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}},
                    },
                },
            },
        },
        "Outputs": {
            "SubscriptionArn": {"Value": {"Ref": "AlarmEmail"}},
            "AlarmName": {"Value": {"Ref": "DeadLetterAlarm"}},
            "AlarmArn": {"Value": {"Fn::GetAtt": ["DeadLetterAlarm", "Arn"]}},
            "ScheduleName": {"Value": {"Ref": "ProcessingSchedule"}},
            "ScheduleArn": {"Value": {"Fn::GetAtt": ["ProcessingSchedule", "Arn"]}},
            "FunctionName": {"Value": {"Ref": "EnrichFunction"}},
            "BucketName": {"Value": {"Ref": "DataBucket"}},
            "TopicArn": {"Value": {"Ref": "AlarmTopic"}},
            "QueueUrl": {"Value": {"Ref": "DeadLetterQueue"}},
        },
    }


@pytest.fixture(scope="module")
def stack(session: LocalSession) -> tuple[str, dict[str, str]]:
    name = unique("messaging")
    return name, create_stack(session, template(threshold=0), name)


def test_subscription_and_topic_policy_exist(session: LocalSession, stack: tuple[str, dict[str, str]]) -> None:
    _, out = stack
    sns = session.client("sns")
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=out["TopicArn"])["Subscriptions"]
    assert [(s["SubscriptionArn"], s["Endpoint"]) for s in subscriptions] == [
        (out["SubscriptionArn"], "oncall@example.com")
    ]
    policy = json.loads(sns.get_topic_attributes(TopicArn=out["TopicArn"])["Attributes"]["Policy"])
    assert policy["Statement"][0]["Resource"] == out["TopicArn"]


def test_undeliverable_e_mails_are_redriven_to_the_queue(
    session: LocalSession, stack: tuple[str, dict[str, str]]
) -> None:
    _, out = stack
    attributes = session.client("sns").get_subscription_attributes(SubscriptionArn=out["SubscriptionArn"])
    queue_arn = session.client("sqs").get_queue_attributes(QueueUrl=out["QueueUrl"], AttributeNames=["QueueArn"])
    redrive = json.loads(attributes["Attributes"]["RedrivePolicy"])
    assert redrive == {"deadLetterTargetArn": queue_arn["Attributes"]["QueueArn"]}


def test_a_redrive_policy_that_names_no_queue_is_refused(session: LocalSession) -> None:
    broken = template(threshold=0)
    subscription = broken["Resources"]["AlarmEmail"]["Properties"]
    subscription["RedrivePolicy"] = {"deadLetterTargetArn": {"Ref": "AlarmTopic"}}  # a topic, not a queue
    name = unique("redrive")
    cfn = session.client("cloudformation")
    cfn.create_stack(StackName=name, TemplateBody=json.dumps(broken), Capabilities=["CAPABILITY_IAM"])
    assert cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"] == "ROLLBACK_COMPLETE"
    reasons = [
        str(e.get("ResourceStatusReason"))
        for e in cfn.describe_stack_events(StackName=name)["StackEvents"]
        if e["LogicalResourceId"] == "AlarmEmail" and e["ResourceStatus"] == "CREATE_FAILED"
    ]
    assert reasons and "deadLetterTargetArn must be an SQS queue ARN" in reasons[0], reasons


def test_queue_and_bucket_policies_exist(session: LocalSession, stack: tuple[str, dict[str, str]]) -> None:
    _, out = stack
    attributes = session.client("sqs").get_queue_attributes(QueueUrl=out["QueueUrl"], AttributeNames=["All"])
    assert json.loads(attributes["Attributes"]["Policy"])["Statement"][0]["Action"] == "sqs:SendMessage"
    bucket_policy = json.loads(session.client("s3").get_bucket_policy(Bucket=out["BucketName"])["Policy"])
    assert bucket_policy["Statement"][0]["Resource"] == f"arn:aws:s3:::{out['BucketName']}/*"


def test_alarm_exists_with_its_action(session: LocalSession, stack: tuple[str, dict[str, str]]) -> None:
    _, out = stack
    alarms = session.client("cloudwatch").describe_alarms(AlarmNames=[out["AlarmName"]])["MetricAlarms"]
    assert len(alarms) == 1
    assert alarms[0]["AlarmArn"] == out["AlarmArn"]
    assert alarms[0]["AlarmActions"] == [out["TopicArn"]]
    assert alarms[0]["Dimensions"][0]["Value"] == out["QueueUrl"].rsplit("/", 1)[-1]


def test_schedule_targets_the_function(session: LocalSession, stack: tuple[str, dict[str, str]]) -> None:
    _, out = stack
    schedule = session.client("scheduler").get_schedule(Name=out["ScheduleName"])
    assert schedule["Arn"] == out["ScheduleArn"]
    function = session.client("lambda").get_function(FunctionName=out["FunctionName"])
    assert schedule["Target"]["Arn"] == function["Configuration"]["FunctionArn"]


def test_inline_lambda_is_created_without_docker(session: LocalSession, stack: tuple[str, dict[str, str]]) -> None:
    _, out = stack
    configuration = session.client("lambda").get_function(FunctionName=out["FunctionName"])["Configuration"]
    assert configuration["Runtime"] == "python3.12"
    assert configuration["CodeSize"] > 0


def test_asynchronous_invocations_retry_then_go_to_the_queue(
    session: LocalSession, stack: tuple[str, dict[str, str]]
) -> None:
    _, out = stack
    config = session.client("lambda").get_function_event_invoke_config(FunctionName=out["FunctionName"])
    assert config["MaximumRetryAttempts"] == 2
    queue_arn = session.client("sqs").get_queue_attributes(QueueUrl=out["QueueUrl"], AttributeNames=["QueueArn"])
    assert config["DestinationConfig"]["OnFailure"]["Destination"] == queue_arn["Attributes"]["QueueArn"]


def test_change_set_updates_the_alarm_in_place(session: LocalSession, stack: tuple[str, dict[str, str]]) -> None:
    name, out = stack
    change_set(session, template(threshold=5), name, "UPDATE")
    alarm_name = physical_ids(session, name)["DeadLetterAlarm"]
    assert alarm_name == out["AlarmName"]
    alarms = session.client("cloudwatch").describe_alarms(AlarmNames=[alarm_name])["MetricAlarms"]
    assert [a["Threshold"] for a in alarms] == [5.0]


def test_deleting_the_stack_removes_what_pipectl_created(session: LocalSession) -> None:
    name = unique("doomed")
    out = create_stack(session, template(threshold=1), name)
    ids = physical_ids(session, name)
    session.client("cloudformation").delete_stack(StackName=name)
    assert session.client("cloudwatch").describe_alarms(AlarmNames=[out["AlarmName"]])["MetricAlarms"] == []
    subscriptions = session.client("sns").list_subscriptions()["Subscriptions"]
    assert out["SubscriptionArn"] not in {s["SubscriptionArn"] for s in subscriptions}
    schedules = session.client("scheduler").list_schedules()["Schedules"]
    assert ids["ProcessingSchedule"] not in {s["Name"] for s in schedules}
