"""The queries of the console API in Python, one function per `templates/appsync/resolvers/<field>.js.j2`.

Each builds the request document its JS twin builds, has it sent (`dynamo.send`), and shapes the result
as the twin's `response(ctx)` does; the parity test runs both on the same table and compares.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.types import TypeSerializer

from generator.contract import (
    BY_SORT_KEY_INDEX,
    CONSOLE_LIMITS,
    KEY_SEPARATOR,
    META_SK,
    PIPELINE_PK_PREFIX,
    RUN_PREFIX,
    STACK_SK_PREFIX,
)
from generator.deploy.local.console import shapes
from generator.deploy.local.console.dynamo import send

_serialize = TypeSerializer().serialize


def _values(values: dict[str, Any]) -> dict[str, Any]:
    """`util.dynamodb.toMapValues`."""
    return {k: _serialize(v) for k, v in values.items()}


@dataclass(frozen=True)
class Queries:
    """The root value of a request: graphql-core calls `pipelines(info)`, `runs(info, pipeline=...)` and so on."""

    ddb: Any
    table_name: str

    def _send(self, request: dict[str, Any]) -> Any:
        return send(self.ddb, self.table_name, request)

    def pipelines(self, _info: Any) -> list[dict[str, Any]]:
        result = self._send(
            {
                "operation": "Query",
                "index": BY_SORT_KEY_INDEX,
                "query": {
                    "expression": "sk = :meta AND begins_with(pk, :prefix)",
                    "expressionValues": _values({":meta": META_SK, ":prefix": PIPELINE_PK_PREFIX}),
                },
                "limit": CONSOLE_LIMITS["pipelines"],
            }
        )
        return [shapes.to_pipeline(item) for item in result["items"]]

    def pipeline(self, _info: Any, name: str) -> dict[str, Any] | None:
        item = self._send({"operation": "GetItem", "key": _values({"pk": PIPELINE_PK_PREFIX + name, "sk": META_SK})})
        return shapes.to_pipeline(item) if item else None

    def runs(self, _info: Any, pipeline: str, limit: int | None = None) -> list[dict[str, Any]]:
        asked = limit if limit else CONSOLE_LIMITS["runs_default"]
        result = self._send(
            {
                "operation": "Query",
                "query": {
                    "expression": "pk = :pk AND begins_with(sk, :prefix)",
                    "expressionValues": _values({":pk": PIPELINE_PK_PREFIX + pipeline, ":prefix": RUN_PREFIX}),
                },
                "scanIndexForward": False,
                "limit": min(max(asked, 1), CONSOLE_LIMITS["runs_max"]),
            }
        )
        return [shapes.to_run(item) for item in result["items"]]

    def stacks(self, _info: Any, pipeline: str, env: str | None = None) -> list[dict[str, Any]]:
        prefix = STACK_SK_PREFIX + env + KEY_SEPARATOR if env else STACK_SK_PREFIX
        result = self._send(
            {
                "operation": "Query",
                "query": {
                    "expression": "pk = :pk AND begins_with(sk, :prefix)",
                    "expressionValues": _values({":pk": PIPELINE_PK_PREFIX + pipeline, ":prefix": prefix}),
                },
                "limit": CONSOLE_LIMITS["stacks"],
            }
        )
        return [shapes.to_stack(item) for item in result["items"]]
