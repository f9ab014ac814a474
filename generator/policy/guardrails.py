"""Where the execution role stops: what it may do to roles, keys, pools and buckets that are not its own.

The derived grants (`execution.py`) say which actions the emitted types need; these statements say on
what, beyond a name pattern:
- a role may be created, or its policies changed, only with the permissions boundary attached
  (`iam:PermissionsBoundary`), and the boundary itself may never be created, changed or removed (only
  bootstrap, with the caller's own rights, makes it);
- the control-plane roles (the execution role among them) and buckets, made by bootstrap, are out of
  reach, though their generated names start with `pipectl-` too;
- a role may be passed only to the services pipectl's own resource types pass roles to;
- records change only in the hosted zones `_console.yaml` lists;
- keys are administered, and user-pool client secrets read, only where the resource carries pipectl's
  tag (CloudFormation tags every resource of a pipectl stack with `pipectl:managed-by`);
- IAM users and groups are never touched.
"""

from __future__ import annotations

from typing import Any

from awacs.aws import (
    Action,
    Allow,
    Condition,
    Deny,
    Statement,
    StringEquals,
)
from troposphere import Sub

from generator.contract import MANAGED_BY, Tag
from generator.policy import boundary

MANAGED_TAG = Tag.MANAGED_BY
MANAGED_VALUE = MANAGED_BY
IAM = "arn:${AWS::Partition}:iam::${AWS::AccountId}"
CONTROL_ROLES = (f"{IAM}:role/pipectl-delivery-*", f"{IAM}:role/pipectl-bootstrap-*")
CONTROL_BUCKETS = ("arn:${AWS::Partition}:s3:::pipectl-delivery-*", "arn:${AWS::Partition}:s3:::pipectl-bootstrap-*")

ROLE_POLICY_CHANGES = (
    "iam:AttachRolePolicy",
    "iam:CreateRole",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
)
"""Role actions IAM evaluates `iam:PermissionsBoundary` for: the boundary of the role they change."""
ROLE_CHANGES = (
    *ROLE_POLICY_CHANGES,
    "iam:DeleteRole",
    "iam:DeleteRolePermissionsBoundary",
    "iam:PassRole",
    "iam:TagRole",
    "iam:UntagRole",
    "iam:UpdateAssumeRolePolicy",
    "iam:UpdateRole",
    "iam:UpdateRoleDescription",
)
BOUNDARY_CHANGES = (
    "iam:CreatePolicy",
    "iam:CreatePolicyVersion",
    "iam:DeletePolicy",
    "iam:DeletePolicyVersion",
    "iam:SetDefaultPolicyVersion",
    "iam:TagPolicy",
    "iam:UntagPolicy",
)
USERS_AND_GROUPS = ("iam:*User*", "iam:*Group*")
PASSED_TO: dict[str, str] = {
    "AWS::Lambda::Function": "lambda.amazonaws.com",
    "AWS::ECS::TaskDefinition": "ecs-tasks.amazonaws.com",
    "AWS::StepFunctions::StateMachine": "states.amazonaws.com",
    "AWS::Scheduler::Schedule": "scheduler.amazonaws.com",
    "AWS::CodeBuild::Project": "codebuild.amazonaws.com",
    "AWS::CodePipeline::Pipeline": "codepipeline.amazonaws.com",
    "AWS::Events::Rule": "events.amazonaws.com",
    "AWS::EC2::FlowLog": "vpc-flow-logs.amazonaws.com",
    "AWS::AppSync::DataSource": "appsync.amazonaws.com",
    "AWS::AppSync::GraphQLApi": "appsync.amazonaws.com",
    "AWS::AutoScaling::AutoScalingGroup": "ec2.amazonaws.com",
    "AWS::KinesisFirehose::DeliveryStream": "firehose.amazonaws.com",
}
"""The service a resource type passes its role to (`iam:PassedToService`)."""
CONTROL_PLANE_SERVICES = frozenset({"codebuild.amazonaws.com", "codepipeline.amazonaws.com"})
"""Only the delivery stack, which bootstrap deploys, passes roles to these: a pipeline stack may not."""
# Scalable targets name Application Auto Scaling's service-linked role, which it passes to itself.
SERVICE_LINKED = ("application-autoscaling.amazonaws.com", "ecs.application-autoscaling.amazonaws.com")
PASSED_TO_SERVICES = tuple(sorted((set(PASSED_TO.values()) - CONTROL_PLANE_SERVICES) | set(SERVICE_LINKED)))
KEY_ADMINISTRATION = (
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:PutKeyPolicy",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateKeyDescription",
)
CLIENT_SECRETS = ("cognito-idp:DescribeUserPoolClient", "cognito-idp:ListUserPoolClientSecrets")
BUCKET_ACCESS_CHANGES = (
    "s3:DeleteBucket",
    "s3:DeleteBucketPolicy",
    "s3:PutBucketAcl",
    "s3:PutBucketOwnershipControls",
    "s3:PutBucketPolicy",
    "s3:PutBucketPublicAccessBlock",
    "s3:PutEncryptionConfiguration",
)
RECORD_CHANGES = ("route53:ChangeResourceRecordSets",)
CONDITIONED_ACTIONS = frozenset(
    {*ROLE_POLICY_CHANGES, "iam:PassRole", *KEY_ADMINISTRATION, *CLIENT_SECRETS, *RECORD_CHANGES}
)
"""Actions the derived grants leave out: `conditioned_grants()` grants them, each under its condition."""


def _actions(names: tuple[str, ...]) -> list[Action]:
    return [Action(*name.split(":", 1)) for name in names]


def _subs(patterns: tuple[str, ...]) -> list[Any]:
    return [Sub(p) for p in patterns]


def _managed() -> Condition:
    return Condition(StringEquals({f"aws:ResourceTag/{MANAGED_TAG}": MANAGED_VALUE}))


OWN_ROLES = f"{IAM}:role/pipectl-*"
KEYS = "arn:${AWS::Partition}:kms:*:${AWS::AccountId}:key/*"
USER_POOLS = "arn:${AWS::Partition}:cognito-idp:*:${AWS::AccountId}:userpool/*"


def conditioned_grants(hosted_zones: tuple[str, ...] = ()) -> list[Statement]:
    """The actions of CONDITIONED_ACTIONS, on pipectl's resources, under their conditions.

    Records change only in the zones the installation lists (`_console.yaml` hosted_zones); with none
    listed, in none.
    """
    role_patterns, key_patterns, pool_patterns = [Sub(OWN_ROLES)], [Sub(KEYS)], [Sub(USER_POOLS)]
    zones = [
        Statement(
            Sid="ChangeRecordsInTheInstallationsZonesOnly",
            Effect=Allow,
            Action=_actions(RECORD_CHANGES),
            Resource=[Sub(f"arn:${{AWS::Partition}}:route53:::hostedzone/{zone}") for zone in hosted_zones],
        )
    ]
    return [
        *(zones if hosted_zones else []),
        Statement(
            Sid="ChangeRolesThatCarryTheBoundary",
            Effect=Allow,
            Action=_actions(ROLE_POLICY_CHANGES),
            Resource=role_patterns,
            Condition=Condition(StringEquals({"iam:PermissionsBoundary": Sub(boundary.ARN)})),
        ),
        Statement(
            Sid="PassRolesToPipectlServicesOnly",
            Effect=Allow,
            Action=[Action("iam", "PassRole")],
            Resource=[*role_patterns, Sub(f"{IAM}:role/aws-service-role/*")],
            Condition=Condition(StringEquals({"iam:PassedToService": list(PASSED_TO_SERVICES)})),
        ),
        Statement(
            Sid="AdministerPipectlKeysOnly",
            Effect=Allow,
            Action=_actions(KEY_ADMINISTRATION),
            Resource=key_patterns,
            Condition=_managed(),
        ),
        Statement(
            Sid="ReadClientsOfPipectlPoolsOnly",
            Effect=Allow,
            Action=_actions(CLIENT_SECRETS),
            Resource=pool_patterns,
            Condition=_managed(),
        ),
    ]


def denials() -> list[Statement]:
    """Explicit denies: no Allow, derived or future, can reach past these."""
    return [
        Statement(
            Sid="NeverChangeOrRemoveTheBoundary",
            Effect=Deny,
            Action=_actions(BOUNDARY_CHANGES),
            Resource=[Sub(boundary.ARN)],
        ),
        Statement(
            Sid="NeverRemoveABoundary",
            Effect=Deny,
            Action=[Action("iam", "DeleteRolePermissionsBoundary")],
            Resource=["*"],
        ),
        Statement(
            Sid="NeverTouchTheControlPlaneRoles",
            Effect=Deny,
            Action=_actions(ROLE_CHANGES),
            Resource=_subs(CONTROL_ROLES),
        ),
        Statement(
            Sid="NeverOpenTheControlPlaneBuckets",
            Effect=Deny,
            Action=_actions(BUCKET_ACCESS_CHANGES),
            Resource=_subs(CONTROL_BUCKETS),
        ),
        Statement(Sid="NeverTouchUsersOrGroups", Effect=Deny, Action=_actions(USERS_AND_GROUPS), Resource=["*"]),
    ]
