"""What is deployed: every stack of a region in one paginated describe_stacks, with tags and outputs.

One batched read instead of one call per stack keeps a no-op plan of many pipelines at a handful
of CloudFormation calls (a page holds up to 100 stacks).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from generator.contract import Tag
from generator.deploy.aws import Aws, error_message

STABLE = frozenset(
    {"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE", "IMPORT_ROLLBACK_COMPLETE"}
)
# Stable and updatable, but the last change did not go through: never "in sync".
ROLLED_BACK = frozenset({"UPDATE_ROLLBACK_COMPLETE", "IMPORT_ROLLBACK_COMPLETE"})


@dataclass(frozen=True)
class DeployedStack:
    """One live stack as CloudFormation describes it."""

    name: str
    stack_id: str
    region: str
    status: str
    reason: str
    tags: dict[str, str]
    outputs: dict[str, str]
    created: datetime | None
    last_updated: datetime | None
    termination_protection: bool

    @property
    def spec_hash(self) -> str | None:
        return self.tags.get(Tag.SPEC_HASH)

    @property
    def pipeline(self) -> str | None:
        return self.tags.get(Tag.PIPELINE)

    @property
    def updated(self) -> datetime | None:
        return self.last_updated or self.created

    def in_sync(self, manifest_hash: str) -> bool:
        return self.spec_hash == manifest_hash and self.status in STABLE and self.status not in ROLLED_BACK


def from_description(raw: dict[str, Any], region: str) -> DeployedStack:
    return DeployedStack(
        name=raw["StackName"],
        stack_id=raw["StackId"],
        region=region,
        status=raw["StackStatus"],
        reason=raw.get("StackStatusReason") or "",
        tags={t["Key"]: t["Value"] for t in raw.get("Tags") or []},
        outputs={o["OutputKey"]: o.get("OutputValue", "") for o in raw.get("Outputs") or []},
        created=raw.get("CreationTime"),
        last_updated=raw.get("LastUpdatedTime"),
        termination_protection=bool(raw.get("EnableTerminationProtection")),
    )


def read_deployed(aws: Aws, regions: tuple[str, ...]) -> dict[str, DeployedStack]:
    """Every live stack in `regions` by name (deleted stacks are not listed by describe_stacks)."""
    out: dict[str, DeployedStack] = {}
    for region in regions or (aws.target.region,):
        for raw in aws.cfn(region).paginate("describe_stacks", "Stacks"):
            stack = from_description(raw, region)
            if stack.status != "DELETE_COMPLETE":
                out[stack.name] = stack
    return out


def read_one(aws: Aws, name: str, region: str) -> DeployedStack | None:
    """One stack, or None when it does not exist (any more)."""
    try:
        stacks = aws.cfn(region).describe_stacks(StackName=name)["Stacks"]
    except ClientError as exc:
        if "does not exist" in error_message(exc):
            return None
        raise
    stack = from_description(stacks[0], region)
    return None if stack.status == "DELETE_COMPLETE" else stack
