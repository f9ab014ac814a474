"""What the console shows that only the controller knows, written after an apply: each pipeline
environment's status, revision, collector, dashboard and stack graph, and the console's group mapping.

The console API (templates/appsync/resolvers) and the local console (deploy/local/console) read these
items; `state.StateStore` writes them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from generator.contract import CONSOLE_ACCESS_METADATA, StackKind
from generator.deploy.deployed import DeployedStack
from generator.deploy.diagram import restrict
from generator.deploy.manifest import Manifest
from generator.deploy.results import ApplyOutcome, DriftStatus, StackDrift, StackResult
from generator.deploy.state import EnvironmentRecord

COLLECTOR_OUTPUT = "CollectorEndpoint"  # the ingestion stack's (stacks/ingestion/load_balancer.py)
DASHBOARD_OUTPUT = "DashboardName"  # the monitoring stack's (stacks/monitoring.py)
_BROKEN = (ApplyOutcome.FAILED, ApplyOutcome.SKIPPED)


def dashboard_url(region: str, name: str) -> str:
    return f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#dashboards/dashboard/{quote(name)}"


def environments(
    manifest: Manifest,
    results: Mapping[str, StackResult],
    deployed: Mapping[str, DeployedStack],
    revision: str,
    run_id: str,
) -> list[EnvironmentRecord]:
    """One record per pipeline environment the run touched: failed when any of its stacks failed or was
    skipped; the graph is `pipectl graph --pipeline`'s, cut to the environment's stacks."""
    touched = sorted({(s.pipeline, s.env) for s in manifest.stacks if s.pipeline and s.env and s.name in results})
    graph = manifest.dependencies()
    records = []
    for pipeline, env in touched:
        stacks = [s for s in manifest.stacks if s.pipeline == pipeline and s.env == env]
        broken = any(results[s.name].result in _BROKEN for s in stacks if s.name in results)
        outputs = {s.kind: deployed[s.name].outputs for s in stacks if s.name in deployed}
        ingestion, monitoring = outputs.get(StackKind.INGESTION, {}), outputs.get(StackKind.MONITORING, {})
        region = stacks[0].region
        records.append(
            EnvironmentRecord(
                pipeline=pipeline,
                env=env,
                status="failed" if broken else "succeeded",
                revision=revision,
                run_id=run_id,
                graph={k: list(v) for k, v in restrict(graph, {s.name for s in stacks}).items()},
                collector_url=ingestion.get(COLLECTOR_OUTPUT),
                dashboard_url=dashboard_url(region, monitoring[DASHBOARD_OUTPUT])
                if DASHBOARD_OUTPUT in monitoring
                else None,
            )
        )
    return records


def access(manifest: Manifest) -> dict[str, Any] | None:
    """The group mapping the console template carries in its Metadata (from `_console.yaml`)."""
    console = manifest.console
    if console is None:
        return None
    metadata = json.loads(manifest.template_body(console)).get("Metadata") or {}
    found = metadata.get(CONSOLE_ACCESS_METADATA)
    return dict(found) if isinstance(found, dict) else None


def drift_by_environment(manifest: Manifest, results: list[StackDrift]) -> dict[tuple[str, str], tuple[str, list[str]]]:
    """(pipeline, env) -> the environment's drift and its drifted stacks: DRIFTED when any stack drifted,
    IN_SYNC when every deployed stack is, otherwise the first other answer (NOT_AVAILABLE offline, FAILED)."""
    found: dict[tuple[str, str], list[StackDrift]] = {}
    for result in results:
        spec = manifest.get(result.name)
        if spec is not None and spec.pipeline and spec.env and result.status != DriftStatus.NOT_DEPLOYED:
            found.setdefault((spec.pipeline, spec.env), []).append(result)
    summary = {}
    for key, drifts in sorted(found.items()):
        drifted = [d.name for d in drifts if d.status == DriftStatus.DRIFTED]
        others = [d.status for d in drifts if d.status not in (DriftStatus.DRIFTED, DriftStatus.IN_SYNC)]
        status = DriftStatus.DRIFTED if drifted else others[0] if others else DriftStatus.IN_SYNC
        summary[key] = (str(status), drifted)
    return summary
