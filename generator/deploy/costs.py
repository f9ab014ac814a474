"""Changes that start a bill nobody may have asked for, said in plan.md before anyone approves them.

A Cognito user pool on the Plus plan (which threat protection needs) is billed per monthly active
user; on the Essentials plan it is not. Plan compares the pool's plan in the template it deploys with
the deployed template's, and notes every pool that an added or modified resource moves to Plus.
"""

from __future__ import annotations

import json
from typing import Any

from generator.deploy.aws import Aws
from generator.deploy.changes import ResourceChange
from generator.deploy.deployed import DeployedStack
from generator.deploy.manifest import StackSpec

USER_POOL = "AWS::Cognito::UserPool"
PAID_TIER = "PLUS"
DEFAULT_TIER = "ESSENTIALS"
"""What Cognito gives a pool whose template names no plan."""


def paid_plan_moves(
    aws: Aws, spec: StackSpec, live: DeployedStack | None, body: str, changes: list[ResourceChange]
) -> list[str]:
    """One line per user pool this change moves to the paid Plus plan; empty when none does."""
    touched = {c.resource for c in changes if c.action in ("Add", "Modify")}
    paid = {
        logical_id: resource
        for logical_id, resource in _resources(json.loads(body)).items()
        if logical_id in touched and resource.get("Type") == USER_POOL and _tier(resource) == PAID_TIER
    }
    if not paid:
        return []
    old: dict[str, Any] = {}
    if live is not None:
        raw = aws.cfn(spec.region).get_template(StackName=live.stack_id, TemplateStage="Original")["TemplateBody"]
        old = _resources(raw if isinstance(raw, dict) else json.loads(raw))
    return [
        f"{logical_id}: Cognito user pool moves to the Plus plan (threat protection "
        f"{_mode(resource)}), billed per monthly active user"
        for logical_id, resource in sorted(paid.items())
        if logical_id not in old or _tier(old[logical_id]) != PAID_TIER
    ]


def _resources(template: Any) -> dict[str, Any]:
    resources = template.get("Resources") if isinstance(template, dict) else None
    return resources if isinstance(resources, dict) else {}


def _tier(resource: Any) -> str:
    return str(((resource or {}).get("Properties") or {}).get("UserPoolTier") or DEFAULT_TIER)


def _mode(resource: Any) -> str:
    add_ons = ((resource or {}).get("Properties") or {}).get("UserPoolAddOns") or {}
    return str(add_ons.get("AdvancedSecurityMode") or "OFF")
