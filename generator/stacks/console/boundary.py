"""The permissions boundary every role of pipectl's console and pipeline stacks carries.

It lives here because the console stack is the first bootstrap creates and pipeline runs keep it in
sync: it exists before any pipeline stack, and a run cannot change it (the execution role may not).
"""

from __future__ import annotations

from troposphere import Ref, Template
from troposphere.iam import ManagedPolicy

from generator.policy import boundary
from generator.stacks.common import add_output
from generator.stacks.console.names import STACK

# Scanners read the boundary's `Allow *` as a grant; it is the cap of every pipectl role (rule E9012
# requires each accepted finding's reason).
ACCEPTED = {
    "CKV_AWS_107": "credentials exposure",
    "CKV_AWS_108": "data exfiltration",
    "CKV_AWS_109": "permissions management",
    "CKV_AWS_110": "privilege escalation",
    "CKV_AWS_111": "write access",
}


def add_boundary(template: Template) -> ManagedPolicy:
    reason = (
        "a permissions boundary grants nothing: it caps the roles that carry it; its Allow * leaves their own "
        "policies in force and its Deny statements take away IAM, escalation and foreign roles"
    )
    skip = [{"id": check, "comment": f"{reason} (not {what})"} for check, what in ACCEPTED.items()]
    policy = template.add_resource(
        ManagedPolicy(
            boundary.LOGICAL_ID,
            Metadata={"checkov": {"skip": skip}},
            ManagedPolicyName=boundary.POLICY_NAME,
            Description="pipectl: the most any role of a pipectl stack may do (its permissions boundary)",
            PolicyDocument=boundary.document(),
        )
    )
    add_output(template, STACK, "PermissionsBoundaryArn", Ref(policy), "Permissions boundary of pipectl's roles")
    return policy
