"""plan and apply against a real moto server over HTTP: change sets, the DAG, failures, recovery, state."""

from __future__ import annotations

import dataclasses
import json
import threading
from pathlib import Path

import pytest

from generator.deploy.apply import apply_now, apply_plan
from generator.deploy.aws import Aws
from generator.deploy.deployed import read_deployed
from generator.deploy.errors import PlanError, StalePlanError
from generator.deploy.local import compat
from generator.deploy.local.session import ACCOUNT_ID
from generator.deploy.plan import make_plan, read_plan, write_plan
from generator.deploy.progress import NullProgress
from generator.deploy.state import StateStore, find_state_table
from generator.deploy.status import status
from tests.deploy.conftest import REGION, Build, new_aws, queue

SHOP = [
    "pipectl-shop-test-storage",
    "pipectl-shop-test-ingestion",
    "pipectl-shop-test-processing",
    "pipectl-shop-test-monitoring",
]


def deployed_status(aws: Aws) -> dict[str, str]:
    return {name: s.status for name, s in read_deployed(aws, ("eu-west-1",)).items()}


def store_of(aws: Aws) -> StateStore:
    table = find_state_table(read_deployed(aws, ("eu-west-1",)))
    assert table is not None
    return StateStore(aws, table)


@pytest.fixture
def shop(build: Build) -> Build:
    build.console()
    build.pipeline("shop")
    return build


def test_apply_from_scratch_deploys_console_first_and_records_the_run(aws: Aws, shop: Build, tmp_path: Path) -> None:
    manifest = shop.write()
    plan = make_plan(aws, manifest, "abc1234")
    assert {s.name: s.action for s in plan.stacks} == {
        "pipectl-console": "create",
        "pipectl-shop-test-storage": "create",
        **{n: "create-after" for n in SHOP[1:]},
    }  # they import storage's exports: their change sets come later
    assert not plan.recorded  # no state table yet
    assert all(s.change_set_name == "pipectl-abc1234" for s in plan.stacks if s.action == "create")
    assert not any(s.change_set for s in plan.stacks if s.action == "create-after")
    write_plan(plan, manifest, tmp_path / "out")
    plan = read_plan(tmp_path / "out" / "plan.json")

    progress = NullProgress()
    result = apply_plan(aws, manifest, plan, progress)

    assert result.ok, result.stacks
    assert {n: r.result for n, r in result.stacks.items()} == {n: "done" for n in ["pipectl-console", *SHOP]}
    assert set(deployed_status(aws).values()) == {"CREATE_COMPLETE"}
    assert any("console stack" in line for line in progress.lines)
    store = store_of(aws)
    runs = store.query("PIPELINE#shop", "RUN#")
    assert sorted(r["kind"] for r in runs) == ["apply", "plan"]  # the plan is recorded once the table exists
    applied = next(r for r in runs if r["kind"] == "apply")
    assert applied["result"] == "succeeded" and applied["revision"] == "abc1234" and applied["actor"]
    assert applied["stacks"] == {n: "done" for n in SHOP}
    assert store.get(f"RUN#{result.run_id}", "META") is not None
    assert store.get("PIPELINE#shop", "STACK#test#pipectl-shop-test-storage")["status"] == "done"  # type: ignore[index]
    assert store.get("LOCK", "deploy") is None  # released


def test_second_plan_is_all_none_without_change_sets_and_few_reads(aws: Aws, shop: Build, moto_url: str) -> None:
    manifest = shop.write()
    assert apply_now(aws, manifest, "one")[1].ok
    fresh = new_aws(moto_url)

    plan = make_plan(fresh, manifest, "two")

    assert {s.action for s in plan.stacks} == {"none"}
    assert fresh.counter.calls["cloudformation:CreateChangeSet"] == 0
    assert fresh.counter.total("cloudformation", reads_only=True) == 1  # one describe_stacks for 5 stacks
    assert plan.summary() == "0 to create, 0 to update, 5 unchanged"
    assert plan.recorded


def test_changing_one_template_replans_only_that_stack(aws: Aws, shop: Build) -> None:
    manifest = shop.write()
    assert apply_now(aws, manifest, "one")[1].ok
    shop.stacks["pipectl-shop-test-ingestion"]["template"]["Resources"]["Extra"] = queue()
    manifest = shop.write()

    plan = make_plan(aws, manifest, "two")

    actions = {s.name: s.action for s in plan.stacks}
    assert actions.pop("pipectl-shop-test-ingestion") == "update"
    assert set(actions.values()) == {"none"}
    changed = plan.get("pipectl-shop-test-ingestion")
    assert changed is not None and changed.change_set_name == "pipectl-two"
    added = [c for c in changed.changes if c.action == "Add"]
    assert [(c.resource, c.type, c.replacement) for c in added] == [("Extra", "AWS::SQS::Queue", "n/a")]
    assert all(c.replacement in ("True", "False", "Conditional") for c in changed.changes if c.action == "Modify")
    result = apply_plan(aws, manifest, plan)
    assert result.stacks["pipectl-shop-test-ingestion"].result == "done"
    assert {r.result for n, r in result.stacks.items() if n != "pipectl-shop-test-ingestion"} == {"unchanged"}
    assert {s.action for s in make_plan(aws, manifest, "three").stacks} == {"none"}
    assert all(s.in_sync for s in status(aws, manifest))


def test_a_stack_that_moved_on_since_the_plan_is_refused(aws: Aws, shop: Build) -> None:
    manifest = shop.write()
    assert apply_now(aws, manifest, "one")[1].ok
    shop.stacks["pipectl-shop-test-ingestion"]["template"]["Resources"]["Extra"] = queue()
    manifest = shop.write()
    plan = make_plan(aws, manifest, "two")
    cfn = aws.cfn()
    other = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}, "Other": queue()}}
    cfn.update_stack(StackName="pipectl-shop-test-ingestion", TemplateBody=json.dumps(other))  # someone else

    with pytest.raises(StalePlanError, match="pipectl-shop-test-ingestion: the stack was updated since the plan"):
        apply_plan(aws, manifest, plan)

    planned = plan.get("pipectl-shop-test-ingestion")
    assert planned is not None and planned.change_set
    assert cfn.describe_change_set(ChangeSetName=planned.change_set)["ExecutionStatus"] == "AVAILABLE"
    runs = store_of(aws).query("PIPELINE#shop", "RUN#")
    assert any(r["kind"] == "apply" and r["result"] == "refused" for r in runs)
    assert store_of(aws).get("LOCK", "deploy") is None


def test_a_plan_for_another_build_is_refused(aws: Aws, shop: Build) -> None:
    manifest = shop.write()
    plan = make_plan(aws, manifest, "one")
    shop.stacks["pipectl-shop-test-ingestion"]["template"]["Resources"]["Extra"] = queue()
    with pytest.raises(PlanError, match="build/ changed since the plan"):
        apply_plan(aws, shop.write(), plan)


def test_a_failed_stack_stops_its_dependents_not_its_siblings_and_a_rerun_finishes(aws: Aws, shop: Build) -> None:
    good = shop.stacks["pipectl-shop-test-processing"]["template"]
    broken = json.loads(json.dumps(good))
    broken["Resources"]["Broken"] = {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "x"}}  # S3 refuses it
    shop.stacks["pipectl-shop-test-processing"]["template"] = broken
    manifest = shop.write()
    progress = NullProgress()

    _, result = apply_now(aws, manifest, "one", progress)

    outcome = {n: r.result for n, r in result.stacks.items()}
    assert outcome == {
        "pipectl-console": "done",
        "pipectl-shop-test-storage": "done",
        "pipectl-shop-test-ingestion": "done",
        "pipectl-shop-test-processing": "failed",
        "pipectl-shop-test-monitoring": "skipped",
    }
    failed = result.stacks["pipectl-shop-test-processing"]
    assert failed.detail.startswith("ROLLBACK_COMPLETE")  # a failed create rolls back, as on AWS
    assert any("Broken AWS::S3::Bucket CREATE_FAILED" in e for e in failed.events), failed.events
    assert "pipectl-shop-test-monitoring: skipped (pipectl-shop-test-processing failed)" in progress.lines
    assert not result.ok
    assert "pipectl-shop-test-monitoring" not in deployed_status(aws)  # deferred: its change set was never made

    shop.stacks["pipectl-shop-test-processing"]["template"] = good
    manifest = shop.write()
    plan, rerun = apply_now(aws, manifest, "two")

    assert {s.name: s.action for s in plan.stacks if s.action != "none"} == {
        "pipectl-shop-test-processing": "create",
        "pipectl-shop-test-monitoring": "create-after",
    }
    assert rerun.ok, rerun.stacks
    assert set(deployed_status(aws).values()) == {"CREATE_COMPLETE"}


def test_a_stack_left_in_create_in_progress_by_a_killed_run_is_recreated(aws: Aws, shop: Build) -> None:
    manifest = shop.write()
    aws.cfn().create_stack(
        StackName="pipectl-shop-test-ingestion", TemplateBody=json.dumps({"Resources": {"Q": queue()}})
    )
    # Fault injection: the local target creates a stack within one request, which goes on when the pipectl
    # process that asked is killed; only a server thread that died leaves it in progress for good. The
    # in-process server's backend is given that state, and the wait for it to settle is cut short.
    aws.timeouts = dataclasses.replace(aws.timeouts, stack=0.5)
    backend = compat.cfn_backend(ACCOUNT_ID, REGION)
    next(s for s in backend.stacks.values() if s.name == "pipectl-shop-test-ingestion").status = "CREATE_IN_PROGRESS"
    assert deployed_status(aws)["pipectl-shop-test-ingestion"] == "CREATE_IN_PROGRESS"
    progress = NullProgress()

    plan, result = apply_now(aws, manifest, "one", progress)

    assert plan.get("pipectl-shop-test-ingestion").recovery == "delete-and-create"  # type: ignore[union-attr]
    assert result.ok, result.stacks
    assert deployed_status(aws)["pipectl-shop-test-ingestion"] == "CREATE_COMPLETE"
    assert any("deleting the CREATE_IN_PROGRESS stack" in line for line in progress.lines)


def test_a_create_a_killed_run_left_going_is_waited_for_not_recreated(aws: Aws, shop: Build) -> None:
    manifest = shop.write()
    first, _ = apply_now(aws, manifest, "one", NullProgress())
    assert first.get("pipectl-shop-test-ingestion") is not None
    backend = compat.cfn_backend(ACCOUNT_ID, REGION)
    stack = next(s for s in backend.stacks.values() if s.name == "pipectl-shop-test-ingestion")
    stack_id = stack.stack_id
    # The create a killed run started is still going in the server's request thread: it ends while the
    # next plan waits (state given to the in-process backend, then put back by a timer).
    stack.status = "CREATE_IN_PROGRESS"
    threading.Timer(0.5, lambda: setattr(stack, "status", "CREATE_COMPLETE")).start()
    progress = NullProgress()

    plan, result = apply_now(aws, manifest, "two", progress)

    planned = plan.get("pipectl-shop-test-ingestion")
    assert planned is not None and planned.recovery is None, planned
    assert result.ok, result.stacks
    assert any("waiting for it to settle" in line for line in progress.lines)
    assert not any("deleting the CREATE_IN_PROGRESS stack" in line for line in progress.lines)
    assert read_deployed(aws, (REGION,))["pipectl-shop-test-ingestion"].stack_id == stack_id


def test_status_reports_sync_and_outputs(aws: Aws, shop: Build) -> None:
    manifest = shop.write()
    before = {s.name: s.status for s in status(aws, manifest)}
    assert set(before.values()) == {"NOT_DEPLOYED"}
    assert apply_now(aws, manifest, "one")[1].ok
    shop.stacks["pipectl-shop-test-ingestion"]["template"]["Resources"]["Extra"] = queue()
    rows = {s.name: s for s in status(aws, shop.write())}
    assert rows["pipectl-shop-test-monitoring"].headline == {"DashboardName": "shop-test"}
    assert rows["pipectl-console"].outputs["StateTableName"]
    assert rows["pipectl-shop-test-storage"].in_sync
    assert not rows["pipectl-shop-test-ingestion"].in_sync
