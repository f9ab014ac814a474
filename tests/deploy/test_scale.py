"""A no-op plan of 50 pipelines: at most one CloudFormation read per 10 stacks, no change set."""

from __future__ import annotations

from generator.deploy.apply import apply_now
from generator.deploy.aws import Aws
from generator.deploy.plan import make_plan
from tests.deploy.conftest import Build, new_aws, queue


def test_noop_plan_of_fifty_pipelines_reads_in_batches(aws: Aws, build: Build, moto_url: str) -> None:
    for i in range(50):
        name = f"p{i:02d}"
        build.add(f"pipectl-{name}-test-storage", "storage", {"Resources": {"Queue": queue()}}, name, "test")
    manifest = build.write()
    assert apply_now(aws, manifest, "one")[1].ok
    fresh = new_aws(moto_url)

    plan = make_plan(fresh, manifest, "two")

    assert plan.count("none") == 50
    assert fresh.counter.calls["cloudformation:CreateChangeSet"] == 0
    assert fresh.counter.total("cloudformation", reads_only=True) <= 50 / 10
