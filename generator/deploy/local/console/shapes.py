"""Item -> GraphQL shapes, as `templates/appsync/resolvers/_shapes.js.j2` makes them (the parity test holds
the two together)."""

from __future__ import annotations

from typing import Any

from generator.contract import PIPELINE_PK_PREFIX


def pipeline_name(item: dict[str, Any]) -> str:
    return str(item["pk"])[len(PIPELINE_PK_PREFIX) :]


def to_pipeline(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": item.get("name") or pipeline_name(item),
        "owner": item.get("owner"),
        "region": item.get("region"),
        "envs": item.get("envs") or [],
        "updatedAt": item.get("updated_at"),
    }


def to_stack(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "pipeline": pipeline_name(item),
        "stack": item.get("stack"),
        "kind": item.get("kind"),
        "env": item.get("env"),
        "status": item.get("status"),
        "reason": item.get("reason"),
        "revision": item.get("revision"),
        "updatedAt": item.get("updated_at"),
    }


def to_run(item: dict[str, Any]) -> dict[str, Any]:
    stacks = item.get("stacks") or {}
    return {
        "runId": item.get("run_id"),
        "pipeline": pipeline_name(item),
        "kind": item.get("kind"),
        "revision": item.get("revision"),
        "actor": item.get("actor"),
        "startedAt": item.get("started_at"),
        "endedAt": item.get("ended_at"),
        "result": item.get("result"),
        "stacks": [{"stack": stack, "result": stacks[stack]} for stack in sorted(stacks)],
    }
