"""Item -> GraphQL shapes and who may see what, as `templates/appsync/resolvers/_shapes.js.j2` has them
(the parity test holds the two together)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from generator.contract import PIPELINE_PK_PREFIX, RUN_CHANGED_RESULTS, RUN_FAILED_RESULTS

Visible = tuple[str, ...] | None
"""The pipelines a caller may see; None for all of them."""


def visible_to(access: dict[str, Any] | None, groups: Sequence[str]) -> Visible:
    """The access function's answer: everything for an admin or without a mapping, else the groups' pipelines."""
    mapping = (access or {}).get("groups") or {}
    if not mapping or (access or {}).get("admins_group") in groups:
        return None
    return tuple(sorted({pipeline for group in groups for pipeline in mapping.get(group, [])}))


def may_read(visible: Visible, pipeline: str) -> bool:
    return visible is None or pipeline in visible


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


def to_environment(item: dict[str, Any]) -> dict[str, Any]:
    graph = item.get("graph") or {}
    return {
        "pipeline": pipeline_name(item),
        "env": item.get("env"),
        "status": item.get("status"),
        "revision": item.get("revision"),
        "runId": item.get("run_id"),
        "collectorUrl": item.get("collector_url"),
        "dashboardUrl": item.get("dashboard_url"),
        "drift": item.get("drift"),
        "driftedStacks": item.get("drifted_stacks") or [],
        "driftCheckedAt": item.get("drift_checked_at"),
        "updatedAt": item.get("updated_at"),
        "graph": [{"stack": stack, "dependsOn": graph[stack]} for stack in sorted(graph)],
    }


def to_stack(item: dict[str, Any]) -> dict[str, Any]:
    outputs = item.get("outputs") or {}
    return {
        "pipeline": pipeline_name(item),
        "stack": item.get("stack"),
        "kind": item.get("kind"),
        "env": item.get("env"),
        "status": item.get("status"),
        "reason": item.get("reason"),
        "revision": item.get("revision"),
        "updatedAt": item.get("updated_at"),
        "outputs": [{"key": key, "value": outputs[key]} for key in sorted(outputs)],
    }


def to_run(item: dict[str, Any], pipeline: str | None) -> dict[str, Any]:
    stacks = item.get("stacks") or {}
    names = sorted(stacks)
    return {
        "runId": item.get("run_id"),
        "pipeline": pipeline,
        "pipelines": item.get("pipelines") or ([pipeline] if pipeline else []),
        "kind": item.get("kind"),
        "trigger": item.get("trigger"),
        "revision": item.get("revision"),
        "actor": item.get("actor"),
        "startedAt": item.get("started_at"),
        "endedAt": item.get("ended_at"),
        "durationSeconds": item.get("duration_s"),
        "result": item.get("result"),
        "stacks": [{"stack": stack, "result": stacks[stack]} for stack in names],
        "changed": [stack for stack in names if stacks[stack] in RUN_CHANGED_RESULTS],
        "failed": [stack for stack in names if stacks[stack] in RUN_FAILED_RESULTS],
        "planMarkdownGzip": item.get("plan_md_gz"),
        "planTruncated": item.get("plan_truncated"),
    }


def to_approval(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "deliveryPipeline": item.get("delivery_pipeline"),
        "executionId": item.get("execution_id"),
        "stage": item.get("stage"),
        "action": item.get("action"),
        "state": item.get("state"),
        "startedAt": item.get("started_at"),
        "updatedAt": item.get("updated_at"),
        "url": item.get("url"),
    }
