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
    ENV_FEED,
    ENV_SK_PREFIX,
    FEED_INDEX,
    KEY_SEPARATOR,
    META_SK,
    PIPELINE_FEED,
    PIPELINE_PK_PREFIX,
    RUN_FEED,
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


def _page_size(asked: int | None, fallback: int, most: int) -> int:
    return min(max(asked if asked else fallback, 1), most)


def _visible_after(visible: tuple[str, ...], after: str | None) -> list[str]:
    return [name for name in visible if after is None or name > after]


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

    def pipelinesPage(self, _info: Any, limit: int | None = None, nextToken: str | None = None) -> dict[str, Any]:
        """pipelinesPage.js.j2, then pageEnvironments.js.j2: the page, then its environments in one request."""
        visible = self._visible()
        size = _page_size(limit, CONSOLE_LIMITS["pipelines_page_default"], CONSOLE_LIMITS["pipelines_page_max"])
        after = nextToken or None
        values: dict[str, Any] = {":feed": PIPELINE_FEED}
        expression, most = "feed = :feed", size + 1
        if visible is not None:
            names = _visible_after(visible, after)[:size]
            if not names:
                return {"items": [], "nextToken": None}
            expression = "feed = :feed AND feed_sk BETWEEN :low AND :high"
            values.update({":low": names[0], ":high": names[-1]})
            most = CONSOLE_LIMITS["pipelines"]
        elif after:
            expression = "feed = :feed AND feed_sk > :after"
            values[":after"] = after
        result = self._send(
            {
                "operation": "Query",
                "index": FEED_INDEX,
                "query": {"expression": expression, "expressionValues": _values(values)},
                "limit": most,
            }
        )
        found = [shapes.to_pipeline(item) for item in result["items"] if may_read(visible, shapes.pipeline_name(item))]
        items = found[:size]
        last = items[-1]["name"] if items else None
        more = len(found) > size if visible is None else last is not None and bool(_visible_after(visible, last))
        return self._page_environments({"items": items, "nextToken": last if more else None})

    def _page_environments(self, page: dict[str, Any]) -> dict[str, Any]:
        if not page["items"]:
            return page
        first, last = page["items"][0]["name"], page["items"][-1]["name"]
        result = self._send(
            {
                "operation": "Query",
                "index": FEED_INDEX,
                "query": {
                    "expression": "feed = :feed AND feed_sk BETWEEN :low AND :high",
                    "expressionValues": _values(
                        {":feed": ENV_FEED, ":low": first + KEY_SEPARATOR, ":high": last + "$"}
                    ),
                },
                "limit": CONSOLE_LIMITS["page_environments"],
            }
        )
        by_pipeline: dict[str, list[dict[str, Any]]] = {}
        for item in result["items"]:
            env = shapes.to_environment(item)
            by_pipeline.setdefault(env["pipeline"], []).append(env)
        items, token = page["items"], page["nextToken"]
        if result["nextToken"]:
            cut = shapes.to_environment(result["items"][-1])["pipeline"]
            items = [p for p in items if p["name"] < cut] or items[:1]
            token = items[-1]["name"]
        return {"items": [{**p, "environments": by_pipeline.get(p["name"], [])} for p in items], "nextToken": token}

    def recentRuns(
        self, _info: Any, pipeline: str | None = None, limit: int | None = None, nextToken: str | None = None
    ) -> dict[str, Any]:
        """recentRuns.js.j2: one pipeline's partition, or the run feed filtered to what the caller may see."""
        visible = self._visible()
        size = _page_size(limit, CONSOLE_LIMITS["runs_default"], CONSOLE_LIMITS["runs_max"])
        token = {"nextToken": nextToken} if nextToken else {}
        request: dict[str, Any]
        if pipeline:
            if not may_read(visible, pipeline):
                return {"items": [], "nextToken": None}
            request = {
                "operation": "Query",
                "query": _begins_with(PIPELINE_PK_PREFIX + pipeline, RUN_PREFIX),
                "scanIndexForward": False,
                "limit": size,
            }
        else:
            request = {
                "operation": "Query",
                "index": FEED_INDEX,
                "query": {"expression": "feed = :feed", "expressionValues": _values({":feed": RUN_FEED})},
                "scanIndexForward": False,
                "limit": size,
            }
            if visible is not None:
                if not visible:
                    return {"items": [], "nextToken": None}
                if len(visible) <= CONSOLE_LIMITS["filter_pipelines_max"]:
                    values = {f":p{i}": PIPELINE_PK_PREFIX + name for i, name in enumerate(visible)}
                    request["filter"] = {
                        "expression": f"pk IN ({', '.join(values)})",
                        "expressionValues": _values(values),
                    }
        result = self._send({**request, **token})
        items = [
            shapes.to_run(item, shapes.pipeline_name(item))
            for item in result["items"]
            if may_read(visible, shapes.pipeline_name(item))
        ]
        return {"items": items, "nextToken": result["nextToken"]}

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
