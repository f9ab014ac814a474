"""The permissions boundary: the most any role pipectl's stacks create may ever do.

The console stack (created by bootstrap, before any pipeline) holds it as the managed policy
`pipectl-permissions-boundary`, and every role in a console or pipeline template carries it
(`with_boundary`, applied once by synth). The execution role may create a role, or change a role's
policies, only with this boundary attached, and may never change or remove it (`execution.py`).
So a pushed template can write any policy it likes: what the role can do is still capped here.

Allowed is everything but: IAM, Organizations and account administration; assuming roles other than
pipectl's own; and the actions known to turn a role into more rights than it has (run an instance,
create or rewrite a function, wire a function to a stream, pass a role, deploy a stack).
"""

from __future__ import annotations

from typing import Any

from awacs.aws import Action, Allow, Deny, PolicyDocument, Statement
from troposphere import Sub

VERSION = "2012-10-17"
POLICY_NAME = "pipectl-permissions-boundary"
LOGICAL_ID = "PermissionsBoundary"
ARN = f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:policy/{POLICY_NAME}"
OWN_ROLES = "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/pipectl-*"
UNBOUNDED_KINDS = frozenset({"bootstrap", "delivery"})
"""Stacks only bootstrap deploys, with the caller's own rights: their roles (the execution role among
them) need what the boundary denies, and the execution role may not touch them."""

ADMINISTRATION = ("iam:*", "organizations:*", "account:*", "sso:*", "identitystore:*")
ESCALATION = (
    "ec2:RunInstances",
    "lambda:CreateFunction",
    "lambda:CreateEventSourceMapping",
    "lambda:UpdateFunctionCode",
    "lambda:UpdateFunctionConfiguration",
    "lambda:AddPermission",
    "cloudformation:CreateStack",
    "cloudformation:UpdateStack",
    "cloudformation:CreateChangeSet",
    "cloudformation:ExecuteChangeSet",
    "kms:PutKeyPolicy",
    "kms:ScheduleKeyDeletion",
)
DENIED = ADMINISTRATION + ESCALATION
"""Actions the boundary denies outright, whatever a role's own policies say."""


def _actions(names: tuple[str, ...]) -> list[Action]:
    return [Action(*name.split(":", 1)) for name in names]


def document() -> PolicyDocument:
    """Allow what a role's own policy allows, except administration, escalation and foreign roles."""
    return PolicyDocument(
        Version=VERSION,
        Statement=[
            Statement(Sid="WhatTheRoleItselfGrants", Effect=Allow, Action=[Action("*")], Resource=["*"]),
            Statement(
                Sid="NoIdentityOrAccountAdministration",
                Effect=Deny,
                Action=_actions(ADMINISTRATION),
                Resource=["*"],
            ),
            Statement(Sid="NoKnownEscalation", Effect=Deny, Action=_actions(ESCALATION), Resource=["*"]),
            Statement(
                Sid="AssumeOnlyPipectlRoles",
                Effect=Deny,
                Action=[Action("sts", "AssumeRole")],
                NotResource=[Sub(OWN_ROLES)],
            ),
        ],
    )


def with_boundary(body: dict[str, Any], kind: str) -> dict[str, Any]:
    """Every role of a console or pipeline template carries the boundary (in place; returns `body`).

    The console template holds the policy itself and refers to it; every other template names it by
    its fixed ARN, as the console stack exists before any pipeline stack.
    """
    if kind in UNBOUNDED_KINDS:
        return body
    resources = body.get("Resources") or {}
    own = resources.get(LOGICAL_ID, {}).get("Type") == "AWS::IAM::ManagedPolicy"
    reference: dict[str, Any] = {"Ref": LOGICAL_ID} if own else {"Fn::Sub": ARN}
    for resource in resources.values():
        if resource.get("Type") == "AWS::IAM::Role":
            resource.setdefault("Properties", {}).setdefault("PermissionsBoundary", reference)
    return body


def denied_actions(document_body: Any) -> list[str]:
    """The actions an Allow statement of `document_body` grants that the boundary denies (lower-cased match)."""
    import fnmatch

    found: list[str] = []
    statements = document_body.get("Statement") if isinstance(document_body, dict) else None
    for statement in statements if isinstance(statements, list) else [statements] if statements else []:
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        actions = statement.get("Action", [])
        for action in actions if isinstance(actions, list) else [actions]:
            if not isinstance(action, str):
                continue
            if any(
                fnmatch.fnmatchcase(action.lower(), denied.lower())
                or fnmatch.fnmatchcase(denied.lower(), action.lower())
                for denied in DENIED
            ):
                found.append(action)
    return found
