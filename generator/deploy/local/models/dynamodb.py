"""DynamoDB tables updated in place as CloudFormation updates them, with its rules on indexes.

moto's own Table model creates and deletes tables but has no update: a changed template left the local
table as it was, so a new global secondary index never appeared. On AWS, CloudFormation updates a table
in place and adds or removes at most one global secondary index per update, and refuses to change an
existing index's keys or projection; the local target now does the same. Changes of the table's name or
key schema replace the table (the change set says so), which moto's engine already does.
"""

from __future__ import annotations

import json
from typing import Any

from generator.deploy.local.compat import backend, moto_class

ONE_INDEX_PER_UPDATE = "Cannot perform more than one GSI creation or deletion in a single update"
INDEX_UNCHANGEABLE = (
    "Cannot update GSI's properties other than Provisioned Throughput and Contributor Insights Specification. "
    "You can create a new GSI with a different name."
)


def index_changes(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """UpdateTable's GlobalSecondaryIndexUpdates from one template's indexes to the next's; raises ValueError
    with CloudFormation's reason where CloudFormation refuses the update."""
    before = {index["IndexName"]: index for index in old}
    after = {index["IndexName"]: index for index in new}
    created = [after[name] for name in sorted(after.keys() - before.keys())]
    deleted = sorted(before.keys() - after.keys())
    if len(created) + len(deleted) > 1:
        raise ValueError(ONE_INDEX_PER_UPDATE)
    for name in sorted(before.keys() & after.keys()):
        if _shape(before[name]) != _shape(after[name]):
            raise ValueError(INDEX_UNCHANGEABLE)
    return [{"Create": index} for index in created] + [{"Delete": {"IndexName": name}} for name in deleted]


def _shape(index: dict[str, Any]) -> str:
    return json.dumps({"KeySchema": index.get("KeySchema"), "Projection": index.get("Projection")}, sort_keys=True)


def _update(
    cls: Any,
    original_resource: Any,
    new_resource_name: str,
    cloudformation_json: dict[str, Any],
    account_id: str,
    region_name: str,
) -> Any:
    properties = cloudformation_json.get("Properties") or {}
    if properties.get("KeySchema", original_resource.schema) != original_resource.schema:
        return original_resource  # a replacement: the change set flags it, the engine creates the new table
    old = [index.describe() for index in original_resource.global_indexes]
    changes = index_changes(old, properties.get("GlobalSecondaryIndexes") or [])
    backend("dynamodb", account_id, region_name).update_table(
        name=original_resource.name,
        attr_definitions=properties.get("AttributeDefinitions") or [],
        global_index=changes,
        throughput=None,
        billing_mode=properties.get("BillingMode"),
        stream_spec=None,
        deletion_protection_enabled=properties.get("DeletionProtectionEnabled"),
        warm_throughput=None,
    )
    return original_resource


def patch() -> None:
    table: Any = moto_class("dynamodb", "Table")
    table.update_from_cloudformation_json = classmethod(_update)


patch()
