"""pipectl's own telemetry: what every plan, apply and drift did, as CloudWatch metrics.

Namespace `pipectl`, dimensions `Pipeline` and `Environment` (the control-plane stacks, console and
delivery, count as pipeline and environment `_control`):

| metric                     | published by | unit    | value                                              |
| -------------------------- | ------------ | ------- | -------------------------------------------------- |
| StacksChanged              | apply        | Count   | stacks created or updated                          |
| StacksFailed               | plan, apply  | Count   | stacks that could not be planned, or failed        |
| ApplyDuration              | apply        | Seconds | first stack started to last stack ended (only when |
|                            |              |         | the apply had work for that pipeline/environment)  |
| ChangeSetsAwaitingApproval | plan, apply  | Count   | change sets a plan made and no apply executed yet: |
|                            |              |         | the plan's count, 0 after the apply                |
| DriftedStacks              | drift        | Count   | stacks whose resources differ from their template  |
|                            |              |         | (only where drift could be detected)               |

Each value goes to the region of the pipeline's stacks, where its dashboard shows them, and to the
control plane's region, where the console dashboard searches them across all pipelines. The number
of applies is the sample count of ApplyDuration. Publishing goes through `Aws`, so it is counted and
retried like every other call; a failure to publish is a note, never a failed run.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from generator.contract import CONTROL_PIPELINE as CONTROL
from generator.contract import TELEMETRY_NAMESPACE, TelemetryMetric
from generator.deploy.aws import Aws, error_message
from generator.deploy.changes import CHANGING, WITH_CHANGE_SET, PlanAction
from generator.deploy.manifest import CONSOLE_STACK, Manifest
from generator.deploy.progress import NullProgress, Progress
from generator.deploy.results import ApplyOutcome, ApplyResult, DriftStatus, Plan, StackDrift

NAMESPACE = TELEMETRY_NAMESPACE
BATCH = 20  # metric data per PutMetricData call: the long-standing limit every endpoint accepts
PENDING = WITH_CHANGE_SET  # plan actions that leave a change set to approve (deferred ones get it at apply)


@dataclass(frozen=True)
class Datum:
    """One value of one metric for one pipeline and environment."""

    pipeline: str
    env: str
    metric: str
    value: float
    unit: str = "Count"

    def as_metric_data(self, timestamp: datetime) -> dict[str, Any]:
        return {
            "MetricName": self.metric,
            "Dimensions": [{"Name": "Pipeline", "Value": self.pipeline}, {"Name": "Environment", "Value": self.env}],
            "Timestamp": timestamp,
            "Value": self.value,
            "Unit": self.unit,
        }


Group = tuple[str, str]  # (pipeline, env)


class StackTimer:
    """A Progress that passes everything on and remembers when each stack's operation started and ended,
    so ApplyDuration measures the stacks' work, not the run's reading and locking."""

    def __init__(self, inner: Progress, clock: Callable[[], float] = time.monotonic) -> None:
        self.inner = inner
        self._clock = clock
        self._lock = threading.Lock()
        self.started: dict[str, float] = {}
        self.ended: dict[str, float] = {}

    def start(self, stack: str, action: str) -> None:
        with self._lock:
            self.started[stack] = self._clock()
        self.inner.start(stack, action)

    def note(self, stack: str | None, message: str) -> None:
        self.inner.note(stack, message)

    def finish(self, stack: str, result: str, detail: str = "") -> None:
        with self._lock:
            self.ended[stack] = self._clock()
        self.inner.finish(stack, result, detail)

    def close(self) -> None:
        self.inner.close()

    def span(self, stacks: Iterable[str]) -> float | None:
        """Seconds from the first start to the last end among `stacks`; None if none of them started."""
        with self._lock:
            starts = [self.started[s] for s in stacks if s in self.started]
            ends = [self.ended[s] for s in stacks if s in self.started and s in self.ended]
        if not starts or not ends:
            return None
        return max(0.0, max(ends) - min(starts))


def _group(pipeline: str | None, env: str | None) -> Group:
    return (pipeline, env or CONTROL) if pipeline else (CONTROL, CONTROL)


def _groups_of(manifest: Manifest, names: Iterable[str]) -> dict[Group, list[str]]:
    groups: dict[Group, list[str]] = defaultdict(list)
    for name in names:
        spec = manifest.get(name)
        if spec is not None:
            groups[_group(spec.pipeline, spec.env)].append(name)
    return groups


def plan_metrics(plan: Plan) -> list[Datum]:
    """Per pipeline and environment: change sets waiting for approval, stacks that could not be planned."""
    by_group: dict[Group, list[PlanAction]] = defaultdict(list)
    for stack in plan.stacks:
        by_group[_group(stack.pipeline, stack.env)].append(stack.action)
    data = []
    for (pipeline, env), actions in sorted(by_group.items()):
        data.append(
            Datum(pipeline, env, TelemetryMetric.CHANGE_SETS_AWAITING_APPROVAL, sum(a in PENDING for a in actions))
        )
        data.append(Datum(pipeline, env, TelemetryMetric.STACKS_FAILED, actions.count(PlanAction.ERROR)))
    return data


def apply_metrics(manifest: Manifest, result: ApplyResult, timer: StackTimer) -> list[Datum]:
    """Per pipeline and environment the apply covered: stacks changed and failed, how long its stacks took,
    and no change set left waiting (the plan's were executed or are stale now)."""
    data = []
    for (pipeline, env), names in sorted(_groups_of(manifest, result.stacks).items()):
        results = [result.stacks[name] for name in names]
        changed = sum(r.result == ApplyOutcome.DONE and r.action in CHANGING for r in results)
        data.append(Datum(pipeline, env, TelemetryMetric.STACKS_CHANGED, changed))
        data.append(
            Datum(pipeline, env, TelemetryMetric.STACKS_FAILED, sum(r.result == ApplyOutcome.FAILED for r in results))
        )
        data.append(Datum(pipeline, env, TelemetryMetric.CHANGE_SETS_AWAITING_APPROVAL, 0))
        duration = timer.span(names)
        if duration is not None:
            data.append(Datum(pipeline, env, TelemetryMetric.APPLY_DURATION, round(duration, 3), "Seconds"))
    return data


def drift_metrics(manifest: Manifest, results: Sequence[StackDrift]) -> list[Datum]:
    """Drifted stacks per pipeline and environment, only where drift was actually detected: a target
    without drift detection reports nothing rather than a reassuring zero."""
    by_name = {r.name: r for r in results}
    data = []
    for (pipeline, env), names in sorted(_groups_of(manifest, by_name).items()):
        statuses = [by_name[name].status for name in names]
        if any(s.detected for s in statuses):
            data.append(Datum(pipeline, env, TelemetryMetric.DRIFTED_STACKS, statuses.count(DriftStatus.DRIFTED)))
    return data


def _regions(manifest: Manifest, aws: Aws) -> tuple[dict[Group, str], str]:
    """The region of each pipeline/environment's stacks, and the control plane's region."""
    regions = {_group(s.pipeline, s.env): s.region for s in manifest.stacks}
    console = manifest.get(CONSOLE_STACK)
    return regions, console.region if console is not None else aws.target.region


def publish(aws: Aws, manifest: Manifest, data: Sequence[Datum], progress: Progress | None = None) -> list[str]:
    """Put `data` in each pipeline's region and in the control plane's; returns (and notes) what failed."""
    out = progress or NullProgress()
    regions, control = _regions(manifest, aws)
    per_region: dict[str, list[Datum]] = defaultdict(list)
    for datum in data:
        for region in sorted({regions.get((datum.pipeline, datum.env), control), control}):
            per_region[region].append(datum)
    timestamp = datetime.now(UTC)
    problems = []
    for region, batch in sorted(per_region.items()):
        client = aws.client("cloudwatch", region)
        for first in range(0, len(batch), BATCH):
            chunk = [d.as_metric_data(timestamp) for d in batch[first : first + BATCH]]
            try:
                client.put_metric_data(Namespace=NAMESPACE, MetricData=chunk)
            except (ClientError, BotoCoreError) as exc:
                problems.append(f"pipectl metrics not published in {region}: {error_message(exc)}")
                break
    for problem in problems:
        out.note(None, problem)
    return problems


def publish_plan(aws: Aws, manifest: Manifest, plan: Plan, progress: Progress | None = None) -> list[Datum]:
    data = plan_metrics(plan)
    publish(aws, manifest, data, progress)
    return data


def publish_apply(
    aws: Aws, manifest: Manifest, result: ApplyResult, timer: StackTimer, progress: Progress | None = None
) -> list[Datum]:
    data = apply_metrics(manifest, result, timer)
    publish(aws, manifest, data, progress)
    return data


def publish_drift(aws: Aws, manifest: Manifest, results: Sequence[StackDrift]) -> list[Datum]:
    data = drift_metrics(manifest, results)
    publish(aws, manifest, data)
    return data
