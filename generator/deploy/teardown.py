"""Deleting stacks without losing data: shared by prune and destroy.

A stack is deleted only when asked (`yes`), in reverse dependency order, and never when that
would delete data (a stateful resource without a Retain policy, or a stack synthesised with
deletion: delete) unless `delete_data`, nor when termination protection is on unless
`disable_protection`. Retained resources outlive their stack, and are listed so nobody is surprised.
The order comes from the deployed templates themselves: a stack goes before the stacks whose exports
it imports, whether or not the manifest still names it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from generator.contract import CONTROL_PIPELINE, STATEFUL_TYPES, Tag
from generator.dependencies import DependencyError, template_imports
from generator.deploy import cfn
from generator.deploy.aws import Aws, error_message
from generator.deploy.deployed import DeployedStack, read_deployed
from generator.deploy.emptying import empty_bucket, stack_buckets_to_empty
from generator.deploy.errors import DeployError
from generator.deploy.graph import reversed_graph, subgraph, walk
from generator.deploy.manifest import Manifest
from generator.deploy.progress import NullProgress, Progress
from generator.deploy.state import Lock, RunRecord, StateStore, find_state_table, new_run_id, now_iso

DELETE_DATA_FLAG = "--delete-data"
DISABLE_PROTECTION_FLAG = "--disable-protection"


class RemovalOutcome(StrEnum):
    """What became of one stack prune or destroy looked at."""

    LISTED = "listed"  # shown, not deleted: no --yes
    DELETED = "deleted"
    REFUSED = "refused"  # deleting it needs a flag (`needs`)
    FAILED = "failed"
    SKIPPED = "skipped"  # another stack of the set was refused, or a dependent was not deleted


@dataclass
class Removal:
    """One stack to delete: what stays (retained data), what would go, and what happened."""

    name: str
    pipeline: str | None
    env: str | None
    kind: str | None
    region: str
    status: str
    retained: list[str] = field(default_factory=list)
    data_deleted: list[str] = field(default_factory=list)
    protected: bool = False
    result: RemovalOutcome = RemovalOutcome.LISTED
    detail: str = ""
    needs: list[str] = field(default_factory=list)  # the flags that would lift a refusal


@dataclass
class RemovalResult:
    kind: str
    stacks: list[Removal]
    executed: bool
    held: bool = False  # deletion was asked for, and the pre-flight refused the whole set

    @property
    def ok(self) -> bool:
        return all(r.result in (RemovalOutcome.LISTED, RemovalOutcome.DELETED) for r in self.stacks)

    @property
    def needs(self) -> list[str]:
        """The flags that refused stacks need, each once, in a stable order."""
        return sorted({flag for r in self.stacks for flag in r.needs})


@dataclass(frozen=True)
class RemovalOptions:
    yes: bool = False
    delete_data: bool = False
    disable_protection: bool = False
    concurrency: int = 4
    lock_timeout: float = 600.0


def is_telemetry(resource: dict[str, Any]) -> bool:
    """The template marks resources that hold telemetry AWS rebuilds, not data: they may go with their stack."""
    metadata = resource.get("Metadata") or {}
    return isinstance(metadata, dict) and bool((metadata.get("pipectl") or {}).get("telemetry"))


def inspect(
    aws: Aws, manifest: Manifest, live: DeployedStack, options: RemovalOptions
) -> tuple[Removal, tuple[str, ...]]:
    """Read the deployed template: which stateful resources its deletion keeps, which it destroys, and the
    stacks whose exports it imports (they are deleted after it)."""
    spec = manifest.get(live.name)
    removal = Removal(
        live.name,
        live.pipeline,
        live.tags.get(Tag.ENV),
        live.tags.get(Tag.KIND),
        live.region,
        live.status,
        protected=live.termination_protection,
    )
    template = _template(aws, live)
    try:
        imports_from = tuple(sorted(set(template_imports(live.name, template).values())))
    except DependencyError as exc:
        raise DeployError(f"deployed template of {exc}; cannot tell what to delete first") from None
    stateful_ids = set(spec.stateful) if spec else set()
    for logical, resource in sorted((template.get("Resources") or {}).items()):
        if is_telemetry(resource):
            continue
        if resource.get("Type") in STATEFUL_TYPES or logical in stateful_ids:
            kept = resource.get("DeletionPolicy") in ("Retain", "RetainExceptOnCreate", "Snapshot")
            (removal.retained if kept else removal.data_deleted).append(f"{logical} ({resource.get('Type')})")
    refusals = []
    if removal.data_deleted and not options.delete_data:
        refusals.append(f"would delete data ({', '.join(removal.data_deleted)})")
    if spec is not None and not spec.retain and not options.delete_data:
        refusals.append("its pipeline says deletion: delete")
    if refusals:
        removal.needs.append(DELETE_DATA_FLAG)
    if removal.protected and not options.disable_protection:
        refusals.append("termination protection is on")
        removal.needs.append(DISABLE_PROTECTION_FLAG)
    if refusals:
        removal.result, removal.detail = RemovalOutcome.REFUSED, "; ".join(refusals)
    return removal, imports_from


def _template(aws: Aws, live: DeployedStack) -> dict[str, Any]:
    body = aws.cfn(live.region).get_template(StackName=live.stack_id, TemplateStage="Original").get("TemplateBody")
    if isinstance(body, dict):
        return body
    try:
        parsed = json.loads(body or "{}")
    except ValueError as exc:
        raise DeployError(f"{live.name}: deployed template is not JSON; cannot tell what deleting it keeps") from exc
    return parsed if isinstance(parsed, dict) else {}


def remove(
    aws: Aws,
    manifest: Manifest,
    stacks: list[DeployedStack],
    kind: str,
    options: RemovalOptions,
    progress: Progress | None = None,
) -> RemovalResult:
    """List (and with `yes`, delete) `stacks`, dependents first, under the deploy lock when there is one.

    Decided before anything is deleted: when one stack of the set is refused, none is deleted, so a
    pipeline never loses its alarms while its collectors keep running.
    """
    out = progress or NullProgress()
    inspected = {s.name: inspect(aws, manifest, s, options) for s in stacks}
    removals = {name: removal for name, (removal, _) in inspected.items()}
    imports_from = {name: imported for name, (_, imported) in inspected.items()}
    if not options.yes or not removals:
        return RemovalResult(kind, list(removals.values()), executed=False)
    refused = sorted(name for name, r in removals.items() if r.result == RemovalOutcome.REFUSED)
    if refused:
        for removal in removals.values():
            if removal.result != RemovalOutcome.REFUSED:
                removal.result, removal.detail = RemovalOutcome.SKIPPED, f"not deleted: {', '.join(refused)} refused"
        return RemovalResult(kind, list(removals.values()), executed=False, held=True)
    live = {s.name: s for s in stacks}
    deployed = read_deployed(aws, tuple(sorted({*manifest.regions, aws.target.region})))
    table = find_state_table(deployed)
    store = StateStore(aws, table) if table is not None else None
    run = RunRecord(
        new_run_id(),
        kind,
        "-",
        aws.actor(),
        now_iso(),
        pipelines={name: r.pipeline or CONTROL_PIPELINE for name, r in removals.items()},
    )
    lock = Lock(store, run.actor, run.run_id) if store is not None else None
    if lock is not None:
        lock.acquire(options.lock_timeout)
    try:
        graph = reversed_graph(subgraph(imports_from, set(live)))

        def work(name: str) -> Removal:
            return _delete(aws, live[name], removals[name], out)

        def skipped(name: str, cause: str) -> None:
            removals[name].result, removals[name].detail = RemovalOutcome.SKIPPED, f"{cause} was not deleted"

        walk(graph, work, lambda r: r.result == RemovalOutcome.DELETED, options.concurrency, skipped)
        if store is not None:
            run.stacks = {name: r.result for name, r in removals.items()}
            run.result = "succeeded" if all(r.result == RemovalOutcome.DELETED for r in removals.values()) else "failed"
            run.ended_at = now_iso()
            store.record_run(run)
    finally:
        if lock is not None:
            lock.release()
    return RemovalResult(kind, list(removals.values()), executed=True)


def _delete(aws: Aws, live: DeployedStack, removal: Removal, out: Progress) -> Removal:
    if removal.result == RemovalOutcome.REFUSED:
        out.finish(live.name, RemovalOutcome.REFUSED, removal.detail)
        return removal
    out.start(live.name, "delete")
    try:
        if removal.protected:
            out.note(live.name, "turning termination protection off, as asked")
            aws.cfn(live.region).update_termination_protection(
                StackName=live.stack_id, EnableTerminationProtection=False
            )
        if removal.data_deleted:
            _empty_buckets(aws, live, out)
        final = cfn.delete_and_wait(aws, live)
    except (DeployError, ClientError, BotoCoreError) as exc:
        removal.result, removal.detail = RemovalOutcome.FAILED, error_message(exc)
        out.finish(live.name, RemovalOutcome.FAILED, removal.detail)
        return removal
    if final is not None and final.status != "DELETE_COMPLETE":
        removal.result, removal.detail = RemovalOutcome.FAILED, f"{final.status}: {final.reason}"
    else:
        removal.result = RemovalOutcome.DELETED
        removal.detail = f"kept: {', '.join(removal.retained)}" if removal.retained else ""
    out.finish(live.name, removal.result, removal.detail)
    return removal


def _empty_buckets(aws: Aws, live: DeployedStack, out: Progress) -> None:
    """CloudFormation fails to delete a bucket that holds objects: empty the ones this deletion removes."""
    for bucket in stack_buckets_to_empty(aws, live.region, live.stack_id, _template(aws, live)):
        empty_bucket(aws, live.region, bucket, lambda line: out.note(live.name, line))
