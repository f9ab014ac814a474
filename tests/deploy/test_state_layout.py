"""Run and environment items carry the keys of the console's ByFeed index; items an older controller wrote
without them are backfilled by the next apply, once, and then show up in the console's paged lists.

The console stack here is the shipped state table's indexes on the test's stand-in console; the upgrade
adds ByFeed to a deployed table holding older items, in place, as a new release's console stack does."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from generator.deploy.apply import apply_now
from generator.deploy.aws import Aws
from generator.deploy.deployed import read_deployed
from generator.deploy.local.console import Identity, answer
from generator.deploy.state import StateStore, find_state_table
from generator.deploy.state_layout import feed_keys, upgrade_layout
from generator.spec.models import ConsoleSpec
from generator.stacks.console import build_console
from tests.deploy.conftest import Build, console_template

ADMIN = Identity("someone", ())
RECENT = "{ recentRuns(limit: 100) { items { runId pipeline } nextToken } }"
PAGE = "{ pipelinesPage { items { name environments { env status } } nextToken } }"


def console(*indexes: str) -> dict[str, Any]:
    """The stand-in console with the shipped state table's keys and the named indexes of it."""
    shipped = build_console(ConsoleSpec()).to_dict()["Resources"]["StateTable"]["Properties"]
    template = console_template()
    table = template["Resources"]["StateTable"]["Properties"]
    kept = [i for i in shipped["GlobalSecondaryIndexes"] if i["IndexName"] in indexes]
    used = {k["AttributeName"] for i in kept for k in i["KeySchema"]} | {"pk", "sk"}
    table["AttributeDefinitions"] = [a for a in shipped["AttributeDefinitions"] if a["AttributeName"] in used]
    table["GlobalSecondaryIndexes"] = kept
    return template


@pytest.fixture
def store(aws: Aws, build: Build) -> StateStore:
    build.add("pipectl-console", "console", console("BySortKey", "ByFeed"), stateful=("StateTable",))
    assert apply_now(aws, build.write(), "boot")[1].ok
    table = find_state_table(read_deployed(aws, ("eu-west-1",)))
    assert table is not None
    return StateStore(aws, table)


def _old_items(store: StateStore) -> None:
    """What a controller before the index wrote: the same items, without feed keys."""
    store.put({"pk": "PIPELINE#legacy", "sk": "META", "name": "legacy", "envs": ["prod"]})
    store.put({"pk": "PIPELINE#legacy", "sk": "ENV#prod", "env": "prod", "status": "succeeded"})
    store.put(
        {
            "pk": "PIPELINE#legacy",
            "sk": "RUN#2020-01-01T00:00:00Z#old-run",
            "run_id": "old-run",
            "started_at": "2020-01-01T00:00:00Z",
            "stacks": {},
        }
    )


def test_an_apply_records_its_runs_and_environments_in_the_feeds(aws: Aws, store: StateStore, build: Build) -> None:
    build.pipeline("shop", kinds=("storage",))
    assert apply_now(aws, build.write(), "two")[1].ok
    got = answer(RECENT, None, ADMIN, store.ddb, store.table.name)
    assert "errors" not in got, got
    runs = got["data"]["recentRuns"]["items"]
    assert "shop" in {r["pipeline"] for r in runs}
    [shop] = [p for p in answer(PAGE, None, ADMIN, store.ddb, store.table.name)["data"]["pipelinesPage"]["items"]
              if p["name"] == "shop"]  # fmt: skip
    assert [e["status"] for e in shop["environments"]] == ["succeeded"]


def test_an_upgrade_adds_the_index_in_place_and_backfills_older_items_once(aws: Aws, build: Build) -> None:
    build.add("pipectl-console", "console", console("BySortKey"), stateful=("StateTable",))
    assert apply_now(aws, build.write(), "before")[1].ok
    table = find_state_table(read_deployed(aws, ("eu-west-1",)))
    assert table is not None
    store = StateStore(aws, table)
    store.ddb.delete_item(TableName=table.name, Key={"pk": {"S": "CONSOLE"}, "sk": {"S": "LAYOUT"}})
    _old_items(store)
    build.add("pipectl-console", "console", console("BySortKey", "ByFeed"), stateful=("StateTable",))
    build.pipeline("shop", kinds=("storage",))
    assert apply_now(aws, build.write(), "after-upgrade")[1].ok
    assert find_state_table(read_deployed(aws, ("eu-west-1",))) == table  # the same table, updated in place
    after = answer(RECENT, None, ADMIN, store.ddb, store.table.name)["data"]["recentRuns"]["items"]
    assert {"runId": "old-run", "pipeline": "legacy"} in after
    pipelines = answer(PAGE, None, ADMIN, store.ddb, store.table.name)["data"]["pipelinesPage"]["items"]
    assert {"name": "legacy", "environments": [{"env": "prod", "status": "succeeded"}]} in pipelines
    assert upgrade_layout(store.ddb, store.table.name) == 0  # the layout version is recorded: no second scan


def test_backfill_sets_the_keys_on_items_that_lack_them(store: StateStore) -> None:
    store.ddb.delete_item(TableName=store.table.name, Key={"pk": {"S": "CONSOLE"}, "sk": {"S": "LAYOUT"}})
    _old_items(store)
    assert upgrade_layout(store.ddb, store.table.name) == 3  # the pipeline, its environment and its run
    assert store.get("PIPELINE#legacy", "ENV#prod") == {
        "pk": "PIPELINE#legacy",
        "sk": "ENV#prod",
        "env": "prod",
        "status": "succeeded",
        "feed": "ENV",
        "feed_sk": "legacy#prod",
    }


def test_feed_keys_follow_the_item_keys() -> None:
    assert feed_keys({"pk": "PIPELINE#a-b", "sk": "RUN#2024-01-01T00:00:00Z#r-1"}) == {
        "feed": "RUN",
        "feed_sk": "2024-01-01T00:00:00Z#r-1",
    }
    assert feed_keys({"pk": "PIPELINE#a", "sk": "ENV#prod"}) == {"feed": "ENV", "feed_sk": "a#prod"}
    assert feed_keys({"pk": "PIPELINE#a", "sk": "META"}) == {"feed": "PIPELINE", "feed_sk": "a"}
    assert feed_keys({"pk": "PIPELINE#a", "sk": "STACK#prod#x"}) is None
    assert feed_keys({"pk": "RUN#r-1", "sk": "META"}) is None


class _ScanDenied:
    """The state table's client as an Apply role from before this release sees it: no dynamodb:Scan. A
    fault-injecting wrapper, since the moto server behind these tests does not evaluate the build roles' IAM."""

    def __init__(self, ddb: Any) -> None:
        self.ddb = ddb

    def scan(self, **_: Any) -> Any:
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not authorized"}}, "Scan")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.ddb, name)


def test_a_role_that_may_not_scan_yet_leaves_the_backfill_for_a_later_apply(store: StateStore) -> None:
    store.ddb.delete_item(TableName=store.table.name, Key={"pk": {"S": "CONSOLE"}, "sk": {"S": "LAYOUT"}})
    _old_items(store)
    real = store.ddb
    store.ddb = _ScanDenied(real)
    try:
        assert upgrade_layout(store.ddb, store.table.name) is None
    finally:
        store.ddb = real
    assert store.get("CONSOLE", "LAYOUT") is None  # not marked done: the next apply tries again
    assert upgrade_layout(store.ddb, store.table.name) == 3
