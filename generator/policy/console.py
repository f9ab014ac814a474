"""Least-privilege IAM for the `pipectl-console` stack, as awacs documents.

Each function returns one policy document; the stack builder decides where it is attached. Values
(ARNs, names) arrive as CloudFormation expressions, so nothing here knows a region or an account.
"""

from __future__ import annotations

from typing import Any

import awacs.dynamodb as dynamodb
import awacs.kms as kms
import awacs.logs as logs
import awacs.s3 as s3
import awacs.sqs as sqs
import awacs.sts as sts
import awacs.xray as xray
from awacs.aws import (
    Allow,
    ArnLike,
    Condition,
    ConditionElement,
    PolicyDocument,
    Principal,
    Statement,
    StringEquals,
)
from troposphere import Sub

from generator.contract import CONSOLE_SITE_BUCKET
from generator.policy import keys, storage

VERSION = "2012-10-17"


def _account_root() -> Principal:
    return Principal("AWS", Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root"))


def _service(name: str) -> Principal:
    return Principal("Service", name)


def _same_account() -> ConditionElement:
    return StringEquals({"aws:SourceAccount": Sub("${AWS::AccountId}")})


def key_policy(log_group_patterns: list[str]) -> PolicyDocument:
    """The console key: the account administers and uses it; CloudWatch Logs may use it for our groups."""
    return PolicyDocument(
        Version=VERSION,
        Statement=[
            keys.account_administers_and_delegates(),
            keys.logs_may_encrypt("CloudWatchLogsEncryptsConsoleLogGroups", log_group_patterns),
            cloudfront_may_decrypt_the_site(),
        ],
    )


def cloudfront_may_decrypt_the_site() -> Statement:
    """CloudFront (origin access control) reads the console app through S3, which decrypts with this key.

    The key cannot name the distribution (the distribution needs the bucket, the bucket the key), so the
    grant names the site bucket through S3's encryption context and the account's distributions; the
    bucket policy then admits the one distribution.
    """
    return Statement(
        Sid="CloudFrontReadsTheConsoleSite",
        Effect=Allow,
        Principal=_service("cloudfront.amazonaws.com"),
        Action=[kms.Decrypt],
        Resource=["*"],
        Condition=Condition(
            [
                StringEquals(
                    {"kms:EncryptionContext:aws:s3:arn": Sub(f"arn:${{AWS::Partition}}:s3:::{CONSOLE_SITE_BUCKET}")}
                ),
                ArnLike({"AWS:SourceArn": Sub("arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/*")}),
            ]
        ),
    )


def appsync_trust(api_arn: Any | None = None) -> PolicyDocument:
    """AppSync of this account (and, when known, only this API) may assume the role."""
    conditions: list[ConditionElement] = [_same_account()]
    if api_arn is not None:
        conditions.append(ArnLike({"aws:SourceArn": api_arn}))
    else:
        conditions.append(
            ArnLike({"aws:SourceArn": Sub("arn:${AWS::Partition}:appsync:${AWS::Region}:${AWS::AccountId}:apis/*")})
        )
    return PolicyDocument(
        Version=VERSION,
        Statement=[
            Statement(
                Effect=Allow,
                Principal=_service("appsync.amazonaws.com"),
                Action=[sts.AssumeRole],
                Condition=Condition(conditions),
            )
        ],
    )


def lambda_trust() -> PolicyDocument:
    """Lambda of this account may assume the role."""
    return PolicyDocument(
        Version=VERSION,
        Statement=[
            Statement(
                Effect=Allow,
                Principal=_service("lambda.amazonaws.com"),
                Action=[sts.AssumeRole],
                Condition=Condition(_same_account()),
            )
        ],
    )


def write_logs(log_group_arn: Any) -> Statement:
    """Write to one log group that the template created (never create groups)."""
    return Statement(
        Sid="WriteOwnLogGroup",
        Effect=Allow,
        Action=[logs.CreateLogStream, logs.PutLogEvents],
        Resource=[log_group_arn],
    )


def appsync_logs(log_group_arn: Any) -> PolicyDocument:
    """AppSync's field-level error logs go to the API's own log group only."""
    return PolicyDocument(Version=VERSION, Statement=[write_logs(log_group_arn)])


def state_reader(table_arn: Any, key_arn: Any) -> PolicyDocument:
    """The GraphQL data source reads the state table (items and its index) and nothing else."""
    return PolicyDocument(
        Version=VERSION,
        Statement=[
            Statement(
                Sid="ReadStateTable",
                Effect=Allow,
                Action=[dynamodb.GetItem, dynamodb.Query],
                Resource=[table_arn, Sub("${Table}/index/*", Table=table_arn)],
            ),
            Statement(
                Sid="DecryptStateTable",
                Effect=Allow,
                Action=[kms.Decrypt],
                Resource=[key_arn],
                Condition=Condition(StringEquals({"kms:ViaService": Sub("dynamodb.${AWS::Region}.amazonaws.com")})),
            ),
        ],
    )


def recorder(table_arn: Any, key_arn: Any, queue_arn: Any, log_group_arn: Any) -> PolicyDocument:
    """The recorder writes items, sends failed events to its dead-letter queue, and logs and traces."""
    return PolicyDocument(
        Version=VERSION,
        Statement=[
            Statement(
                Sid="WriteStateItems",
                Effect=Allow,
                Action=[dynamodb.PutItem, dynamodb.UpdateItem],
                Resource=[table_arn],
            ),
            Statement(
                Sid="UseConsoleKeyThroughTableAndQueue",
                Effect=Allow,
                Action=[kms.Decrypt, kms.Encrypt, kms.GenerateDataKey],
                Resource=[key_arn],
                Condition=Condition(
                    StringEquals(
                        {
                            "kms:ViaService": [
                                Sub("dynamodb.${AWS::Region}.amazonaws.com"),
                                Sub("sqs.${AWS::Region}.amazonaws.com"),
                            ]
                        }
                    )
                ),
            ),
            Statement(
                Sid="SendToDeadLetterQueue",
                Effect=Allow,
                Action=[sqs.SendMessage],
                Resource=[queue_arn],
            ),
            write_logs(log_group_arn),
            Statement(
                Sid="WriteTraces",
                Effect=Allow,
                Action=[xray.PutTelemetryRecords, xray.PutTraceSegments],
                # X-Ray's PutTraceSegments and PutTelemetryRecords support no resource-level permissions.
                Resource=["*"],
            ),
        ],
    )


def site_bucket_policy(bucket_arn: Any, distribution_arn: Any) -> PolicyDocument:
    """TLS only, and the console's distribution (origin access control) may read the app's files."""
    return PolicyDocument(
        Version=VERSION,
        Statement=[
            storage.deny_insecure_transport(bucket_arn),
            Statement(
                Sid="ConsoleDistributionReads",
                Effect=Allow,
                Principal=_service("cloudfront.amazonaws.com"),
                Action=[s3.GetObject],
                Resource=[Sub("${Arn}/*", Arn=bucket_arn)],
                Condition=Condition(StringEquals("AWS:SourceArn", distribution_arn)),
            ),
        ],
    )
