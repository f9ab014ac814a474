"""pipectl's own telemetry on the local target: metrics read back with boto3, JSON lines per stack."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from generator.deploy import telemetry
from generator.deploy.apply import apply_now
from generator.deploy.aws import Aws, RetryPolicy, Target
from generator.deploy.deployed import DeployedStack
from generator.deploy.drift import StackDrift, drift
from generator.deploy.manifest import Manifest, StackSpec
from generator.deploy.progress import JsonProgress, NullProgress, make_progress, stack_identity
from tests.deploy.conftest import REGION, Build

SHOP = ("shop", "test")
CONTROL = ("_control", "_control")


def cloudwatch(url: str, region: str = REGION) -> Any:
    """A plain boto3 client, as an operator would use, not the controller's."""
    return boto3.client(
        "cloudwatch", endpoint_url=url, region_name=region, aws_access_key_id="testing", aws_secret_access_key="testing"
    )


def dimensions(group: tuple[str, str]) -> list[dict[str, str]]:
    return [{"Name": "Pipeline", "Value": group[0]}, {"Name": "Environment", "Value": group[1]}]


def statistic(client: Any, metric: str, group: tuple[str, str], stat: str) -> float | None:
    """The statistic over the last hour, or None when no value was published."""
    now = datetime.now(UTC)
    points = client.get_metric_statistics(
        Namespace="pipectl",
        MetricName=metric,
        Dimensions=dimensions(group),
        StartTime=now - timedelta(hours=1),
        EndTime=now + timedelta(minutes=5),
        Period=3600,
        Statistics=[stat],
    )["Datapoints"]
    return sum(float(p[stat]) for p in points) if points else None


def listed(client: Any) -> set[tuple[str, str, str]]:
    metrics = client.list_metrics(Namespace="pipectl")["Metrics"]
    return {
        (m["MetricName"], *(d["Value"] for d in sorted(m["Dimensions"], key=lambda d: d["Name"])[::-1]))
        for m in metrics
    }


@pytest.fixture
def shop(build: Build) -> Build:
    build.console()
    build.pipeline("shop")
    return build


def test_an_apply_leaves_pipectl_metrics_that_boto3_lists_and_reads(aws: Aws, shop: Build, moto_url: str) -> None:
    _, result = apply_now(aws, shop.write(), "abc1234")
    assert result.ok

    client = cloudwatch(moto_url)
    names = listed(client)
    for metric in ("StacksChanged", "StacksFailed", "ApplyDuration", "ChangeSetsAwaitingApproval"):
        assert (metric, *SHOP) in names and (metric, *CONTROL) in names, metric
    assert statistic(client, "StacksChanged", SHOP, "Sum") == 4
    assert statistic(client, "StacksChanged", CONTROL, "Sum") == 1
    assert statistic(client, "StacksFailed", SHOP, "Sum") == 0
    assert statistic(client, "ApplyDuration", SHOP, "SampleCount") == 1
    duration = statistic(client, "ApplyDuration", SHOP, "Maximum")
    assert duration is not None and 0 < duration < 120
    # The plan left storage's change set waiting (its dependents' are made by apply), the apply none.
    assert statistic(client, "ChangeSetsAwaitingApproval", SHOP, "Maximum") == 1
    assert statistic(client, "ChangeSetsAwaitingApproval", SHOP, "Minimum") == 0
    assert aws.counter.calls["cloudwatch:PutMetricData"] >= 2  # through the controller's counted client


def test_a_failed_stack_is_counted_and_an_unchanged_rerun_publishes_no_duration(
    aws: Aws, shop: Build, moto_url: str
) -> None:
    good = shop.stacks["pipectl-shop-test-processing"]["template"]
    broken = json.loads(json.dumps(good).replace("test-storage:QueueName", "test-storage:NoSuchExport"))
    shop.stacks["pipectl-shop-test-processing"]["template"] = broken
    _, result = apply_now(aws, shop.write(), "one")
    assert not result.ok

    client = cloudwatch(moto_url)
    assert statistic(client, "StacksFailed", SHOP, "Sum") == 1  # processing; monitoring was skipped, not failed
    assert statistic(client, "StacksChanged", SHOP, "Sum") == 2  # storage and ingestion

    shop.stacks["pipectl-shop-test-processing"]["template"] = good
    manifest = shop.write()
    assert apply_now(aws, manifest, "two")[1].ok
    assert statistic(client, "ApplyDuration", SHOP, "SampleCount") == 2
    assert apply_now(aws, manifest, "three")[1].ok  # nothing to do
    assert statistic(client, "ApplyDuration", SHOP, "SampleCount") == 2
    assert statistic(client, "StacksChanged", SHOP, "SampleCount") == 3


def test_metrics_go_to_the_pipelines_region_and_the_control_planes(aws: Aws, shop: Build, moto_url: str) -> None:
    manifest = shop.write()
    moved = tuple(s.model_copy(update={"region": "us-east-1"}) if s.pipeline == "shop" else s for s in manifest.stacks)
    elsewhere = Manifest(manifest.root, moved)

    problems = telemetry.publish(aws, elsewhere, [telemetry.Datum("shop", "test", "DriftedStacks", 2)])

    assert problems == []
    for region in ("us-east-1", REGION):
        assert statistic(cloudwatch(moto_url, region), "DriftedStacks", SHOP, "Maximum") == 2, region
    assert statistic(cloudwatch(moto_url, "eu-central-1"), "DriftedStacks", SHOP, "Maximum") is None


def test_drift_publishes_drifted_stacks_only_where_it_was_detected(aws: Aws, shop: Build, moto_url: str) -> None:
    manifest = shop.write()
    assert apply_now(aws, manifest, "one")[1].ok
    client = cloudwatch(moto_url)

    drift(aws, manifest, "shop")  # no local check: NOT_AVAILABLE, which is no measurement
    assert statistic(client, "DriftedStacks", SHOP, "SampleCount") is None

    def check(_: Aws, spec: StackSpec, live: DeployedStack) -> StackDrift:
        return StackDrift(spec.name, "DRIFTED" if spec.kind in ("storage", "monitoring") else "IN_SYNC")

    drift(aws, manifest, "shop", local_check=check)
    assert statistic(client, "DriftedStacks", SHOP, "Maximum") == 2


def test_a_metric_that_cannot_be_published_is_a_note_not_a_failure(shop: Build) -> None:
    """Nothing listens on port 9 of the loopback: a real connection failure, the state of a target that
    refuses PutMetricData without moto being able to produce it."""
    unreachable = Aws(Target.local("http://127.0.0.1:9", REGION), policy=RetryPolicy(sleep=lambda _: None))
    progress = NullProgress()

    problems = telemetry.publish(
        unreachable, shop.write(), [telemetry.Datum("shop", "test", "StacksFailed", 1)], progress
    )

    assert len(problems) == 1 and problems[0].startswith(f"pipectl metrics not published in {REGION}: ")
    assert progress.lines == problems


def test_json_log_format_writes_one_object_per_stack_operation(aws: Aws, shop: Build) -> None:
    stream = io.StringIO()
    progress = make_progress(stream, {}, log_format="json")
    assert isinstance(progress, JsonProgress)

    apply_now(aws, shop.write(), "abc1234", progress)

    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    operations = [r for r in records if r["event"] == "stack"]
    assert sorted(r["stack"] for r in operations) == sorted(shop.stacks)
    for record in operations:
        assert {"time", "stack", "pipeline", "env", "action", "result", "detail"} <= record.keys()
        deferred = record["stack"].endswith(("ingestion", "processing", "monitoring"))  # created after storage
        assert record["action"] == ("create-after" if deferred else "create") and record["result"] == "done", record
        assert record["detail"] == "CREATE_COMPLETE" and record["duration_s"] >= 0
        assert datetime.fromisoformat(record["time"]) >= datetime.fromisoformat(record["started"])
    storage = next(r for r in operations if r["stack"] == "pipectl-shop-test-storage")
    assert (storage["pipeline"], storage["env"], storage["kind"]) == ("shop", "test", "storage")
    console = next(r for r in operations if r["stack"] == "pipectl-console")
    assert (console["pipeline"], console["env"]) == CONTROL
    assert all(r["event"] == "note" and r["detail"] for r in records if r["event"] != "stack")


@pytest.mark.parametrize(
    ("stack", "identity"),
    [
        ("pipectl-my-shop-prod-ingestion", ("my-shop", "prod", "ingestion")),
        ("pipectl-console", ("_control", "_control", "console")),
        ("pipectl-delivery", ("_control", "_control", "delivery")),
        ("someone-elses-stack", (None, None, None)),
    ],
)
def test_stack_names_split_into_pipeline_env_and_kind(stack: str, identity: tuple[str | None, ...]) -> None:
    assert stack_identity(stack) == identity
