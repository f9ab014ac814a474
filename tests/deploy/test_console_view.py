"""What apply, plan and drift write for the console, read back through the local console's GraphQL path.

Against a real moto server over HTTP, as the other apply tests: the controller writes the items, and
`answer()` (held to the AppSync resolvers by the parity test) reads them as the console would.
"""

from __future__ import annotations

import base64
import gzip
from typing import Any

import pytest

from generator.contract import CONSOLE_ACCESS_METADATA
from generator.deploy.apply import apply_now
from generator.deploy.aws import Aws
from generator.deploy.deployed import DeployedStack, read_deployed
from generator.deploy.drift import drift
from generator.deploy.local.console import Identity, answer
from generator.deploy.manifest import StackSpec
from generator.deploy.plan_archive import compressed_plan
from generator.deploy.results import DriftStatus, StackDrift
from generator.deploy.state import find_state_table, run_trigger
from tests.deploy.conftest import REGION, Build

ADMIN = Identity("admin", ("admins",))


@pytest.fixture
def shop(build: Build) -> Build:
    build.console()
    build.stacks["pipectl-console"]["template"]["Metadata"] = {
        CONSOLE_ACCESS_METADATA: {"admins_group": "admins", "groups": {"team-shop": ["shop"]}}
    }
    build.pipeline("shop")
    build.stacks["pipectl-shop-test-ingestion"]["template"]["Outputs"] = {
        "CollectorEndpoint": {"Value": "https://collect.example.com/collect"}
    }
    build.stacks["pipectl-shop-test-monitoring"]["template"]["Outputs"] = {
        "DashboardName": {"Value": "pipectl-shop-test"}
    }
    return build


def ask(aws: Aws, document: str, identity: Identity = ADMIN) -> Any:
    table = find_state_table(read_deployed(aws, (REGION,)))
    assert table is not None
    got = answer(document, None, identity, aws.client("dynamodb", table.region), table.name)
    assert "errors" not in got, got
    return got["data"]


def test_an_apply_leaves_what_the_console_shows(aws: Aws, shop: Build, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PIPECTL_RUN", raising=False)
    _, result = apply_now(aws, shop.write(), "abc1234")
    assert result.ok

    data = ask(
        aws,
        '{ pipeline(name: "shop") { environments { env status revision runId collectorUrl dashboardUrl '
        "graph { stack dependsOn } } } "
        'runs(pipeline: "shop") { runId kind trigger durationSeconds changed failed } '
        'stacks(pipeline: "shop", env: "test") { stack outputs { key value } } }',
    )
    [env] = data["pipeline"]["environments"]
    assert (env["env"], env["status"], env["revision"], env["runId"]) == ("test", "succeeded", "abc1234", result.run_id)
    assert env["collectorUrl"] == "https://collect.example.com/collect"
    assert env["dashboardUrl"] == (
        f"https://{REGION}.console.aws.amazon.com/cloudwatch/home?region={REGION}#dashboards/dashboard/pipectl-shop-test"
    )
    graph = {edge["stack"]: edge["dependsOn"] for edge in env["graph"]}
    assert graph["pipectl-shop-test-processing"] == ["pipectl-shop-test-storage"]
    assert set(graph) == {f"pipectl-shop-test-{k}" for k in ("storage", "ingestion", "processing", "monitoring")}
    applied = next(r for r in data["runs"] if r["kind"] == "apply")
    assert applied["trigger"] == "local" and applied["durationSeconds"] >= 0
    assert sorted(applied["changed"]) == sorted(graph) and applied["failed"] == []
    outputs = {s["stack"]: s["outputs"] for s in data["stacks"]}
    assert outputs["pipectl-shop-test-ingestion"] == [
        {"key": "CollectorEndpoint", "value": "https://collect.example.com/collect"}
    ]

    run = ask(aws, f'{{ run(runId: "{result.run_id}") {{ planMarkdownGzip planTruncated }} }}')["run"]
    markdown = gzip.decompress(base64.b64decode(run["planMarkdownGzip"])).decode()
    assert "abc1234" in markdown and "pipectl-shop-test-storage" in markdown
    assert run["planTruncated"] is False


def test_the_group_mapping_of_the_console_template_decides_who_sees_what(aws: Aws, shop: Build) -> None:
    assert apply_now(aws, shop.write(), "abc1234")[1].ok
    query = '{ pipeline(name: "shop") { name } stacks(pipeline: "shop") { stack } }'
    assert ask(aws, query, Identity("ana", ("team-shop",)))["pipeline"] == {"name": "shop"}
    assert ask(aws, query, Identity("bob", ("team-other",))) == {"pipeline": None, "stacks": []}


def test_drift_is_written_per_environment(aws: Aws, shop: Build) -> None:
    manifest = shop.write()
    assert apply_now(aws, manifest, "abc1234")[1].ok

    def local_check(_aws: Aws, spec: StackSpec, _live: DeployedStack) -> StackDrift:
        drifted = spec.name == "pipectl-shop-test-storage"
        return StackDrift(spec.name, DriftStatus.DRIFTED if drifted else DriftStatus.IN_SYNC)

    drift(aws, manifest, local_check=local_check)
    [env] = ask(aws, '{ pipeline(name: "shop") { environments { drift driftedStacks driftCheckedAt status } } }')[
        "pipeline"
    ]["environments"]
    assert (env["drift"], env["driftedStacks"], env["status"]) == (
        "DRIFTED",
        ["pipectl-shop-test-storage"],
        "succeeded",
    )
    assert env["driftCheckedAt"]


@pytest.mark.parametrize(("run", "trigger"), [("push", "push"), ("nightly", "nightly"), ("", "local"), ("x", "local")])
def test_the_trigger_comes_from_the_delivery_pipeline_run_variable(run: str, trigger: str) -> None:
    assert run_trigger({"PIPECTL_RUN": run}) == trigger


def test_a_plan_too_large_for_the_item_is_cut_with_a_note() -> None:
    markdown = "".join(
        f"| stack-{i} | {base64.b64encode(str(i * 7919).encode() * 9).decode()} |\n" for i in range(40000)
    )
    data, cut = compressed_plan(markdown, budget=100_000)
    assert cut and len(data) <= 100_000
    text = gzip.decompress(data).decode()
    assert text.endswith("the whole file is in the run's plan artifact.\n") and markdown.startswith(text[:1000])
    small, cut = compressed_plan("# Plan\n")
    assert not cut and gzip.decompress(small) == b"# Plan\n"
