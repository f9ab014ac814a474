"""bootstrap, the deploy side: plan and apply `build/bootstrap/manifest.json` through the controller.

generator/stacks/bootstrap.py writes the console and delivery stacks there; this reads only that
manifest, like every other controller command, on AWS or on the local target.
"""

from __future__ import annotations

from generator.deploy.apply import ApplyOptions, ApplyResult, apply_plan
from generator.deploy.aws import Aws
from generator.deploy.manifest import Manifest
from generator.deploy.plan import Plan, make_plan, write_plan
from generator.deploy.progress import Progress


def deploy_bootstrap(
    aws: Aws,
    manifest: Manifest,
    revision: str,
    progress: Progress | None = None,
    options: ApplyOptions | None = None,
) -> tuple[Plan, ApplyResult]:
    """Plan and apply the two stacks with the controller; other pipectl stacks are not this run's business.

    On the local target, a template holding a type the embedded AWS cannot create is refused first, and
    the console's Lambda code goes to a local asset bucket.
    """
    if aws.target.is_local:
        from generator.deploy.assets import local_asset_buckets
        from generator.deploy.targets import check_materialisable

        check_materialisable(manifest)
        manifest, _ = local_asset_buckets(aws, manifest)
    plan = make_plan(aws, manifest, revision, progress)
    # Pipeline stacks are absent from this manifest by design: they are not orphans of bootstrap.
    plan.stacks = [s for s in plan.stacks if manifest.get(s.name) is not None]
    write_plan(plan, manifest, manifest.root)
    return plan, apply_plan(aws, manifest, plan, progress, options)
