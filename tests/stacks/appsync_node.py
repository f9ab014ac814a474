"""The APPSYNC_JS resolvers run with node, as AppSync runs them: request, the DynamoDB call, response.

Shared by the console stack's resolver tests and the parity test of the local console's Python path.
`@aws-appsync/utils` is stood in for by the few `util` functions the resolvers use.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from generator.stacks.console import QUERIES, resolver_code

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
export const util = {
  error(message, type) { const e = new Error(message); e.type = type; throw e; },
  dynamodb: { toMapValues(o) { return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, toAttr(v)])); } },
};
"""
HARNESS = """
import { pathToFileURL } from 'node:url';
import { readFileSync } from 'node:fs';
const [, , file, phase] = process.argv;
const ctx = JSON.parse(readFileSync(0, 'utf8'));
const resolver = await import(pathToFileURL(file).href);
try {
  console.log(JSON.stringify({ value: resolver[phase](ctx) ?? null }));
} catch (e) {
  console.log(JSON.stringify({ error: e.message, type: e.type ?? null }));
}
"""


class Resolvers:
    """The rendered resolvers in a directory node can import them from, with a stand-in for AppSync's util."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        utils = directory / "node_modules" / "@aws-appsync" / "utils"
        utils.mkdir(parents=True)
        (utils / "package.json").write_text(
            json.dumps({"name": "@aws-appsync/utils", "type": "module", "exports": "./index.js"})
        )
        (utils / "index.js").write_text(UTILS)
        (directory / "harness.mjs").write_text(HARNESS)
        for field in QUERIES:
            (directory / f"{field}.mjs").write_text(resolver_code(field))

    def run(self, field: str, phase: str, ctx: dict[str, Any]) -> dict[str, Any]:
        assert NODE is not None
        done = subprocess.run(
            [NODE, "harness.mjs", f"{field}.mjs", phase],
            input=json.dumps(ctx, default=_plain),
            capture_output=True,
            text=True,
            cwd=self.directory,
            timeout=30,
            check=True,
        )
        return dict(json.loads(done.stdout))


def _plain(value: Any) -> Any:
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
    },
    {
        "pk": "PIPELINE#shop-eu",
        "sk": "META",
        "name": "shop-eu",
        "owner": "eu@example.com",
        "region": "eu-west-1",
        "envs": ["prod"],
        "updated_at": "2024-05-01T09:00:00Z",
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
    },
    {"pk": "RUN#r2", "sk": "META", "run_id": "r2", "kind": "plan", "pipelines": ["shop"]},
    {"pk": "LOCK", "sk": "deploy", "owner": "ci", "run_id": "r2", "expires_at": 1714650000},
    {
        "pk": "PIPELINE#shop",
        "sk": "STACK#prod#pipectl-shop-prod-storage",
        "stack": "pipectl-shop-prod-storage",
        "kind": "storage",
        "env": "prod",
        "status": "UPDATE_COMPLETE",
        "reason": "",
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


def ask(resolvers: Resolvers, state: Any, field: str, args: dict[str, Any]) -> Any:
    """What AppSync would do: run request, send it to DynamoDB, hand the result to response."""
    client, table_name = state
    request = resolvers.run(field, "request", {"args": args})["value"]
    plain = TypeDeserializer()
    if request["operation"] == "GetItem":
        item = client.get_item(TableName=table_name, Key=request["key"]).get("Item")
        result: Any = {k: plain.deserialize(v) for k, v in item.items()} if item else None
    else:
        assert request["operation"] == "Query"
        query: dict[str, Any] = {
            "TableName": table_name,
            "KeyConditionExpression": request["query"]["expression"],
            "ExpressionAttributeValues": request["query"]["expressionValues"],
            "ScanIndexForward": request.get("scanIndexForward", True),
            "Limit": request["limit"],
        }
        if "index" in request:
            query["IndexName"] = request["index"]
        items = client.query(**query)["Items"]
        result = {"items": [{k: plain.deserialize(v) for k, v in item.items()} for item in items]}
    answer = resolvers.run(field, "response", {"args": args, "result": result})
    assert "error" not in answer, answer
    return answer["value"]
