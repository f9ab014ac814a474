"""drift on the local target: honest NOT_AVAILABLE without a local check, the hook when given."""

from __future__ import annotations

from generator.deploy.apply import apply_now
from generator.deploy.aws import Aws
from generator.deploy.deployed import DeployedStack
from generator.deploy.drift import NOT_AVAILABLE, StackDrift, drift
from generator.deploy.manifest import StackSpec
from tests.deploy.conftest import Build


def test_local_drift_is_not_faked(aws: Aws, build: Build) -> None:
    build.pipeline("shop", kinds=("storage", "ingestion"))
    manifest = build.write()
    assert {d.status for d in drift(aws, manifest)} == {"NOT_DEPLOYED"}
    assert apply_now(aws, manifest, "one")[1].ok

    reports = drift(aws, manifest)

    assert {d.status for d in reports} == {NOT_AVAILABLE}
    assert all("not available offline" in d.detail for d in reports)
    seen: list[str] = []

    def check(_: Aws, spec: StackSpec, live: DeployedStack) -> StackDrift:
        seen.append(live.stack_id)
        return StackDrift(spec.name, "IN_SYNC")

    assert {d.status for d in drift(aws, manifest, "shop", local_check=check)} == {"IN_SYNC"}
    assert len(seen) == 2
