"""CloudFormation operations the controller composes: change sets, execution, waits, deletes, events.

Change sets are always addressed by ARN: names repeat across stacks (`pipectl-<revision>`), and
an ARN cannot pick the wrong stack's change set.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from generator.contract import Tag
from generator.deploy.aws import Aws, error_code, error_message
from generator.deploy.deployed import DeployedStack, from_description
from generator.deploy.errors import DeployError
from generator.deploy.manifest import StackSpec

CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"]
NO_CHANGES = ("didn't contain changes", "No updates are to be performed")
CHANGE_SET_NAME_MAX = 128


def change_set_name(revision: str) -> str:
    """`pipectl-<revision>`, reduced to what CloudFormation allows in a change set name."""
    cleaned = re.sub(r"[^A-Za-z0-9-]+", "-", revision).strip("-") or "local"
    return f"pipectl-{cleaned}"[:CHANGE_SET_NAME_MAX]


@dataclass(frozen=True)
class ChangeSet:
    """A created change set; `empty` when CloudFormation found nothing to change."""

    id: str
    stack_id: str
    status: str
    reason: str
    empty: bool
    changes: tuple[dict[str, Any], ...]


def fingerprint(aws: Aws, stack: DeployedStack) -> str:
    """Status, last update and newest event: any operation on the stack since then changes it."""
    events = aws.cfn(stack.region).describe_stack_events(StackName=stack.stack_id).get("StackEvents") or []
    newest = events[0]["EventId"] if events else "-"
    updated = stack.updated.isoformat() if stack.updated else "-"
    return f"{stack.status}|{updated}|{newest}"


def create_change_set(
    aws: Aws, spec: StackSpec, source: dict[str, str], name: str, create: bool, revision: str
) -> ChangeSet:
    """Create the change set (replacing an earlier one of the same name), wait for it, list its changes."""
    cfn = aws.cfn(spec.region)
    if not create:
        _delete_same_name(aws, spec, name)
    tags = {**spec.tags, Tag.SPEC_HASH: spec.hash, Tag.REVISION: revision}
    created = cfn.create_change_set(
        StackName=spec.name,
        ChangeSetName=name,
        ChangeSetType="CREATE" if create else "UPDATE",
        Description=f"pipectl revision {revision}"[:1024],
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(spec.parameters.items())],
        Tags=[{"Key": k, "Value": v} for k, v in sorted(tags.items())],
        Capabilities=CAPABILITIES,
        **_role(aws),
        **source,
    )
    change_set_id = created["Id"]
    described = aws.poll(
        lambda: cfn.describe_change_set(ChangeSetName=change_set_id, StackName=spec.name),
        lambda d: d["Status"] in ("CREATE_COMPLETE", "FAILED", "DELETE_COMPLETE"),
        aws.timeouts.change_set,
        f"change set {name} of {spec.name}",
    )
    reason = described.get("StatusReason") or ""
    empty = described["Status"] == "FAILED" and any(text in reason for text in NO_CHANGES)
    if described["Status"] != "CREATE_COMPLETE" and not empty:
        raise DeployError(f"{spec.name}: change set {name} failed: {reason or described['Status']}")
    changes = list(described.get("Changes") or [])
    token = described.get("NextToken")
    while token and not empty:
        page = cfn.describe_change_set(ChangeSetName=change_set_id, StackName=spec.name, NextToken=token)
        changes.extend(page.get("Changes") or [])
        token = page.get("NextToken")
    if empty:
        cfn.delete_change_set(ChangeSetName=change_set_id, StackName=spec.name)
    return ChangeSet(change_set_id, created.get("StackId", ""), described["Status"], reason, empty, tuple(changes))


def _role(aws: Aws) -> dict[str, str]:
    """CloudFormation acts with the execution role when the target names one, never with the caller's rights."""
    role = aws.target.cloudformation_role_arn
    return {"RoleARN": role} if role else {}


def _delete_same_name(aws: Aws, spec: StackSpec, name: str) -> None:
    cfn = aws.cfn(spec.region)
    for summary in cfn.paginate("list_change_sets", "Summaries", StackName=spec.name):
        # moto lists the change sets of every stack, whatever StackName says: never touch another's.
        if summary.get("ChangeSetName") == name and summary.get("StackName", spec.name) == spec.name:
            cfn.delete_change_set(ChangeSetName=summary["ChangeSetId"], StackName=spec.name)


def describe_change_set(aws: Aws, region: str, stack: str, change_set_id: str) -> dict[str, Any] | None:
    try:
        return dict(aws.cfn(region).describe_change_set(ChangeSetName=change_set_id, StackName=stack))
    except ClientError as exc:
        if error_code(exc) in ("ChangeSetNotFound", "ChangeSetNotFoundException", "ValidationError"):
            return None
        raise


def describe_by_id(aws: Aws, region: str, stack_id: str) -> DeployedStack | None:
    """A stack by id, deleted ones included (describe_stacks keeps them for a while under their id)."""
    try:
        stacks = aws.cfn(region).describe_stacks(StackName=stack_id)["Stacks"]
    except ClientError as exc:
        if "does not exist" in error_message(exc):
            return None
        raise
    return from_description(stacks[0], region) if stacks else None


def wait_settled(aws: Aws, region: str, stack_id: str, what: str) -> DeployedStack | None:
    """Wait until the stack is in no *_IN_PROGRESS state (None if it is gone)."""

    def settled(stack: DeployedStack | None) -> bool:
        return stack is None or not stack.status.endswith("_IN_PROGRESS")

    return aws.poll(lambda: describe_by_id(aws, region, stack_id), settled, aws.timeouts.stack, what)


def delete_and_wait(aws: Aws, stack: DeployedStack) -> DeployedStack | None:
    """Delete a stack and wait; returns the final description (DELETE_COMPLETE, or DELETE_FAILED)."""
    aws.cfn(stack.region).delete_stack(StackName=stack.stack_id, **_role(aws))
    return wait_settled(aws, stack.region, stack.stack_id, f"deletion of {stack.name}")


def failure_events(aws: Aws, stack: DeployedStack | None, region: str, name: str, since: datetime) -> list[str]:
    """The FAILED events since `since`, oldest first: what explains a failed create or update."""
    if stack is None:
        return []
    lines: list[str] = []
    token: str | None = None
    while True:
        more = {"NextToken": token} if token else {}
        page = aws.cfn(region).describe_stack_events(StackName=stack.stack_id, **more)
        events = page.get("StackEvents") or []
        recent = [e for e in events if e["Timestamp"] >= since]
        for event in recent:
            if str(event.get("ResourceStatus", "")).endswith("FAILED"):
                lines.append(
                    f"{event['Timestamp']:%H:%M:%S} {event.get('LogicalResourceId', name)} "
                    f"{event.get('ResourceType', '')} {event['ResourceStatus']}: "
                    f"{event.get('ResourceStatusReason', '')}"
                )
        token = page.get("NextToken")
        if not token or len(recent) < len(events):
            return list(reversed(lines))
