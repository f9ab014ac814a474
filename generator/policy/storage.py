"""Key and bucket policies of the storage stack, built with awacs.

Key policies and bucket policies name their principals explicitly; the account's own IAM
policies (built beside each role) then decide which role may use the key or the buckets.
"""

from __future__ import annotations

from typing import Any

from awacs import s3
from awacs.aws import (
    Allow,
    ArnLike,
    Bool,
    Condition,
    Deny,
    Policy,
    PolicyDocument,
    Principal,
    Statement,
    StringEquals,
)
from troposphere import AccountId, Sub

from generator.policy import keys, notifications
from generator.policy.keys import KEY_ADMINISTRATION, KEY_USE, LOGS_KEY_USE, THIS_KEY

# Elastic Load Balancing's own account per region, for regions launched before August 2022.
# Newer regions deliver ALB access logs with the logdelivery.elasticloadbalancing service principal.
# Source: "Enable access logs for your Application Load Balancer", Elastic Load Balancing guide.
ELB_LOG_ACCOUNTS: dict[str, str] = {
    "us-east-1": "127311923021",
    "us-east-2": "033677994240",
    "us-west-1": "027434742980",
    "us-west-2": "797873946194",
    "af-south-1": "098369216593",
    "ap-east-1": "754344448648",
    "ap-southeast-3": "589379963580",
    "ap-south-1": "718504428378",
    "ap-northeast-3": "383597477331",
    "ap-northeast-2": "600734575887",
    "ap-southeast-1": "114774131450",
    "ap-southeast-2": "783225319266",
    "ap-northeast-1": "582318560864",
    "ca-central-1": "985666609251",
    "eu-central-1": "054676820928",
    "eu-west-1": "156460612806",
    "eu-west-2": "652711504416",
    "eu-south-1": "635631232127",
    "eu-west-3": "009996457667",
    "eu-north-1": "897822967062",
    "me-south-1": "076674570225",
    "sa-east-1": "507241528517",
    "us-gov-west-1": "048591011584",
    "us-gov-east-1": "190560391635",
    "cn-north-1": "638102146993",
    "cn-northwest-1": "037604701340",
}
ELB_LOG_SERVICE = "logdelivery.elasticloadbalancing.amazonaws.com"


def elb_log_principal(region: str) -> Principal:
    """Who writes ALB access logs in `region`: ELB's regional account, or the newer service principal."""
    account = ELB_LOG_ACCOUNTS.get(region)
    if account is None:
        return Principal("Service", ELB_LOG_SERVICE)
    return Principal("AWS", Sub(f"arn:${{AWS::Partition}}:iam::{account}:root"))


def key_policy() -> Policy:
    """The account administers and uses the key through IAM; Logs and CloudWatch alarms use it directly."""
    return PolicyDocument(
        Version="2012-10-17",
        Statement=[
            Statement(
                Sid="AccountAdministersKey",
                Effect=Allow,
                Principal=Principal("AWS", Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")),
                Action=KEY_ADMINISTRATION,
                Resource=[THIS_KEY],
            ),
            Statement(
                Sid="AccountUsesKeyThroughIam",
                Effect=Allow,
                Principal=Principal("AWS", Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")),
                Action=KEY_USE,
                Resource=[THIS_KEY],
            ),
            Statement(
                Sid="CloudWatchLogsEncryptsLogGroupsOfThisAccount",
                Effect=Allow,
                Principal=Principal("Service", Sub("logs.${AWS::Region}.amazonaws.com")),
                Action=LOGS_KEY_USE,
                Resource=[THIS_KEY],
                Condition=Condition(
                    ArnLike(
                        "kms:EncryptionContext:aws:logs:arn",
                        Sub("arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*"),
                    )
                ),
            ),
            keys.alarms_may_publish(),
            notifications.sns_may_encrypt_dead_letters(),
        ],
    )


def deny_insecure_transport(bucket_arn: Any) -> Statement:
    """Deny every request to the bucket and its objects that does not come over TLS."""
    # A deny, not a grant: it must cover every S3 action, so "s3:*" is the point here.
    return Statement(
        Sid="DenyInsecureTransport",
        Effect=Deny,
        Principal=Principal("*"),
        Action=[s3.Action("*")],
        Resource=[bucket_arn, Sub("${Arn}/*", Arn=bucket_arn)],
        Condition=Condition(Bool("aws:SecureTransport", "false")),
    )


def data_bucket_policy(bucket_arn: Any) -> Policy:
    """The data bucket answers TLS requests only; who may read and write is decided by IAM."""
    return PolicyDocument(Version="2012-10-17", Statement=[deny_insecure_transport(bucket_arn)])


def logs_bucket_policy(
    bucket_arn: Any, access_log_prefix: str, source_bucket_arn: Any, alb_log_prefix: str, region: str
) -> Policy:
    """TLS only; S3 server access logging and ALB access logging may write under their own prefixes."""
    return PolicyDocument(
        Version="2012-10-17",
        Statement=[
            deny_insecure_transport(bucket_arn),
            Statement(
                Sid="S3ServerAccessLogsWrite",
                Effect=Allow,
                Principal=Principal("Service", "logging.s3.amazonaws.com"),
                Action=[s3.PutObject],
                Resource=[Sub(f"${{Arn}}/{access_log_prefix}*", Arn=bucket_arn)],
                Condition=Condition(
                    [
                        ArnLike("aws:SourceArn", source_bucket_arn),
                        StringEquals("aws:SourceAccount", AccountId),
                    ]
                ),
            ),
            Statement(
                Sid="LoadBalancerAccessLogsWrite",
                Effect=Allow,
                Principal=elb_log_principal(region),
                Action=[s3.PutObject],
                Resource=[Sub(f"${{Arn}}/{alb_log_prefix}/AWSLogs/${{AWS::AccountId}}/*", Arn=bucket_arn)],
            ),
        ],
    )
