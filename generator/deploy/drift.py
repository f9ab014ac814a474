"""drift: does what is deployed still match what was deployed? CloudFormation drift on AWS.

moto has no drift detection. On the local target a comparison belongs to generator/deploy/local,
which passes it in as `local_check`; without one the answer is NOT_AVAILABLE, never a fake IN_SYNC.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from botocore.exceptions import BotoCoreError, ClientError

from generator.deploy import console_view, telemetry
from generator.deploy.aws import Aws, error_message
from generator.deploy.deployed import DeployedStack, read_deployed
from generator.deploy.errors import DeployError
from generator.deploy.manifest import Manifest, StackSpec
from generator.deploy.results import DriftStatus, ResourceDrift, ResourceDriftStatus
from generator.deploy.results import StackDrift as StackDrift
from generator.deploy.state import StateStore, find_state_table

NOT_AVAILABLE = DriftStatus.NOT_AVAILABLE  # re-exported with the result types: what drift returns

LocalCheck = Callable[[Aws, StackSpec, DeployedStack], StackDrift]


def drift(
    aws: Aws,
    manifest: Manifest,
    pipeline: str | None = None,
    local_check: LocalCheck | None = None,
    concurrency: int = 4,
) -> list[StackDrift]:
    """Drift of every deployed manifest stack (of `pipeline` if given), in manifest order; the drifted
    stacks per pipeline and environment are published as pipectl's DriftedStacks metric."""
    deployed = read_deployed(aws, tuple(sorted({*manifest.regions, aws.target.region})))
    specs = [s for s in manifest.stacks if pipeline is None or s.pipeline == pipeline]

    def one(spec: StackSpec) -> StackDrift:
        live = deployed.get(spec.name)
        if live is None:
            return StackDrift(spec.name, DriftStatus.NOT_DEPLOYED)
        if aws.target.is_local:
            if local_check is None:
                return StackDrift(spec.name, NOT_AVAILABLE, detail="drift detection is not available offline")
            return local_check(aws, spec, live)
        try:
            return _detect(aws, live)
        except (DeployError, ClientError, BotoCoreError) as exc:
            return StackDrift(spec.name, DriftStatus.FAILED, detail=error_message(exc))

    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="pipectl-drift") as pool:
        results = list(pool.map(one, specs))
    telemetry.publish_drift(aws, manifest, results)
    table = find_state_table(deployed)
    if table is not None:  # the console shows each environment's drift from the state table
        store = StateStore(aws, table)
        for (owner, env), (status, drifted) in console_view.drift_by_environment(manifest, results).items():
            store.record_drift(owner, env, status, drifted)
    return results


def _detect(aws: Aws, live: DeployedStack) -> StackDrift:
    client = aws.cfn(live.region)
    detection = client.detect_stack_drift(StackName=live.stack_id)["StackDriftDetectionId"]
    done = aws.poll(
        lambda: client.describe_stack_drift_detection_status(StackDriftDetectionId=detection),
        lambda d: d["DetectionStatus"] != "DETECTION_IN_PROGRESS",
        aws.timeouts.drift,
        f"drift detection of {live.name}",
    )
    if done["DetectionStatus"] == "DETECTION_FAILED" and not done.get("StackDriftStatus"):
        return StackDrift(live.name, DriftStatus.FAILED, detail=done.get("DetectionStatusReason", ""))
    drifts = client.paginate(
        "describe_stack_resource_drifts",
        "StackResourceDrifts",
        StackName=live.stack_id,
        StackResourceDriftStatusFilters=[str(s) for s in ResourceDriftStatus],
    )
    resources = [
        ResourceDrift(
            d["LogicalResourceId"],
            d["ResourceType"],
            ResourceDriftStatus(d["StackResourceDriftStatus"]),
            [
                f"{p['PropertyPath']}: {p['DifferenceType']} (expected {p.get('ExpectedValue')}, "
                f"actual {p.get('ActualValue')})"
                for p in d.get("PropertyDifferences") or []
            ],
        )
        for d in drifts
    ]
    return StackDrift(
        live.name,
        DriftStatus(done.get("StackDriftStatus") or DriftStatus.UNKNOWN),
        resources,
        done.get("DetectionStatusReason", "") if done["DetectionStatus"] == "DETECTION_FAILED" else "",
    )
