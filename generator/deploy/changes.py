"""What a plan says it will do: plan actions and resource changes, shared by plan, apply and plan.md.

A stack either has a change set made at plan time (`create`, `update`), or waits for dependencies
that are not deployed as built yet (`create-after`, `update-after`): its change set is made by apply
once they succeeded, because CloudFormation resolves `Fn::ImportValue` when a change set is created.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from generator.contract import STATEFUL_TYPES

# Changes that can widen who may do what: IAM, resource policies, security groups, key policies.
WIDENING_TYPES = frozenset(
    {
        "AWS::EC2::SecurityGroup",
        "AWS::EC2::SecurityGroupIngress",
        "AWS::EC2::SecurityGroupEgress",
        "AWS::S3::BucketPolicy",
        "AWS::SQS::QueuePolicy",
        "AWS::SNS::TopicPolicy",
        "AWS::KMS::Key",
        "AWS::Lambda::Permission",
    }
)
TO_CONFIRM = "to be confirmed by the change set"


class PlanAction(StrEnum):
    """What apply does to one stack."""

    CREATE = "create"
    UPDATE = "update"
    CREATE_AFTER = "create-after"  # change set made at apply time, once the dependencies succeeded
    UPDATE_AFTER = "update-after"
    NONE = "none"
    DELETE = "delete"  # an orphan: prune deletes it, apply never does
    ERROR = "error"

    @property
    def deferred(self) -> bool:
        return self in (PlanAction.CREATE_AFTER, PlanAction.UPDATE_AFTER)

    @property
    def changes_stack(self) -> bool:
        """Apply creates or updates the stack (now or after its dependencies)."""
        return self in CHANGING

    @property
    def base(self) -> PlanAction:
        """`create` or `update` for the deferred actions; the action itself otherwise."""
        return {PlanAction.CREATE_AFTER: PlanAction.CREATE, PlanAction.UPDATE_AFTER: PlanAction.UPDATE}.get(self, self)

    def after(self) -> PlanAction:
        """The deferred form of `create` or `update`."""
        return {PlanAction.CREATE: PlanAction.CREATE_AFTER, PlanAction.UPDATE: PlanAction.UPDATE_AFTER}[self]


CHANGING = frozenset({PlanAction.CREATE, PlanAction.UPDATE, PlanAction.CREATE_AFTER, PlanAction.UPDATE_AFTER})
WITH_CHANGE_SET = frozenset({PlanAction.CREATE, PlanAction.UPDATE})


@dataclass
class ResourceChange:
    """One row of a change set: replacement is True/False/Conditional, `unknown` when not reported.

    `note` says where the row comes from when it is not a change set's (a deferred stack's template).
    """

    resource: str
    type: str
    action: str
    replacement: str
    stateful: bool = False
    widening: bool = False
    note: str = ""

    @property
    def data_at_risk(self) -> bool:
        return self.stateful and (self.action == "Remove" or self.replacement in ("True", "Conditional"))


def resource_change(
    logical: str, kind: str, action: str, replacement: str, stateful_ids: tuple[str, ...], note: str = ""
) -> ResourceChange:
    """A row, with the stateful and widening flags plan.md and the data-loss refusal read."""
    return ResourceChange(
        resource=logical,
        type=kind,
        action=action,
        replacement=replacement,
        stateful=logical in stateful_ids or kind in STATEFUL_TYPES,
        widening=action in ("Add", "Modify") and (kind.startswith("AWS::IAM::") or kind in WIDENING_TYPES),
        note=note,
    )


def from_change_set(
    raw: dict[str, Any], stateful_ids: tuple[str, ...], computed: dict[str, str] | None = None
) -> ResourceChange:
    """A row of DescribeChangeSet's `Changes`; `computed` holds replacements worked out where the target gave none."""
    rc = raw.get("ResourceChange") or {}
    action = str(rc.get("Action", ""))
    logical = str(rc.get("LogicalResourceId", ""))
    reported = str(rc.get("Replacement") or "") or (computed or {}).get(logical, "")
    replacement = reported or ("unknown" if action == "Modify" else "n/a")
    return resource_change(
        str(rc.get("LogicalResourceId", "")), str(rc.get("ResourceType", "")), action, replacement, stateful_ids
    )
