"""prune: stacks tagged as pipectl's whose pipeline (or environment, or kind) left the manifest.

Lists them; deletes them only with `yes`, never deleting data unless `delete_data` (see teardown).
"""

from __future__ import annotations

from generator.deploy.aws import Aws
from generator.deploy.deployed import DeployedStack, read_deployed
from generator.deploy.manifest import Manifest
from generator.deploy.progress import Progress
from generator.deploy.teardown import RemovalOptions, RemovalResult, remove


def orphans(aws: Aws, manifest: Manifest) -> list[DeployedStack]:
    """Deployed stacks with a pipectl:pipeline tag that the manifest does not name."""
    deployed = read_deployed(aws, tuple(sorted({*manifest.regions, aws.target.region})))
    return sorted((s for s in deployed.values() if s.pipeline and manifest.get(s.name) is None), key=lambda s: s.name)


def prune(
    aws: Aws, manifest: Manifest, options: RemovalOptions | None = None, progress: Progress | None = None
) -> RemovalResult:
    return remove(aws, manifest, orphans(aws, manifest), "prune", options or RemovalOptions(), progress)
