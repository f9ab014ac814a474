"""A retained table updated in place on the local target, under CloudFormation's rules for indexes: one
global secondary index added or removed per update, an existing index's keys never changed; the items
stay, and a new index holds the items that carry its keys."""

from __future__ import annotations

import json
from typing import Any

import pytest

from generator.deploy.local import LocalSession
from generator.deploy.local.models.dynamodb import INDEX_UNCHANGEABLE, ONE_INDEX_PER_UPDATE, index_changes
from tests.deploy.local.conftest import unique


def _index(name: str, hash_key: str, projection: str = "ALL") -> dict[str, Any]:
    return {
        "IndexName": name,
        "KeySchema": [{"AttributeName": hash_key, "KeyType": "HASH"}],
        "Projection": {"ProjectionType": projection},
    }


def _template(table: str, *indexes: dict[str, Any]) -> dict[str, Any]:
    keys = sorted({"pk", *(k["AttributeName"] for i in indexes for k in i["KeySchema"])})
    return {
        "Resources": {
            "Table": {
                "Type": "AWS::DynamoDB::Table",
                "DeletionPolicy": "Retain",
                "Properties": {
                    "TableName": table,
                    "BillingMode": "PAY_PER_REQUEST",
                    "AttributeDefinitions": [{"AttributeName": k, "AttributeType": "S"} for k in keys],
                    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                    **({"GlobalSecondaryIndexes": list(indexes)} if indexes else {}),
                },
            }
        }
    }


def _update(session: LocalSession, stack: str, template: dict[str, Any]) -> tuple[str, list[str]]:
    cfn = session.client("cloudformation")
    cfn.update_stack(StackName=stack, TemplateBody=json.dumps(template))
    status = cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
    events = cfn.describe_stack_events(StackName=stack)["StackEvents"]
    return status, [e.get("ResourceStatusReason", "") for e in events if e["ResourceStatus"] == "UPDATE_FAILED"]


def test_one_new_index_is_added_in_place_and_finds_the_items_already_there(session: LocalSession) -> None:
    stack, table = unique("table"), unique("state")
    first = _index("First", "first")
    cfn = session.client("cloudformation")
    cfn.create_stack(StackName=stack, TemplateBody=json.dumps(_template(table, first)))
    ddb = session.client("dynamodb")
    ddb.put_item(TableName=table, Item={"pk": {"S": "kept"}, "feed": {"S": "RUN"}})
    status, _ = _update(session, stack, _template(table, first, _index("ByFeed", "feed")))
    assert status == "UPDATE_COMPLETE"
    described = ddb.describe_table(TableName=table)["Table"]
    assert sorted(i["IndexName"] for i in described["GlobalSecondaryIndexes"]) == ["ByFeed", "First"]
    found = ddb.query(
        TableName=table,
        IndexName="ByFeed",
        KeyConditionExpression="feed = :f",
        ExpressionAttributeValues={":f": {"S": "RUN"}},
    )
    assert [i["pk"]["S"] for i in found["Items"]] == ["kept"]


def test_two_new_indexes_in_one_update_are_refused_and_nothing_changes(session: LocalSession) -> None:
    stack, table = unique("table"), unique("state")
    cfn = session.client("cloudformation")
    cfn.create_stack(StackName=stack, TemplateBody=json.dumps(_template(table)))
    session.client("dynamodb").put_item(TableName=table, Item={"pk": {"S": "kept"}})
    status, reasons = _update(session, stack, _template(table, _index("A", "a"), _index("B", "b")))
    assert status == "UPDATE_ROLLBACK_COMPLETE"
    assert any(ONE_INDEX_PER_UPDATE in reason for reason in reasons), reasons
    described = session.client("dynamodb").describe_table(TableName=table)["Table"]
    assert described.get("GlobalSecondaryIndexes", []) == []
    assert session.client("dynamodb").get_item(TableName=table, Key={"pk": {"S": "kept"}})["Item"]


def test_changing_an_index_keys_is_refused(session: LocalSession) -> None:
    stack, table = unique("table"), unique("state")
    cfn = session.client("cloudformation")
    cfn.create_stack(StackName=stack, TemplateBody=json.dumps(_template(table, _index("A", "a"))))
    status, reasons = _update(session, stack, _template(table, _index("A", "b")))
    assert status == "UPDATE_ROLLBACK_COMPLETE"
    assert any(INDEX_UNCHANGEABLE in reason for reason in reasons), reasons


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ([], [_index("A", "a")], [{"Create": _index("A", "a")}]),
        ([_index("A", "a")], [], [{"Delete": {"IndexName": "A"}}]),
        ([_index("A", "a")], [_index("A", "a")], []),
    ],
)
def test_index_changes_one_at_a_time(
    old: list[dict[str, Any]], new: list[dict[str, Any]], expected: list[dict[str, Any]]
) -> None:
    assert index_changes(old, new) == expected


def test_adding_one_index_and_removing_another_is_two_changes() -> None:
    with pytest.raises(ValueError, match=ONE_INDEX_PER_UPDATE):
        index_changes([_index("A", "a")], [_index("B", "b")])
