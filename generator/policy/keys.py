"""What a customer-managed key's policy grants, shared by every pipectl key (console, delivery, storage).

Listed one by one, never `kms:*`: the key policy is the only thing that can ever grant use of a key,
so it names exactly what the account may do with it, and what CloudWatch Logs may.
"""

from __future__ import annotations

from awacs import kms
from awacs.aws import Allow, ArnLike, Condition, Principal, Statement
from troposphere import Sub

# The account administers the key (CloudFormation, through the account, manages it).
KEY_ADMINISTRATION = [
    kms.CancelKeyDeletion,
    kms.CreateAlias,
    kms.DeleteAlias,
    kms.DescribeKey,
    kms.DisableKey,
    kms.DisableKeyRotation,
    kms.EnableKey,
    kms.EnableKeyRotation,
    kms.GetKeyPolicy,
    kms.GetKeyRotationStatus,
    kms.ListKeyPolicies,
    kms.ListKeyRotations,
    kms.ListResourceTags,
    kms.PutKeyPolicy,
    kms.RotateKeyOnDemand,
    kms.ScheduleKeyDeletion,
    kms.TagResource,
    kms.UntagResource,
    kms.UpdateAlias,
    kms.UpdateKeyDescription,
]
# The account delegates use to IAM: roles get what their own policies grant, nothing more.
KEY_USE = [
    kms.CreateGrant,
    kms.Decrypt,
    kms.Encrypt,
    kms.GenerateDataKey,
    kms.GenerateDataKeyWithoutPlaintext,
    kms.ListGrants,
    kms.ReEncryptFrom,
    kms.ReEncryptTo,
    kms.RetireGrant,
    kms.RevokeGrant,
]
# CloudWatch Logs needs these to encrypt a log group with a customer-managed key.
LOGS_KEY_USE = [
    kms.Decrypt,
    kms.DescribeKey,
    kms.Encrypt,
    kms.GenerateDataKey,
    kms.GenerateDataKeyWithoutPlaintext,
    kms.ReEncryptFrom,
    kms.ReEncryptTo,
]
# In a key policy, Resource "*" means "this key": a key policy can name no other resource.
THIS_KEY = "*"


def account_administers_and_delegates() -> Statement:
    """The account administers the key and delegates its use to IAM policies."""
    return Statement(
        Sid="AccountAdministersAndDelegatesTheKey",
        Effect=Allow,
        Principal=Principal("AWS", Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")),
        Action=KEY_ADMINISTRATION + KEY_USE,
        Resource=[THIS_KEY],
    )


def logs_may_encrypt(sid: str, log_group_patterns: list[str]) -> Statement:
    """CloudWatch Logs of this region may use the key, only for the named log groups of this account."""
    arns = [
        Sub(f"arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:{pattern}")
        for pattern in log_group_patterns
    ]
    return Statement(
        Sid=sid,
        Effect=Allow,
        Principal=Principal("Service", Sub("logs.${AWS::Region}.amazonaws.com")),
        Action=LOGS_KEY_USE,
        Resource=[THIS_KEY],
        Condition=Condition(ArnLike({"kms:EncryptionContext:aws:logs:arn": arns if len(arns) > 1 else arns[0]})),
    )


def alarms_may_publish() -> Statement:
    """CloudWatch alarms may publish to topics encrypted with the key."""
    return Statement(
        Sid="CloudWatchAlarmsPublishToEncryptedTopics",
        Effect=Allow,
        Principal=Principal("Service", "cloudwatch.amazonaws.com"),
        Action=[kms.Decrypt, kms.GenerateDataKey],
        Resource=[THIS_KEY],
    )
