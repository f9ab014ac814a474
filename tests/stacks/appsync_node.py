"""The APPSYNC_JS resolvers run with node, as AppSync runs them: request, the DynamoDB call, response.

Shared by the console stack's resolver tests and the parity test of the local console's Python path,
with the state table both ask: `node_resolvers(directory)` and `seeded_table(properties)`.
`@aws-appsync/utils` is stood in for by the few `util` functions the resolvers use.
"""

from __future__ import annotations

import base64
import gzip
import json
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest
from boto3.dynamodb.types import Binary, TypeDeserializer
from moto import mock_aws

from generator.deploy.local.console.dynamo import page_token, query_arguments
from generator.deploy.state_layout import env_feed_keys, pipeline_feed_keys, run_feed_keys
from generator.stacks.console import ACCESS_FUNCTION, FIELDS, FOLLOWING, QUERIES, query_code, resolver_code

NODE = shutil.which("node")
UTILS = """
function toAttr(v) {
  if (v === null || v === undefined) return { NULL: true };
  if (typeof v === 'string') return { S: v };
  if (typeof v === 'number') return { N: String(v) };
  if (typeof v === 'boolean') return { BOOL: v };
  if (Array.isArray(v)) return { L: v.map(toAttr) };
  return { M: Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toAttr(x)])) };
}
export class EarlyReturn {
  constructor(value) { this.value = value; }
}
export const runtime = {
  earlyReturn(value) { throw new EarlyReturn(value === undefined ? null : value); },
};
export const util = {
  error(message, type) { const e = new Error(message); e.type = type; throw e; },
  dynamodb: { toMapValues(o) { return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, toAttr(v)])); } },
};
"""
HARNESS = """
import { pathToFileURL } from 'node:url';
import { createInterface } from 'node:readline';
import { EarlyReturn } from '@aws-appsync/utils';
const modules = {};
for await (const line of createInterface({ input: process.stdin })) {
  const { file, phase, ctx } = JSON.parse(line);
  modules[file] ??= await import(pathToFileURL(file).href);
  try {
    const value = modules[file][phase](ctx) ?? null;
    console.log(JSON.stringify({ value: value, stash: ctx.stash ?? null }));
  } catch (e) {
    if (e instanceof EarlyReturn) {
      console.log(JSON.stringify({ early: true, value: e.value, stash: ctx.stash ?? null }));
      continue;
    }
    console.log(JSON.stringify({ error: e.message, type: e.type ?? null }));
  }
}
"""


class Resolvers:
    """The rendered resolvers in a directory node can import them from, with a stand-in for AppSync's util.

    One node process answers every call, a JSON line in and one out, so the tests pay node's start once.
    """

    def __init__(self, directory: Path, groups_claim: str = "cognito:groups") -> None:
        self.directory = directory
        self.groups_claim = groups_claim
        utils = directory / "node_modules" / "@aws-appsync" / "utils"
        utils.mkdir(parents=True)
        (utils / "package.json").write_text(
            json.dumps({"name": "@aws-appsync/utils", "type": "module", "exports": "./index.js"})
        )
        (utils / "index.js").write_text(UTILS)
        (directory / "harness.mjs").write_text(HARNESS)
        following = [name for functions in FOLLOWING.values() for name in functions]
        for name in [*QUERIES, ACCESS_FUNCTION, *(field for _, field in FIELDS), *following]:
            (directory / f"{name}.mjs").write_text(resolver_code(name, groups_claim))
        for field in QUERIES:
            (directory / f"query-{field}.mjs").write_text(query_code(field))
        self._node: subprocess.Popen[str] | None = None

    def run(self, field: str, phase: str, ctx: dict[str, Any]) -> dict[str, Any]:
        assert NODE is not None
        if self._node is None:
            self._node = subprocess.Popen(
                [NODE, "harness.mjs"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=self.directory
            )
        assert self._node.stdin is not None and self._node.stdout is not None
        self._node.stdin.write(json.dumps({"file": f"{field}.mjs", "phase": phase, "ctx": ctx}, default=_plain) + "\n")
        self._node.stdin.flush()
        line = self._node.stdout.readline()
        assert line, f"node stopped answering ({field} {phase})"
        return dict(json.loads(line))

    def close(self) -> None:
        if self._node is not None:
            self._node.communicate(timeout=30)
            self._node = None


@contextmanager
def node_resolvers(directory: Path, groups_claim: str = "cognito:groups") -> Iterator[Resolvers]:
    """The resolvers in `directory`, node stopped on the way out; the test is skipped without node."""
    if NODE is None:
        pytest.skip("node is not installed")
    running = Resolvers(directory, groups_claim)
    try:
        yield running
    finally:
        running.close()


@contextmanager
def seeded_table(
    table: dict[str, Any], region: str = "eu-west-1", items: list[dict[str, Any]] | None = None
) -> Iterator[tuple[Any, str]]:
    """A moto table with the console template's own keys and index (its StateTable `Properties`), holding
    `items` (default: an item of every kind, SEED): the state both the resolvers and the local console's
    path are asked of."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name=region)
        client.create_table(
            TableName=table["TableName"],
            KeySchema=table["KeySchema"],
            AttributeDefinitions=table["AttributeDefinitions"],
            BillingMode=table["BillingMode"],
            GlobalSecondaryIndexes=table["GlobalSecondaryIndexes"],
        )
        resource = boto3.resource("dynamodb", region_name=region).Table(table["TableName"])
        for item in SEED if items is None else items:
            resource.put_item(Item=item)
        yield client, table["TableName"]


def _plain(value: Any) -> Any:
    if isinstance(value, Binary):
        return base64.b64encode(value.value).decode("ascii")  # AppSync hands binaries to resolvers as base64
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(value)


SEED = [
    {
        "pk": "PIPELINE#shop",
        "sk": "META",
        "name": "shop",
        "owner": "analytics@example.com",
        "region": "eu-west-1",
        "envs": ["test", "prod"],
        "updated_at": "2024-05-01T09:00:00Z",
        **pipeline_feed_keys("shop"),
    },
    {
        "pk": "PIPELINE#shop-eu",
        "sk": "META",
        "name": "shop-eu",
        "owner": "eu@example.com",
        "region": "eu-west-1",
        "envs": ["prod"],
        "updated_at": "2024-05-01T09:00:00Z",
        **pipeline_feed_keys("shop-eu"),
    },
    {
        "pk": "PIPELINE#shop",
        "sk": "RUN#2024-05-01T10:00:00Z#r1",
        "run_id": "r1",
        "kind": "apply",
        "revision": "abc1234",
        "actor": "ci",
        "started_at": "2024-05-01T10:00:00Z",
        "ended_at": "2024-05-01T10:09:00Z",
        "result": "failed",
        "stacks": {"pipectl-shop-prod-storage": "ok", "pipectl-shop-prod-ingestion": "failed"},
        **run_feed_keys("2024-05-01T10:00:00Z", "r1"),
    },
    {
        "pk": "PIPELINE#shop-eu",
        "sk": "RUN#2024-05-01T10:00:00Z#r1",
        "run_id": "r1",
        "kind": "apply",
        "revision": "abc1234",
        "actor": "ci",
        "started_at": "2024-05-01T10:00:00Z",
        "result": "failed",
        "stacks": {"pipectl-shop-eu-prod-storage": "unchanged"},
        **run_feed_keys("2024-05-01T10:00:00Z", "r1"),
    },
    {
        "pk": "PIPELINE#shop-eu",
        "sk": "RUN#2024-05-03T08:00:00Z#r3",
        "run_id": "r3",
        "kind": "apply",
        "revision": "0ff1ce0",
        "actor": "eu",
        "started_at": "2024-05-03T08:00:00Z",
        "result": "succeeded",
        "stacks": {"pipectl-shop-eu-prod-storage": "done"},
        **run_feed_keys("2024-05-03T08:00:00Z", "r3"),
    },
    {
        "pk": "PIPELINE#shop",
        "sk": "RUN#2024-05-02T10:00:00Z#r2",
        "run_id": "r2",
        "kind": "plan",
        "revision": "def5678",
        "actor": "ana",
        "started_at": "2024-05-02T10:00:00Z",
        "result": "ok",
        "stacks": {},
        **run_feed_keys("2024-05-02T10:00:00Z", "r2"),
    },
    {"pk": "RUN#r2", "sk": "META", "run_id": "r2", "kind": "plan", "pipelines": ["_control", "shop"]},
    {
        "pk": "RUN#r1",
        "sk": "META",
        "run_id": "r1",
        "kind": "apply",
        "trigger": "push",
        "revision": "abc1234",
        "actor": "ci",
        "started_at": "2024-05-01T10:00:00Z",
        "ended_at": "2024-05-01T10:09:00Z",
        "duration_s": 540,
        "result": "failed",
        "pipelines": ["shop", "shop-eu"],
        "stacks": {
            "pipectl-shop-prod-storage": "done",
            "pipectl-shop-prod-ingestion": "failed",
            "pipectl-shop-eu-prod-storage": "unchanged",
        },
        "plan_md_gz": Binary(gzip.compress(b"# Plan abc1234\n\n- shop: 2 stacks change\n", mtime=0)),
        "plan_truncated": False,
    },
    {
        "pk": "PIPELINE#shop",
        "sk": "ENV#prod",
        "env": "prod",
        "status": "failed",
        "revision": "abc1234",
        "run_id": "r1",
        "collector_url": "https://collect.example.com/collect",
        "dashboard_url": "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#dashboards/dashboard/pipectl-shop-prod",
        "drift": "DRIFTED",
        "drifted_stacks": ["pipectl-shop-prod-storage"],
        "drift_checked_at": "2024-05-01T11:00:00Z",
        "updated_at": "2024-05-01T10:09:00Z",
        "graph": {
            "pipectl-shop-prod-storage": [],
            "pipectl-shop-prod-ingestion": ["pipectl-shop-prod-storage"],
        },
        **env_feed_keys("shop", "prod"),
    },
    {
        "pk": "PIPELINE#shop",
        "sk": "ENV#test",
        "env": "test",
        "status": "succeeded",
        "revision": "def5678",
        "graph": {},
        **env_feed_keys("shop", "test"),
    },
    {
        "pk": "PIPELINE#shop-eu",
        "sk": "ENV#prod",
        "env": "prod",
        "status": "succeeded",
        "revision": "0ff1ce0",
        "graph": {"pipectl-shop-eu-prod-storage": []},
        **env_feed_keys("shop-eu", "prod"),
    },
    {
        "pk": "DELIVERY",
        "sk": "APPROVAL#e-1#Approve#Review",
        "delivery_pipeline": "pipectl",
        "execution_id": "e-1",
        "stage": "Approve",
        "action": "Review",
        "state": "STARTED",
        "started_at": "2024-05-02T10:05:00Z",
        "updated_at": "2024-05-02T10:05:00Z",
        "url": "https://eu-west-1.console.aws.amazon.com/codesuite/codepipeline/pipelines/pipectl/view?region=eu-west-1",
    },
    {
        "pk": "DELIVERY",
        "sk": "APPROVAL#e-0#Approve#Review",
        "delivery_pipeline": "pipectl",
        "execution_id": "e-0",
        "stage": "Approve",
        "action": "Review",
        "state": "SUCCEEDED",
        "started_at": "2024-05-01T10:05:00Z",
    },
    {"pk": "LOCK", "sk": "deploy", "owner": "ci", "run_id": "r2", "expires_at": 1714650000},
    {
        "pk": "PIPELINE#shop",
        "sk": "STACK#prod#pipectl-shop-prod-storage",
        "stack": "pipectl-shop-prod-storage",
        "kind": "storage",
        "env": "prod",
        "status": "UPDATE_COMPLETE",
        "reason": "",
        "outputs": {"KeyArn": "arn:aws:kms:eu-west-1:123456789012:key/k", "DataBucketName": "shop-data"},
        "revision": "abc1234",
        "updated_at": "2024-05-01T10:03:00Z",
    },
    {
        "pk": "PIPELINE#shop",
        "sk": "STACK#test#pipectl-shop-test-storage",
        "stack": "pipectl-shop-test-storage",
        "kind": "storage",
        "env": "test",
        "status": "CREATE_COMPLETE",
        "updated_at": "2024-05-01T10:02:00Z",
    },
    {
        "pk": "PIPELINE#shop-eu",
        "sk": "STACK#prod#pipectl-shop-eu-prod-storage",
        "stack": "pipectl-shop-eu-prod-storage",
        "kind": "storage",
        "env": "prod",
        "status": "CREATE_COMPLETE",
    },
]


def _data_source(state: Any, request: dict[str, Any]) -> Any:
    """AppSync's DynamoDB data source: a GetItem or one Query page, as `ctx.result`. The page token is
    opaque on AppSync; the stand-in encodes the page's last key as the local console does."""
    client, table_name = state
    plain = TypeDeserializer()
    if request["operation"] == "GetItem":
        item = client.get_item(TableName=table_name, Key=request["key"]).get("Item")
        return {k: plain.deserialize(v) for k, v in item.items()} if item else None
    assert request["operation"] == "Query"
    assert "limit" in request, "every resolver bounds its read"
    page = client.query(**query_arguments(table_name, request))
    items = [{k: plain.deserialize(v) for k, v in item.items()} for item in page["Items"]]
    return {"items": items, "nextToken": page_token(page.get("LastEvaluatedKey"))}


def run_function(resolvers: Resolvers, state: Any, name: str, ctx: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """One function or unit resolver: request, the data source, response; its value and the stash after it."""
    request = resolvers.run(name, "request", ctx)
    assert "error" not in request, request
    if request.get("early"):
        return request["value"], request["stash"]
    result = _data_source(state, request["value"])
    answer = resolvers.run(name, "response", {**ctx, "stash": request["stash"], "result": result})
    assert "error" not in answer, answer
    return answer["value"], answer["stash"]


def ask(resolvers: Resolvers, state: Any, field: str, args: dict[str, Any], groups: list[str] | None = None) -> Any:
    """What AppSync does for a query: the pipeline resolver's request, the access function, the field's own
    function and those following it, the pipeline resolver's response. `groups` go into the identity's groups claim."""
    claims = {resolvers.groups_claim: groups} if groups is not None else {}
    ctx: dict[str, Any] = {"args": args, "identity": {"sub": "someone", "claims": claims}, "stash": {}}
    before = resolvers.run(f"query-{field}", "request", ctx)
    assert before["value"] == {}, before
    _, stash = run_function(resolvers, state, ACCESS_FUNCTION, ctx)
    value, stash = run_function(resolvers, state, field, {**ctx, "stash": stash})
    for name in FOLLOWING.get(field, {}):
        value, stash = run_function(resolvers, state, name, {**ctx, "stash": stash, "prev": {"result": value}})
    after = resolvers.run(f"query-{field}", "response", {**ctx, "stash": stash, "prev": {"result": value}})
    return after["value"]


def ask_field(resolvers: Resolvers, state: Any, field: str, source: dict[str, Any]) -> Any:
    """A unit resolver below a query (Pipeline.environments), given its parent object as `ctx.source`."""
    value, _ = run_function(resolvers, state, field, {"args": {}, "source": source, "stash": {}})
    return value
