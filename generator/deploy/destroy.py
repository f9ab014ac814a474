"""destroy: delete one pipeline's stacks (optionally one environment), dependents first.

The same data rules as prune: nothing is deleted without `yes`, retained data stays, and a
pipeline synthesised with deletion: delete needs `delete_data`.
"""

from __future__ import annotations

from generator.contract import Tag
from generator.deploy.aws import Aws
from generator.deploy.deployed import read_deployed
from generator.deploy.errors import DeployError
from generator.deploy.manifest import Manifest
from generator.deploy.progress import Progress
from generator.deploy.teardown import RemovalOptions, RemovalResult, remove


def destroy(
    aws: Aws,
    manifest: Manifest,
    pipeline: str,
    env: str | None = None,
    options: RemovalOptions | None = None,
    progress: Progress | None = None,
) -> RemovalResult:
    """Stacks of `pipeline` (tagged, or named by the manifest) that are deployed, in `env` if given."""
    deployed = read_deployed(aws, tuple(sorted({*manifest.regions, aws.target.region})))
    named = {s.name for s in manifest.stacks if s.pipeline == pipeline and (env is None or s.env == env)}
    stacks = sorted(
        (
            s
            for s in deployed.values()
            if s.name in named or (s.pipeline == pipeline and (env is None or s.tags.get(Tag.ENV) == env))
        ),
        key=lambda s: s.name,
    )
    if not stacks:
        where = f"{pipeline}/{env}" if env else pipeline
        raise DeployError(f"no deployed stacks of pipeline {where}")
    return remove(aws, manifest, stacks, "destroy", options or RemovalOptions(), progress)
