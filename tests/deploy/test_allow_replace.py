"""--allow-replace: STACK/LOGICAL_ID unlocks one stack only, and an id the plan does not change is an error."""

from __future__ import annotations

import pytest

from generator.deploy.apply import ApplyOptions, apply_now, apply_plan
from generator.deploy.aws import Aws
from generator.deploy.changes import allowed_in
from generator.deploy.errors import PlanError, RefusedError
from generator.deploy.plan import make_plan
from tests.deploy.conftest import Build

STORAGE = "pipectl-shop-test-storage"


@pytest.fixture
def bucket_removed(aws: Aws, build: Build) -> Build:
    build.pipeline("shop", kinds=("storage",))
    assert apply_now(aws, build.write(), "one")[1].ok
    template = build.stacks[STORAGE]["template"]
    del template["Resources"]["DataBucket"]
    del template["Outputs"]["DataBucketName"]
    return build


def test_allowed_in_reads_both_forms() -> None:
    allowed = frozenset({"Queue", f"{STORAGE}/DataBucket", "pipectl-mobile-test-storage/Key"})
    assert allowed_in(allowed, STORAGE) == {"Queue", "DataBucket"}
    assert allowed_in(allowed, "pipectl-shop-prod-storage") == {"Queue"}


def test_an_id_that_matches_nothing_is_refused_naming_the_choices(aws: Aws, bucket_removed: Build) -> None:
    manifest = bucket_removed.write()
    plan = make_plan(aws, manifest, "two")
    for typo in ("DataBuckett", "pipectl-shop-prod-storage/DataBucket"):
        with pytest.raises(PlanError, match=rf"--allow-replace {typo}: matches no resource .* {STORAGE}/DataBucket"):
            apply_plan(aws, manifest, plan, options=ApplyOptions(allow_replace=frozenset({typo})))
    with pytest.raises(RefusedError):  # nothing named: the usual refusal
        apply_plan(aws, manifest, plan)
    resources = aws.cfn().describe_stack_resources(StackName=STORAGE)["StackResources"]
    assert "DataBucket" in {r["LogicalResourceId"] for r in resources}


def test_stack_slash_id_unlocks_that_stack(aws: Aws, bucket_removed: Build) -> None:
    manifest = bucket_removed.write()
    plan = make_plan(aws, manifest, "two")
    result = apply_plan(aws, manifest, plan, options=ApplyOptions(allow_replace=frozenset({f"{STORAGE}/DataBucket"})))
    assert result.ok, {n: r.detail for n, r in result.stacks.items()}
    resources = aws.cfn().describe_stack_resources(StackName=STORAGE)["StackResources"]
    assert "DataBucket" not in {r["LogicalResourceId"] for r in resources}
