"""The permissions boundary every role of pipectl's console and pipeline stacks carries.

It lives here because the console stack is the first bootstrap creates and pipeline runs keep it in
sync: it exists before any pipeline stack, and a run cannot change it (the execution role may not).
"""

from __future__ import annotations

from troposphere import Ref, Template
from troposphere.iam import ManagedPolicy

from generator.policy import boundary
from generator.stacks.accepted import BOUNDARY, accept
from generator.stacks.common import add_output
from generator.stacks.console.names import STACK


def add_boundary(template: Template) -> ManagedPolicy:
    """The boundary, with the scanner findings its `Allow *` raises accepted (see accepted.BOUNDARY)."""
    policy = template.add_resource(
        accept(
            ManagedPolicy(
                boundary.LOGICAL_ID,
                ManagedPolicyName=boundary.POLICY_NAME,
                Description="pipectl: the most any role of a pipectl stack may do (its permissions boundary)",
                PolicyDocument=boundary.document(),
            ),
            *BOUNDARY,
        )
    )
    add_output(template, STACK, "PermissionsBoundaryArn", Ref(policy), "Permissions boundary of pipectl's roles")
    return policy
