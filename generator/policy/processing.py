"""IAM policies of the processing stack, built with awacs: one document per role, each naming its resources.

Every role gets exactly what its code or service does: a function writes its own log group, reads and
writes only its prefixes of the data bucket, uses the pipeline key only to read and write that data,
and sends only to the dead-letter queue. The statement helpers are public: the sink modules
(`generator/stacks/sinks/`) build their functions' and services' roles with them.
"""

from __future__ import annotations

from typing import Any

from awacs import awslambda as lambda_
from awacs import kms, logs, s3, sqs, states, sts, xray
from awacs.aws import (
    Allow,
    Condition,
    Policy,
    PolicyDocument,
    Principal,
    Statement,
    StringEquals,
    StringLike,
)
from troposphere import AccountId, Sub

# X-Ray's PutTraceSegments and PutTelemetryRecords have no resource-level permission: Resource "*".
XRAY_ANYWHERE = "*"
# CloudWatch Logs' log-delivery actions (used by Step Functions to set up vended logs) have no
# resource-level permission either: Resource "*" is the only value AWS accepts.
LOG_DELIVERY_ANYWHERE = "*"


def document(*statements: Statement) -> Policy:
    return PolicyDocument(Version="2012-10-17", Statement=list(statements))


def service_trust(service: str, same_account: bool = True) -> Policy:
    """Who may assume a role: one service principal, only on behalf of this account when it says so."""
    statement = Statement(Effect=Allow, Principal=Principal("Service", service), Action=[sts.AssumeRole])
    if same_account:
        # Confused-deputy guard: the service may act for this account only.
        statement.Condition = Condition(StringEquals("aws:SourceAccount", AccountId))
    return document(statement)


def write_own_logs(log_group_arn: Any) -> Statement:
    """The log group's ARN ends in ':*', which covers its log streams."""
    return Statement(
        Sid="WriteOwnLogGroup",
        Effect=Allow,
        Action=[logs.CreateLogStream, logs.PutLogEvents],
        Resource=[log_group_arn],
    )


def tracing() -> Statement:
    return Statement(
        Sid="SendTraces",
        Effect=Allow,
        Action=[xray.PutTraceSegments, xray.PutTelemetryRecords],
        Resource=[XRAY_ANYWHERE],
    )


def send_to_dead_letters(queue_arn: Any) -> Statement:
    return Statement(Sid="SendToDeadLetterQueue", Effect=Allow, Action=[sqs.SendMessage], Resource=[queue_arn])


def key_for_data(key_arn: Any) -> Statement:
    """Decrypt what it reads, generate data keys for what it writes; nothing else with the key."""
    return Statement(
        Sid="UsePipelineKeyForData",
        Effect=Allow,
        Action=[kms.Decrypt, kms.GenerateDataKey],
        Resource=[key_arn],
    )


def objects(bucket_arn: Any, prefix: str) -> Sub:
    return Sub(f"${{Bucket}}/{prefix}*", Bucket=bucket_arn)


def enrich_function_policy(
    log_group_arn: Any, bucket_arn: Any, raw_prefix: str, enriched_prefix: str, key_arn: Any, queue_arn: Any
) -> Policy:
    """The enricher lists and reads raw objects and writes enriched ones; it cannot touch anything else."""
    return document(
        write_own_logs(log_group_arn),
        Statement(
            Sid="ListRawObjects",
            Effect=Allow,
            Action=[s3.ListBucket],
            Resource=[bucket_arn],
            Condition=Condition(StringLike("s3:prefix", [f"{raw_prefix}*"])),
        ),
        Statement(
            Sid="ReadRawObjects",
            Effect=Allow,
            Action=[s3.GetObject],
            Resource=[objects(bucket_arn, raw_prefix)],
        ),
        Statement(
            Sid="WriteEnrichedObjects",
            Effect=Allow,
            Action=[s3.PutObject],
            Resource=[objects(bucket_arn, enriched_prefix)],
        ),
        key_for_data(key_arn),
        send_to_dead_letters(queue_arn),
        tracing(),
    )


def state_machine_policy(function_arn: Any, queue_arn: Any, key_arn: Any) -> Policy:
    """Run the enricher, report failures to the encrypted dead-letter queue, deliver logs and traces."""
    return document(
        Statement(
            Sid="InvokeEnrichFunction",
            Effect=Allow,
            Action=[lambda_.InvokeFunction],
            Resource=[function_arn],
        ),
        send_to_dead_letters(queue_arn),
        Statement(
            # Sending to a KMS-encrypted queue needs a data key from the pipeline key.
            Sid="EncryptDeadLetters",
            Effect=Allow,
            Action=[kms.Decrypt, kms.GenerateDataKey],
            Resource=[key_arn],
        ),
        Statement(
            Sid="DeliverExecutionLogs",
            Effect=Allow,
            Action=[
                logs.CreateLogDelivery,
                logs.DeleteLogDelivery,
                logs.DescribeLogGroups,
                logs.DescribeResourcePolicies,
                logs.GetLogDelivery,
                logs.ListLogDeliveries,
                logs.PutResourcePolicy,
                logs.UpdateLogDelivery,
            ],
            Resource=[LOG_DELIVERY_ANYWHERE],
        ),
        Statement(
            Sid="SendTraces",
            Effect=Allow,
            # None of these X-Ray actions has a resource-level permission.
            Action=[
                xray.GetSamplingRules,
                xray.GetSamplingTargets,
                xray.PutTelemetryRecords,
                xray.PutTraceSegments,
            ],
            Resource=[XRAY_ANYWHERE],
        ),
    )


def schedule_policy(state_machine_arn: Any, queue_arn: Any, key_arn: Any) -> Policy:
    """Start this one state machine; dead-letter undeliverable runs; decrypt the schedule's input."""
    return document(
        Statement(
            Sid="StartStateMachine",
            Effect=Allow,
            Action=[states.StartExecution],
            Resource=[state_machine_arn],
        ),
        send_to_dead_letters(queue_arn),
        Statement(
            Sid="UsePipelineKey",
            Effect=Allow,
            Action=[kms.Decrypt, kms.GenerateDataKey],
            Resource=[key_arn],
        ),
    )
