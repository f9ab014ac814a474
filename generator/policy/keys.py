"""What a customer-managed key's policy grants, shared by every pipectl key (console, delivery, storage).

Listed one by one, never `kms:*`: the key policy is the only thing that can ever grant use of a key,
so it names exactly what the account may do with it, and what CloudWatch Logs may.
"""

from __future__ import annotations

from awacs import kms

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
