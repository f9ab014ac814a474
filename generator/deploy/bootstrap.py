"""bootstrap, the deploy side: the template bucket in each region, then `build/bootstrap/manifest.json`.

generator/stacks/bootstrap.py writes the bootstrap, console and delivery stacks there; this reads
only that manifest, like every other controller command, on AWS or on the local target. The
bootstrap stack (`pipectl-bootstrap`, one per region) goes first and inline: every later template
over the inline limit, the delivery stack's included, is read from its bucket.
"""

from __future__ import annotations

from datetime import UTC, datetime

from generator.deploy import cfn
from generator.deploy.apply import ApplyOptions, apply_plan
from generator.deploy.aws import Aws
from generator.deploy.deployed import DeployedStack, read_one
from generator.deploy.errors import DeployError
from generator.deploy.manifest import BootstrapSpec, Manifest
from generator.deploy.plan import make_plan, write_plan
from generator.deploy.progress import NullProgress, Progress
from generator.deploy.results import ApplyResult, Plan
from generator.deploy.uploads import compact

DONE = frozenset({"CREATE_COMPLETE", "UPDATE_COMPLETE"})
FAILED_CREATE = frozenset({"ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "REVIEW_IN_PROGRESS"})


def deploy_bootstrap(
    aws: Aws,
    manifest: Manifest,
    revision: str,
    progress: Progress | None = None,
    options: ApplyOptions | None = None,
) -> tuple[Plan, ApplyResult]:
    """The bootstrap stack in every region, then plan and apply console and delivery with the controller.

    Other pipectl stacks are not this run's business. On the local target, a template holding a type
    the embedded AWS cannot create is refused first.
    """
    if aws.target.is_local:
        from generator.deploy.targets import check_materialisable

        check_materialisable(manifest)
    if manifest.bootstrap is not None:
        ensure_bootstrap(aws, manifest, revision, progress)
    opts = options or ApplyOptions()
    plan = make_plan(aws, manifest, revision, progress, opts.concurrency, opts.template_bucket)
    # Pipeline stacks are absent from this manifest by design: they are not orphans of bootstrap.
    plan.stacks = [s for s in plan.stacks if manifest.get(s.name) is not None]
    write_plan(plan, manifest, manifest.root)
    return plan, apply_plan(aws, manifest, plan, progress, opts)


def ensure_bootstrap(
    aws: Aws, manifest: Manifest, revision: str, progress: Progress | None = None, only_absent: bool = False
) -> list[str]:
    """Create (or update, unless `only_absent`) the bootstrap stack in each of its regions.

    Returns the regions where it was created or updated. Not a plan to review: the stack holds one
    retained bucket, and nothing else can be deployed before it exists.
    """
    spec = manifest.bootstrap
    if spec is None:
        return []
    out = progress or NullProgress()
    changed = []
    for region in spec.regions:
        live = read_one(aws, spec.name, region)
        if live is not None and (only_absent or live.in_sync(spec.hash)):
            continue
        if _deploy_one(aws, manifest, spec, region, live, revision, out):
            changed.append(region)
    return changed


def _deploy_one(
    aws: Aws,
    manifest: Manifest,
    spec: BootstrapSpec,
    region: str,
    live: DeployedStack | None,
    revision: str,
    out: Progress,
) -> bool:
    stack = spec.stack(region)
    if live is not None and live.status in FAILED_CREATE:
        # A create that failed holds nothing (the bucket is retained outside the stack): start again.
        out.note(spec.name, f"{region}: {live.status} from an earlier run: deleting it, then creating it again")
        cfn.delete_and_wait(aws, live)
        live = None
    started = datetime.now(UTC)
    body = compact((manifest.root / spec.template).read_text(encoding="utf-8")).decode()
    out.start(spec.name, "create" if live is None else "update")
    made = cfn.create_change_set(
        aws, stack, {"TemplateBody": body}, cfn.change_set_name(revision), create=live is None, revision=revision
    )
    if made.empty:
        out.finish(spec.name, "unchanged", region)
        return False
    aws.cfn(region).execute_change_set(ChangeSetName=made.id, StackName=spec.name)
    final = cfn.wait_settled(aws, region, made.stack_id, f"{spec.name} in {region}")
    if final is None or final.status not in DONE:
        events = cfn.failure_events(aws, final, region, spec.name, started)
        status = f"{final.status}: {final.reason}" if final else "deleted"
        out.finish(spec.name, "failed", status)
        raise DeployError(f"{spec.name} in {region} failed ({status})" + "".join(f"\n  {e}" for e in events))
    out.finish(spec.name, "done", f"{region} {final.status}")
    return True
