"""Records CloudFormation stack-status and CodePipeline execution events in the state table.

Code of the console's RecorderFunction, deployed as index.py in a content-addressed asset: stdlib and boto3.
Item layout: generator/stacks/console/__init__.py. The names imported from `generator.contract` are
rendered into the deployed code as literals when the asset is built, so the recorder files stacks under
the same keys as the controller, and a change to the contract changes the asset.
"""

from __future__ import annotations

import logging
import os
import re
import time
from functools import cache
from typing import Any

import boto3
from botocore.exceptions import ClientError

from generator.contract import (
    APPROVAL_SK_PREFIX,
    CONTROL_ENV,
    CONTROL_PIPELINE,
    CONTROL_STACKS,
    DELIVERY_PK,
    EXECUTION_SK_PREFIX,
    EXECUTION_START_SK_PREFIX,
    KEY_SEPARATOR,
    PIPELINE_KINDS,
    PIPELINE_PK_PREFIX,
    STACK_PREFIX,
    STACK_SK_PREFIX,
)

STACK = re.compile(rf"^{re.escape(STACK_PREFIX)}([a-z][a-z0-9-]*)-([a-z][a-z0-9]{{0,9}})-([a-z]+)$")
POINTER_DAYS = 90
log = logging.getLogger()
log.setLevel(logging.INFO)


@cache
def table() -> Any:
    return boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])


def handler(event: dict[str, Any], context: object = None) -> dict[str, str] | None:
    kind = event.get("detail-type")
    if kind == "CloudFormation Stack Status Change":
        return stack_status(event)
    if kind == "CodePipeline Pipeline Execution State Change":
        return execution(event)
    if kind == "CodePipeline Action Execution State Change":
        return approval(event)
    log.warning("ignored event of type %s", kind)
    return None


def parse_stack(name: str) -> tuple[str, str, str] | None:
    """(pipeline, env, kind) of a pipectl stack; None for other stacks."""
    if name in CONTROL_STACKS:
        return CONTROL_PIPELINE, CONTROL_ENV, CONTROL_STACKS[name]
    match = STACK.match(name)
    if match is None or match[3] not in PIPELINE_KINDS:
        return None
    return match[1], match[2], match[3]


def stack_status(event: dict[str, Any]) -> dict[str, str] | None:
    detail = event["detail"]
    stack_id = detail["stack-id"]
    name = stack_id.split(":")[-1].split("/")[1]
    parsed = parse_stack(name)
    if parsed is None:
        return None
    pipeline, env, kind = parsed
    status = detail.get("status-details", {})
    key = {"pk": f"{PIPELINE_PK_PREFIX}{pipeline}", "sk": f"{STACK_SK_PREFIX}{env}{KEY_SEPARATOR}{name}"}
    values = {
        "stack": name,
        "stack_id": stack_id,
        "kind": kind,
        "env": env,
        "status": status.get("status", "UNKNOWN"),
        "reason": status.get("status-reason") or "",
        "updated_at": event["time"],
    }
    return write(key, values)


def execution(event: dict[str, Any]) -> dict[str, str] | None:
    """One item per execution, keyed by its start: the first event seen fixes it."""
    detail = event["detail"]
    run = detail["execution-id"]
    pointer = table().update_item(
        Key={"pk": DELIVERY_PK, "sk": f"{EXECUTION_START_SK_PREFIX}{run}"},
        UpdateExpression="SET started_at = if_not_exists(started_at, :t), expires_at = :e",
        ExpressionAttributeValues={":t": event["time"], ":e": int(time.time()) + POINTER_DAYS * 86400},
        ReturnValues="ALL_NEW",
    )
    started = pointer["Attributes"]["started_at"]
    trigger = detail.get("execution-trigger") or {}
    values = {
        "execution_id": run,
        "pipeline": detail["pipeline"],
        "state": detail["state"],
        "started_at": started,
        "trigger": trigger.get("trigger-type", ""),
        "updated_at": event["time"],
    }
    return write({"pk": DELIVERY_PK, "sk": f"{EXECUTION_SK_PREFIX}{started}{KEY_SEPARATOR}{run}"}, values)


def approval(event: dict[str, Any]) -> dict[str, str] | None:
    """A manual approval action of the delivery pipeline: one item per execution and action, whose state
    the console shows while it is STARTED (waiting), with a link to it in the CodePipeline console."""
    detail = event["detail"]
    action_type = detail.get("type") or {}
    if action_type.get("category") != "Approval" or action_type.get("provider") != "Manual":
        return None
    pipeline, run, region = detail["pipeline"], detail["execution-id"], event["region"]
    values = {
        "delivery_pipeline": pipeline,
        "execution_id": run,
        "stage": detail["stage"],
        "action": detail["action"],
        "state": detail["state"],
        "updated_at": event["time"],
        "url": (
            f"https://{region}.console.aws.amazon.com/codesuite/codepipeline/pipelines/{pipeline}"
            f"/executions/{run}/timeline?region={region}"
        ),
        "expires_at": int(time.time()) + POINTER_DAYS * 86400,
    }
    if detail["state"] == "STARTED":
        values["started_at"] = event["time"]
    sk = f"{APPROVAL_SK_PREFIX}{run}{KEY_SEPARATOR}{detail['stage']}{KEY_SEPARATOR}{detail['action']}"
    return write({"pk": DELIVERY_PK, "sk": sk}, values)


def write(key: dict[str, str], values: dict[str, Any]) -> dict[str, str] | None:
    """Set the attributes unless the item holds a newer event (events arrive out of order)."""
    names = {f"#{n}": n for n in values}
    try:
        table().update_item(
            Key=key,
            UpdateExpression="SET " + ", ".join(f"#{n} = :{n}" for n in values),
            ConditionExpression="attribute_not_exists(#updated_at) OR #updated_at <= :updated_at",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={f":{n}": v for n, v in values.items()},
        )
    except ClientError as error:
        if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        log.info("kept newer item %s", key)
        return None
    log.info("recorded %s %s", key, values)
    return key
