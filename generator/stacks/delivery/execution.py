"""The CloudFormation execution role: what every pipectl stack is deployed with."""

from __future__ import annotations

from awacs.aws import Allow, PolicyDocument
from troposphere import GetAtt, Ref
from troposphere.iam import ManagedPolicy, Role

from generator.policy import delivery as policy
from generator.policy.execution import ANY_RESOURCE_REASON, execution_policy_documents
from generator.stacks.accepted import CREATE_ANY_RESOURCE, accept
from generator.stacks.common import add_output
from generator.stacks.delivery.shared import Delivery
from generator.stacks.delivery.spec import STACK


def add_execution_role(delivery: Delivery) -> Role:
    """The role CloudFormation deploys pipectl's stacks with; the builds may only pass it.

    Its grants are the managed policies `execution_policy_documents()` derives from the execution
    permissions table, attached to it (IAM's quotas: 6,144 characters each, ten per role).
    """
    template = delivery.template
    role = template.add_resource(
        Role(
            "ExecutionRole",
            Description="CloudFormation deploys pipectl stacks with this role (passed by the Plan/Apply builds)",
            AssumeRolePolicyDocument=policy.cloudformation_trust(),
        )
    )
    for index, document in enumerate(execution_policy_documents(hosted_zones=delivery.spec.hosted_zones), start=1):
        managed = template.add_resource(
            ManagedPolicy(
                f"ExecutionPolicy{index}",
                Description=f"pipectl execution role, part {index}: handler permissions of the emitted types; "
                f"Resource * only where {ANY_RESOURCE_REASON}",
                PolicyDocument=document,
                Roles=[Ref(role)],
            )
        )
        if _allows_any_resource(document):
            accept(managed, CREATE_ANY_RESOURCE)
    add_output(template, STACK, "ExecutionRoleArn", GetAtt(role, "Arn"), "CloudFormation execution role")
    return role


def _allows_any_resource(document: PolicyDocument) -> bool:
    """Whether a part grants an action on `*` (only actions with no resource type; see the accepted reason)."""
    return any(statement.Effect == Allow and statement.Resource in ("*", ["*"]) for statement in document.Statement)
