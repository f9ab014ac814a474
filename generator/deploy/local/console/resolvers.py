"""The console API's resolvers in Python, one method per `templates/appsync/resolvers/<name>.js.j2`.

Each builds the request document its JS twin builds, has it sent (`dynamo.send`), and shapes the result
as the twin's `response(ctx)` does; the parity test runs both on the same table and compares. Every
query first asks what the caller may see, as the access function does at the head of each AppSync
pipeline resolver; `Pipeline.environments` is resolved below its pipeline, as its unit resolver is.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from boto3.dynamodb.types import TypeSerializer

from generator.contract import (
    ACCESS_SK,
    APPROVAL_SK_PREFIX,
    APPROVAL_WAITING,
    BY_SORT_KEY_INDEX,
    CONSOLE_LIMITS,
    CONSOLE_PK,
    CONTROL_PIPELINE,
    DELIVERY_PK,
    ENV_SK_PREFIX,
    KEY_SEPARATOR,
    META_SK,
    PIPELINE_PK_PREFIX,
    RUN_PREFIX,
    STACK_SK_PREFIX,
)
from generator.deploy.local.console import shapes
from generator.deploy.local.console.dynamo import send
from generator.deploy.local.console.shapes import Visible, may_read

_serialize = TypeSerializer().serialize


def _values(values: dict[str, Any]) -> dict[str, Any]:
    """`util.dynamodb.toMapValues`."""
    return {k: _serialize(v) for k, v in values.items()}


def _begins_with(pk: str, prefix: str) -> dict[str, Any]:
    return {
        "expression": "pk = :pk AND begins_with(sk, :prefix)",
        "expressionValues": _values({":pk": pk, ":prefix": prefix}),
    }


class Queries:
    """The root value of one request: graphql-core calls `pipelines(info)`, `runs(info, pipeline=...)` and so on."""

    def __init__(self, ddb: Any, table_name: str, groups: tuple[str, ...]) -> None:
        self.ddb = ddb
        self.table_name = table_name
        self.groups = groups

    def _send(self, request: dict[str, Any]) -> Any:
        return send(self.ddb, self.table_name, request)

    def _visible(self) -> Visible:
        """The access function: read the group mapping, answer which pipelines the caller may see."""
        access = self._send({"operation": "GetItem", "key": _values({"pk": CONSOLE_PK, "sk": ACCESS_SK})})
        return shapes.visible_to(access, self.groups)

    def pipelines(self, _info: Any) -> list[dict[str, Any]]:
        visible = self._visible()
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
        items = [item for item in result["items"] if may_read(visible, shapes.pipeline_name(item))]
        return [self._pipeline(item) for item in items]

    def pipeline(self, _info: Any, name: str) -> dict[str, Any] | None:
        visible = self._visible()
        item = self._send({"operation": "GetItem", "key": _values({"pk": PIPELINE_PK_PREFIX + name, "sk": META_SK})})
        return self._pipeline(item) if item and may_read(visible, name) else None

    def _pipeline(self, item: dict[str, Any]) -> dict[str, Any]:
        """A pipeline whose `environments` graphql-core resolves only when the document asks for them."""
        shaped = shapes.to_pipeline(item)
        shaped["environments"] = partial(self._environments, shaped["name"])
        return shaped

    def _environments(self, pipeline: str, _info: Any) -> list[dict[str, Any]]:
        result = self._send(
            {
                "operation": "Query",
                "query": _begins_with(PIPELINE_PK_PREFIX + pipeline, ENV_SK_PREFIX),
                "limit": CONSOLE_LIMITS["environments"],
            }
        )
        return [shapes.to_environment(item) for item in result["items"]]

    def runs(self, _info: Any, pipeline: str, limit: int | None = None) -> list[dict[str, Any]]:
        visible = self._visible()
        asked = limit if limit else CONSOLE_LIMITS["runs_default"]
        result = self._send(
            {
                "operation": "Query",
                "query": _begins_with(PIPELINE_PK_PREFIX + pipeline, RUN_PREFIX),
                "scanIndexForward": False,
                "limit": min(max(asked, 1), CONSOLE_LIMITS["runs_max"]),
            }
        )
        return [shapes.to_run(item, pipeline) for item in result["items"]] if may_read(visible, pipeline) else []

    def run(self, _info: Any, runId: str) -> dict[str, Any] | None:
        visible = self._visible()
        item = self._send({"operation": "GetItem", "key": _values({"pk": RUN_PREFIX + runId, "sk": META_SK})})
        pipelines = (item or {}).get("pipelines") or []
        if not item or not all(p == CONTROL_PIPELINE or may_read(visible, p) for p in pipelines):
            return None
        return shapes.to_run(item, None)

    def stacks(self, _info: Any, pipeline: str, env: str | None = None) -> list[dict[str, Any]]:
        visible = self._visible()
        prefix = STACK_SK_PREFIX + env + KEY_SEPARATOR if env else STACK_SK_PREFIX
        result = self._send(
            {
                "operation": "Query",
                "query": _begins_with(PIPELINE_PK_PREFIX + pipeline, prefix),
                "limit": CONSOLE_LIMITS["stacks"],
            }
        )
        return [shapes.to_stack(item) for item in result["items"]] if may_read(visible, pipeline) else []

    def approvals(self, _info: Any) -> list[dict[str, Any]]:
        visible = self._visible()
        result = self._send(
            {
                "operation": "Query",
                "query": _begins_with(DELIVERY_PK, APPROVAL_SK_PREFIX),
                "limit": CONSOLE_LIMITS["approvals"],
            }
        )
        if visible is not None:
            return []
        return [shapes.to_approval(item) for item in result["items"] if item.get("state") == APPROVAL_WAITING]
