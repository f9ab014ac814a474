"""`--env`: the nightly run plans and applies one environment and leaves the others alone."""

from __future__ import annotations

from generator.deploy.apply import apply_now, apply_plan
from generator.deploy.aws import Aws
from generator.deploy.plan import Plan, make_plan
from tests.deploy.conftest import Build


def both_envs(build: Build) -> Build:
    build.console()
    build.pipeline("shop", env="test", kinds=("storage",))
    build.pipeline("shop", env="prod", kinds=("storage",))
    return build


def changed(build: Build) -> Build:
    for env in ("test", "prod"):
        build.stacks[f"pipectl-shop-{env}-storage"]["template"]["Resources"]["Extra"] = {"Type": "AWS::SQS::Queue"}
    return build


def test_a_plan_of_one_environment_covers_it_and_the_console_only(aws: Aws, build: Build) -> None:
    manifest = both_envs(build).write()
    plan = make_plan(aws, manifest, "one", env="test")
    assert {s.name for s in plan.stacks} == {"pipectl-console", "pipectl-shop-test-storage"}
    assert Plan.from_json(plan.to_json()).env == "test"


def test_applying_it_leaves_other_environments_untouched_and_not_orphaned(aws: Aws, build: Build) -> None:
    assert apply_now(aws, both_envs(build).write(), "one")[1].ok
    manifest = changed(build).write()
    plan = make_plan(aws, manifest, "two", env="test")
    assert {s.name: s.action for s in plan.stacks} == {"pipectl-console": "none", "pipectl-shop-test-storage": "update"}
    result = apply_plan(aws, manifest, plan)
    assert result.ok and set(result.stacks) == {"pipectl-console", "pipectl-shop-test-storage"}
    later = make_plan(aws, manifest, "three")
    assert {s.name: s.action for s in later.stacks if s.action != "none"} == {"pipectl-shop-prod-storage": "update"}
