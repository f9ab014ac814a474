"""prune and destroy: list without deleting, delete only with yes, never lose data without delete_data."""

from __future__ import annotations

import pytest

from generator.deploy.apply import apply_now
from generator.deploy.aws import Aws
from generator.deploy.deployed import read_deployed
from generator.deploy.destroy import destroy
from generator.deploy.errors import DeployError
from generator.deploy.plan import make_plan
from generator.deploy.progress import NullProgress
from generator.deploy.prune import prune
from generator.deploy.teardown import RemovalOptions
from tests.deploy.conftest import Build

SHOP = {
    "pipectl-shop-test-storage",
    "pipectl-shop-test-ingestion",
    "pipectl-shop-test-processing",
    "pipectl-shop-test-monitoring",
}


def live(aws: Aws) -> set[str]:
    return set(read_deployed(aws, ("eu-west-1",)))


def buckets(aws: Aws) -> set[str]:
    return {b["Name"] for b in aws.client("s3").list_buckets()["Buckets"]}


def protect(aws: Aws, name: str) -> None:
    """moto has no UpdateTerminationProtection: set the flag it stores and describe_stacks reports."""
    from moto.cloudformation.models import cloudformation_backends

    backend = cloudformation_backends["123456789012"]["eu-west-1"]
    next(s for s in backend.stacks.values() if s.name == name).enable_termination_protection = True
    assert read_deployed(aws, ("eu-west-1",))[name].termination_protection


@pytest.fixture
def deployed(aws: Aws, build: Build) -> Build:
    build.console()
    build.pipeline("shop")
    build.pipeline("web", retain=False, kinds=("storage",))
    assert apply_now(aws, build.write(), "one")[1].ok
    return build


def test_plan_flags_stacks_whose_pipeline_left_the_manifest(aws: Aws, deployed: Build) -> None:
    deployed.remove_pipeline("shop")
    plan = make_plan(aws, deployed.write(), "two")
    assert {s.name for s in plan.stacks if s.action == "delete"} == SHOP
    assert all(s.reason == "its pipeline is no longer in the manifest" for s in plan.stacks if s.action == "delete")


def test_prune_lists_without_deleting_unless_yes_and_keeps_retained_data(aws: Aws, deployed: Build) -> None:
    deployed.remove_pipeline("shop")
    manifest = deployed.write()

    listed = prune(aws, manifest)

    assert not listed.executed and {r.name for r in listed.stacks} == SHOP
    assert {r.result for r in listed.stacks} == {"listed"}
    storage = next(r for r in listed.stacks if r.name == "pipectl-shop-test-storage")
    assert storage.retained == ["DataBucket (AWS::S3::Bucket)"] and not storage.data_deleted
    assert live(aws) >= SHOP

    progress = NullProgress()
    done = prune(aws, manifest, RemovalOptions(yes=True), progress)

    assert done.executed and done.ok and {r.result for r in done.stacks} == {"deleted"}
    assert not SHOP & live(aws)
    assert "shop-test-data" in buckets(aws)  # Retain: the data outlives its stack
    deleted = [line.split(":")[0] for line in progress.lines if line.endswith(": delete")]
    assert deleted.index("pipectl-shop-test-monitoring") < deleted.index("pipectl-shop-test-processing")
    assert deleted.index("pipectl-shop-test-processing") < deleted.index("pipectl-shop-test-storage")


def test_a_stack_that_would_delete_data_is_refused_without_delete_data(aws: Aws, deployed: Build) -> None:
    manifest = deployed.write()
    refused = destroy(aws, manifest, "web", options=RemovalOptions(yes=True))
    assert [(r.name, r.result) for r in refused.stacks] == [("pipectl-web-test-storage", "refused")]
    assert "would delete data (DataBucket (AWS::S3::Bucket))" in refused.stacks[0].detail
    assert "deletion: delete" in refused.stacks[0].detail
    assert "pipectl-web-test-storage" in live(aws) and "web-test-data" in buckets(aws)

    allowed = destroy(aws, manifest, "web", options=RemovalOptions(yes=True, delete_data=True))
    assert allowed.ok and "pipectl-web-test-storage" not in live(aws)
    assert "web-test-data" not in buckets(aws)  # and describing the deleted stack does not bring it back


def test_termination_protection_is_respected_unless_disabled(aws: Aws, deployed: Build) -> None:
    protect(aws, "pipectl-shop-test-monitoring")
    manifest = deployed.write()

    first = destroy(aws, manifest, "shop", options=RemovalOptions(yes=True))

    results = {r.name: r.result for r in first.stacks}
    assert results["pipectl-shop-test-monitoring"] == "refused"
    # decided before deleting anything: one refused stack holds the whole set
    assert {results[n] for n in SHOP - {"pipectl-shop-test-monitoring"}} == {"skipped"}
    assert first.held and not first.executed and first.needs == ["--disable-protection"]
    assert live(aws) >= SHOP

    second = destroy(aws, manifest, "shop", options=RemovalOptions(yes=True, disable_protection=True))
    assert second.ok and not SHOP & live(aws)


def test_destroy_of_an_unknown_pipeline_says_so(aws: Aws, deployed: Build) -> None:
    with pytest.raises(DeployError, match="no deployed stacks of pipeline nope"):
        destroy(aws, deployed.write(), "nope")


def test_one_refused_stack_holds_the_whole_pipeline_even_when_it_is_deleted_last(aws: Aws, deployed: Build) -> None:
    """Protection on storage (deleted last) used to let monitoring and ingestion go first."""
    protect(aws, "pipectl-shop-test-storage")
    result = destroy(aws, deployed.write(), "shop", options=RemovalOptions(yes=True))
    results = {r.name: r.result for r in result.stacks}
    assert results == {**dict.fromkeys(SHOP, "skipped"), "pipectl-shop-test-storage": "refused"}
    assert "pipectl-shop-test-storage refused" in next(r.detail for r in result.stacks if r.result == "skipped")
    assert live(aws) >= SHOP


def test_delete_data_empties_a_versioned_bucket_first(aws: Aws, build: Build) -> None:
    """CloudFormation never deletes a bucket holding objects: every version and delete marker goes first."""
    build.console()
    build.pipeline("web", retain=False, kinds=("storage",))
    manifest = build.write()
    assert apply_now(aws, manifest, "one")[1].ok
    s3 = aws.client("s3")
    s3.put_bucket_versioning(Bucket="web-test-data", VersioningConfiguration={"Status": "Enabled"})
    for i in range(1005):  # more than one DeleteObjects batch
        s3.put_object(Bucket="web-test-data", Key=f"raw/{i % 3}/event-{i}.json", Body=b"{}")
    s3.put_object(Bucket="web-test-data", Key="raw/0/event-0.json", Body=b"{}")  # a second version
    s3.delete_object(Bucket="web-test-data", Key="raw/1/event-1.json")  # a delete marker
    progress = NullProgress()

    result = destroy(aws, manifest, "web", options=RemovalOptions(yes=True, delete_data=True), progress=progress)

    assert result.ok, ([(r.name, r.result, r.detail[:300]) for r in result.stacks], progress.lines)
    assert "web-test-data" not in buckets(aws), progress.lines
    assert any("emptying bucket web-test-data: 1007 object versions deleted" in line for line in progress.lines)
