"""The feed keys of the state table's `ByFeed` index, and the upgrade of items written before them.

Pipeline, environment and run items carry `feed` and `feed_sk`, so the console lists a page of
pipelines, their environments, and the recent runs of every pipeline, in one query each. Items
an older controller wrote lack them: the first apply that holds the deploy lock after an upgrade
backfills them once (a scan of the table) and records the layout version under CONSOLE / LAYOUT, so
the console never misses an old run or environment, whether the index exists yet or is added later
(DynamoDB indexes the items a new index finds).
"""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from generator.contract import (
    CONSOLE_PK,
    ENV_FEED,
    ENV_SK_PREFIX,
    FEED_ATTRIBUTE,
    FEED_SORT_ATTRIBUTE,
    LAYOUT_SK,
    LAYOUT_VERSION,
    META_SK,
    PIPELINE_FEED,
    PIPELINE_PK_PREFIX,
    RUN_FEED,
    RUN_PREFIX,
)
from generator.deploy.aws import error_code

_deserialize = TypeDeserializer().deserialize
SCAN_DENIED = frozenset({"AccessDeniedException", "AccessDenied", "UnauthorizedOperation"})


def pipeline_feed_keys(pipeline: str) -> dict[str, str]:
    """What puts a pipeline item in the console's list of pipelines (by name)."""
    return {FEED_ATTRIBUTE: PIPELINE_FEED, FEED_SORT_ATTRIBUTE: pipeline}


def run_feed_keys(started_at: str, run_id: str) -> dict[str, str]:
    """What puts a pipeline's run item in the console's recent runs (newest first)."""
    return {FEED_ATTRIBUTE: RUN_FEED, FEED_SORT_ATTRIBUTE: f"{started_at}#{run_id}"}


def env_feed_keys(pipeline: str, env: str) -> dict[str, str]:
    """What puts an environment item in the console's list of environments (by pipeline, then env)."""
    return {FEED_ATTRIBUTE: ENV_FEED, FEED_SORT_ATTRIBUTE: f"{pipeline}#{env}"}


def feed_keys(item: dict[str, Any]) -> dict[str, str] | None:
    """The feed keys an item should carry, from its own keys; None for items no feed lists."""
    pk, sk = str(item.get("pk", "")), str(item.get("sk", ""))
    if not pk.startswith(PIPELINE_PK_PREFIX):
        return None
    pipeline = pk[len(PIPELINE_PK_PREFIX) :]
    if sk == META_SK:
        return pipeline_feed_keys(pipeline)
    if sk.startswith(ENV_SK_PREFIX):
        return env_feed_keys(pipeline, sk[len(ENV_SK_PREFIX) :])
    if sk.startswith(RUN_PREFIX):
        started_at, _, run_id = sk[len(RUN_PREFIX) :].rpartition("#")
        return run_feed_keys(started_at, run_id)
    return None


def upgrade_layout(ddb: Any, table_name: str) -> int | None:
    """Backfill the feed keys on items written without them, once per table; how many items changed, or
    None when the caller may not scan the table yet: an Apply role of the delivery stack before this
    release gains dynamodb:Scan only when that stack is updated, and the upgrade must not stop that run."""
    layout = {"pk": {"S": CONSOLE_PK}, "sk": {"S": LAYOUT_SK}}
    marker = ddb.get_item(TableName=table_name, Key=layout, ConsistentRead=True).get("Item") or {}
    if int(_deserialize(marker.get("version", {"N": "0"}))) >= LAYOUT_VERSION:
        return 0
    changed = 0
    start: dict[str, Any] | None = None
    while True:
        try:
            page = ddb.scan(
                TableName=table_name,
                FilterExpression="begins_with(pk, :pipeline) AND attribute_not_exists(#feed)",
                ExpressionAttributeNames={"#feed": FEED_ATTRIBUTE},
                ExpressionAttributeValues={":pipeline": {"S": PIPELINE_PK_PREFIX}},
                ProjectionExpression="pk, sk",
                **({"ExclusiveStartKey": start} if start else {}),
            )
        except ClientError as exc:
            if error_code(exc) in SCAN_DENIED:
                return None
            raise
        for raw in page.get("Items") or []:
            keys = feed_keys({k: _deserialize(v) for k, v in raw.items()})
            if keys is not None and _set_feed(ddb, table_name, raw, keys):
                changed += 1
        start = page.get("LastEvaluatedKey")
        if not start:
            break
    ddb.put_item(TableName=table_name, Item={**layout, "version": {"N": str(LAYOUT_VERSION)}})
    return changed


def _set_feed(ddb: Any, table_name: str, key: dict[str, Any], keys: dict[str, str]) -> bool:
    """Only on an item that still exists: a run or environment removed meanwhile stays removed."""
    try:
        ddb.update_item(
            TableName=table_name,
            Key={"pk": key["pk"], "sk": key["sk"]},
            UpdateExpression="SET #feed = :feed, #feed_sk = :feed_sk",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames={"#feed": FEED_ATTRIBUTE, "#feed_sk": FEED_SORT_ATTRIBUTE},
            ExpressionAttributeValues={
                ":feed": {"S": keys[FEED_ATTRIBUTE]},
                ":feed_sk": {"S": keys[FEED_SORT_ATTRIBUTE]},
            },
        )
    except ClientError as exc:
        if error_code(exc) != "ConditionalCheckFailedException":
            raise
        return False
    return True
