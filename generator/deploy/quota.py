"""Reserved concurrency against the account's quota, checked by plan before any change set exists.

Every reservation comes out of the region's concurrency quota, and Lambda keeps at least 100 of it
unreserved: a stack whose functions reserve more than is left fails half-way through apply with
"decreases account's UnreservedConcurrentExecution below its minimum value of [100]". Plan reads
`GetAccountSettings` on `--target aws` and refuses, naming the functions, when the reservations it
would add do not fit. A function already deployed with a reservation adds only what it grows by.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from botocore.exceptions import ClientError

from generator.deploy.aws import Aws, error_code
from generator.deploy.deployed import DeployedStack
from generator.deploy.errors import RefusedError
from generator.deploy.manifest import Manifest, StackSpec

UNRESERVED_FLOOR = 100
"""Concurrency Lambda always leaves unreserved in an account and region."""

FUNCTION_TYPE = "AWS::Lambda::Function"


@dataclass(frozen=True)
class Reservation:
    """One planned function's reserved concurrency, and how much of it is not reserved yet."""

    stack: str
    logical_id: str
    wanted: int
    added: int

    def __str__(self) -> str:
        return f"{self.stack}/{self.logical_id} ({self.added} more, {self.wanted} in all)"


def reservations(
    aws: Aws, manifest: Manifest, stacks: Iterable[StackSpec], deployed: dict[str, DeployedStack]
) -> dict[str, list[Reservation]]:
    """Per region, each planned function whose reservation is new or larger than the deployed one."""
    found: dict[str, list[Reservation]] = defaultdict(list)
    for spec in stacks:
        wanted = _reserved(manifest.template_body(spec))
        if not wanted:
            continue
        current = _deployed_reservations(aws, deployed[spec.name], set(wanted)) if spec.name in deployed else {}
        for logical_id, amount in sorted(wanted.items()):
            added = amount - current.get(logical_id, 0)
            if added > 0:
                found[spec.region].append(Reservation(spec.name, logical_id, amount, added))
    return dict(found)


def check_reserved_concurrency(
    aws: Aws, manifest: Manifest, stacks: Iterable[StackSpec], deployed: dict[str, DeployedStack]
) -> None:
    """Refuse the plan when the reservations it adds exceed what the account leaves unreserved."""
    for region, planned in sorted(reservations(aws, manifest, stacks, deployed).items()):
        limit = aws.client("lambda", region).get_account_settings()["AccountLimit"]
        available = int(limit["UnreservedConcurrentExecutions"]) - UNRESERVED_FLOOR
        needed = sum(r.added for r in planned)
        if needed > available:
            raise RefusedError(
                f"reserved concurrency does not fit in {region}: the plan reserves {needed} more, the account "
                f"leaves {available} ({limit['UnreservedConcurrentExecutions']} unreserved, of which Lambda "
                f"keeps {UNRESERVED_FLOOR}); functions: {', '.join(str(r) for r in planned)}. Lower or remove "
                "processing.concurrency, or ask AWS for a higher concurrency quota"
            )


def _reserved(body: str) -> dict[str, int]:
    """Logical id -> reserved concurrency of each function in a template that reserves any."""
    resources = json.loads(body).get("Resources") or {}
    return {
        logical_id: int(resource["Properties"]["ReservedConcurrentExecutions"])
        for logical_id, resource in resources.items()
        if resource.get("Type") == FUNCTION_TYPE
        and isinstance((resource.get("Properties") or {}).get("ReservedConcurrentExecutions"), int)
    }


def _deployed_reservations(aws: Aws, live: DeployedStack, logical_ids: set[str]) -> dict[str, int]:
    """What the deployed functions of a stack reserve today, by logical id."""
    summaries = aws.cfn(live.region).paginate("list_stack_resources", "StackResourceSummaries", StackName=live.stack_id)
    lambdas = aws.client("lambda", live.region)
    current: dict[str, int] = {}
    for summary in summaries:
        logical_id, physical = summary.get("LogicalResourceId"), summary.get("PhysicalResourceId")
        if logical_id not in logical_ids or not physical:
            continue
        try:
            reserved = lambdas.get_function_concurrency(FunctionName=physical).get("ReservedConcurrentExecutions")
        except ClientError as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise
            continue
        if reserved is not None:
            current[str(logical_id)] = int(reserved)
    return current
