"""What plan, apply and drift produce, as types: below every module that makes or reads them.

plan.py, apply.py and drift.py produce these; telemetry.py, report.py, safety.py, deferred.py and the
CLI consume them. Holding them here, with nothing above it imported, keeps those modules out of an
import circle: a consumer never has to import the producer (and its AWS calls) to name a result.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from enum import StrEnum

from generator.deploy.changes import CHANGING, PlanAction, ResourceChange


class Recovery(StrEnum):
    """What apply does first to a stack an earlier run left behind, before its fresh change set."""

    DELETE_AND_CREATE = "delete-and-create"
    CONTINUE_ROLLBACK = "continue-rollback"


@dataclass
class StackPlan:
    """What apply will do to one stack, and what it must still find there to do it.

    `hash` is the manifest's spec-hash; `template_sha256` the hash of the template file in build/,
    recorded for stacks with changes: a deferred stack's change set is made from exactly that file.
    `after` names the dependencies a deferred stack waits for.
    """

    name: str
    action: PlanAction
    change_set: str | None = None
    change_set_name: str | None = None
    stack_id: str | None = None
    hash: str | None = None
    changes: list[ResourceChange] = field(default_factory=list)
    region: str = ""
    pipeline: str | None = None
    env: str | None = None
    kind: str | None = None
    status: str | None = None  # deployed status at plan time
    fingerprint: str | None = None
    recovery: Recovery | None = None
    reason: str = ""
    after: list[str] = field(default_factory=list)
    template_sha256: str | None = None
    costs: list[str] = field(default_factory=list)  # changes that start a bill (deploy/costs.py)

    def __post_init__(self) -> None:
        # plan.json is read back with plain strings: they become the enums here, or fail as a bad plan.
        self.action = PlanAction(self.action)
        if self.recovery is not None:
            self.recovery = Recovery(self.recovery)


@dataclass
class Plan:
    revision: str
    created_at: str
    target: str
    region: str
    stacks: list[StackPlan]
    run_id: str = ""
    recorded: bool = False
    env: str | None = None  # when set, the plan covers this environment (and the console) only

    def get(self, name: str) -> StackPlan | None:
        return next((s for s in self.stacks if s.name == name), None)

    def count(self, action: PlanAction) -> int:
        return sum(1 for s in self.stacks if s.action == action)

    def summary(self) -> str:
        """Counts per base action; stacks whose change set apply makes are counted in, and said so.

        Stacks whose file is gone are not "to delete": apply leaves them, `pipectl prune` deletes them.
        """

        def of(base: PlanAction, verb: str) -> str:
            later = self.count(base.after())
            return f"{self.count(base) + later} {verb}" + (f" ({later} after their dependencies)" if later else "")

        text = f"{of(PlanAction.CREATE, 'to create')}, {of(PlanAction.UPDATE, 'to update')}, "
        text += f"{self.count(PlanAction.NONE)} unchanged"
        gone = self.count(PlanAction.DELETE)  # apply never deletes a stack: prune does
        text += f", {gone} with their file gone (pipectl prune deletes them)" if gone else ""
        errors = self.count(PlanAction.ERROR)
        return text + (f", {errors} could not be planned" if errors else "")

    @property
    def has_changes(self) -> bool:
        return any(s.action in CHANGING for s in self.stacks)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Plan:
        data = json.loads(text)
        stacks = [
            StackPlan(**{**s, "changes": [ResourceChange.from_dict(c) for c in s.get("changes", [])]})
            for s in data.pop("stacks")
        ]
        return cls(**data, stacks=stacks)


class ApplyOutcome(StrEnum):
    """What became of one stack in an apply."""

    DONE = "done"
    UNCHANGED = "unchanged"
    FAILED = "failed"
    SKIPPED = "skipped"  # a dependency failed, so it was never started


@dataclass
class StackResult:
    """One stack's outcome; `events` are the FAILED stack events that explain a failure.

    `change_set` is the ARN of the change set executed (for a deferred stack, the one apply created).
    """

    name: str
    action: PlanAction
    result: ApplyOutcome
    detail: str = ""
    events: list[str] = field(default_factory=list)
    change_set: str = ""

    def __post_init__(self) -> None:
        self.action, self.result = PlanAction(self.action), ApplyOutcome(self.result)

    @property
    def ok(self) -> bool:
        return self.result in (ApplyOutcome.DONE, ApplyOutcome.UNCHANGED)


@dataclass
class ApplyResult:
    revision: str
    run_id: str
    stacks: dict[str, StackResult]
    recorded: bool = False

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.stacks.values())

    def count(self, result: ApplyOutcome) -> int:
        return sum(1 for r in self.stacks.values() if r.result == result)

    def summary(self) -> str:
        return apply_summary(self.stacks.values())


def apply_summary(stacks: Iterable[StackResult]) -> str:
    """`2 done, 3 unchanged, 0 failed, 0 skipped`: every outcome, in that order."""
    results = [s.result for s in stacks]
    return ", ".join(f"{results.count(outcome)} {outcome}" for outcome in ApplyOutcome)


class DriftStatus(StrEnum):
    """A stack's drift: CloudFormation's StackDriftStatus values, and pipectl's own for no answer."""

    IN_SYNC = "IN_SYNC"
    DRIFTED = "DRIFTED"
    UNKNOWN = "UNKNOWN"
    NOT_CHECKED = "NOT_CHECKED"
    NOT_DEPLOYED = "NOT_DEPLOYED"
    NOT_AVAILABLE = "NOT_AVAILABLE"  # the target has no drift detection (the local one): never a fake IN_SYNC
    FAILED = "FAILED"

    @property
    def detected(self) -> bool:
        """Drift detection actually ran and answered."""
        return self in (DriftStatus.IN_SYNC, DriftStatus.DRIFTED)


class ResourceDriftStatus(StrEnum):
    """The resource drift statuses drift asks CloudFormation for (it filters out IN_SYNC and NOT_CHECKED)."""

    MODIFIED = "MODIFIED"
    DELETED = "DELETED"


@dataclass
class ResourceDrift:
    resource: str
    type: str
    status: ResourceDriftStatus
    differences: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.status = ResourceDriftStatus(self.status)


@dataclass
class StackDrift:
    name: str
    status: DriftStatus
    resources: list[ResourceDrift] = field(default_factory=list)
    detail: str = ""

    def __post_init__(self) -> None:
        # A local check (drift's `local_check`) may answer in plain strings; an unknown one fails here.
        self.status = DriftStatus(self.status)
