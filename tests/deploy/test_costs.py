"""plan.md says when a change moves a Cognito user pool to the paid Plus plan, and only then."""

from __future__ import annotations

from typing import Any

from generator.deploy.apply import apply_now
from generator.deploy.aws import Aws
from generator.deploy.plan import make_plan
from generator.deploy.report import render_plan
from tests.deploy.conftest import Build

STACK = "pipectl-console"


def pool_template(tier: str | None, mode: str = "OFF", mfa: str = "OFF") -> dict[str, Any]:
    props: dict[str, Any] = {"UserPoolName": "pipectl-console", "MfaConfiguration": mfa}
    if tier is not None:
        props |= {"UserPoolTier": tier, "UserPoolAddOns": {"AdvancedSecurityMode": mode}}
    return {"Resources": {"ConsoleUserPool": {"Type": "AWS::Cognito::UserPool", "Properties": props}}}


def test_a_new_pool_on_the_plus_plan_is_a_new_cost(aws: Aws, build: Build) -> None:
    build.add(STACK, "console", pool_template("PLUS", "ENFORCED"))
    manifest = build.write()
    plan = make_plan(aws, manifest, "r1")
    [stack] = plan.stacks
    assert stack.costs == [
        "ConsoleUserPool: Cognito user pool moves to the Plus plan (threat protection ENFORCED), "
        "billed per monthly active user"
    ]
    text = render_plan(plan, manifest)
    assert "## New costs" in text and f"- {STACK}: ConsoleUserPool: Cognito user pool moves to the Plus plan" in text


def test_a_new_pool_on_the_essentials_plan_or_no_plan_costs_nothing_new(aws: Aws, build: Build) -> None:
    for tier in ("ESSENTIALS", None):
        build.add(STACK, "console", pool_template(tier))
        manifest = build.write()
        plan = make_plan(aws, manifest, "r1", record=False)
        assert plan.stacks[0].costs == []
        assert "## New costs" not in render_plan(plan, manifest)


def test_moving_a_deployed_pool_to_plus_is_noted_and_staying_on_plus_is_not(aws: Aws, build: Build) -> None:
    build.add(STACK, "console", pool_template("ESSENTIALS"))
    _, result = apply_now(aws, build.write(), "r1")
    assert result.ok, result.stacks
    build.add(STACK, "console", pool_template("PLUS", "AUDIT"))
    manifest = build.write()
    [stack] = make_plan(aws, manifest, "r2").stacks
    assert [line.split(" (")[0] for line in stack.costs] == [
        "ConsoleUserPool: Cognito user pool moves to the Plus plan"
    ]
    _, result = apply_now(aws, manifest, "r2")
    assert result.ok, result.stacks
    build.add(STACK, "console", pool_template("PLUS", "ENFORCED"))  # still Plus: no new bill
    [stack] = make_plan(aws, build.write(), "r3").stacks
    assert stack.action == "update" and stack.costs == []
