"""status: per stack, what is deployed, whether it matches the manifest, and its useful outputs."""

from __future__ import annotations

from dataclasses import dataclass, field

from generator.contract import Tag
from generator.deploy.aws import Aws
from generator.deploy.deployed import read_deployed
from generator.deploy.manifest import Manifest

# Outputs a person looks for first; every output is still returned in `outputs`.
HEADLINE_OUTPUTS = ("CollectorEndpoint", "GraphQLUrl", "DashboardName", "StateTableName", "DataBucketName")


@dataclass
class StackStatus:
    name: str
    pipeline: str | None
    env: str | None
    kind: str
    status: str  # the CloudFormation status, or NOT_DEPLOYED
    last_updated: str | None
    in_sync: bool
    outputs: dict[str, str] = field(default_factory=dict)
    orphan: bool = False  # deployed and tagged as pipectl's, but no longer in the manifest

    @property
    def headline(self) -> dict[str, str]:
        return {k: self.outputs[k] for k in HEADLINE_OUTPUTS if k in self.outputs}


def status(aws: Aws, manifest: Manifest, pipeline: str | None = None) -> list[StackStatus]:
    """Manifest stacks in manifest order, then orphans; one batched describe_stacks per region."""
    deployed = read_deployed(aws, tuple(sorted({*manifest.regions, aws.target.region})))
    out: list[StackStatus] = []
    for spec in manifest.stacks:
        if pipeline is not None and spec.pipeline != pipeline:
            continue
        live = deployed.get(spec.name)
        out.append(
            StackStatus(
                spec.name,
                spec.pipeline,
                spec.env,
                spec.kind,
                live.status if live else "NOT_DEPLOYED",
                live.updated.isoformat() if live and live.updated else None,
                bool(live and live.in_sync(spec.hash)),
                dict(live.outputs) if live else {},
            )
        )
    for live in sorted(deployed.values(), key=lambda s: s.name):
        if live.pipeline and manifest.get(live.name) is None and pipeline in (None, live.pipeline):
            out.append(
                StackStatus(
                    live.name,
                    live.pipeline,
                    live.tags.get(Tag.ENV),
                    live.tags.get(Tag.KIND, "?"),
                    live.status,
                    live.updated.isoformat() if live.updated else None,
                    False,
                    dict(live.outputs),
                    True,
                )
            )
    return out
