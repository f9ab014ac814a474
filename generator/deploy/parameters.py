"""Every template parameter has a value before a change set is made: CloudFormation would refuse it anyway.

A parameter gets its value from its default in the template or from the manifest's parameters. The one
that is expected to be missing is the collector image of a manifest synthesized without the image the
delivery pipeline built (`pipectl validate`, a laptop's `pipectl synth`): refused here, with what to do,
instead of a change set error per stack. The local target stands in an image before this check.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from generator.contract import ASSET_BUCKET_PARAMETER, COLLECTOR_IMAGE_PARAMETER
from generator.deploy.errors import ManifestError
from generator.deploy.manifest import Manifest, StackSpec

HOW = {
    COLLECTOR_IMAGE_PARAMETER: "the collector image the delivery pipeline built (`--collector-image "
    "REPOSITORY@sha256:DIGEST`, or the image build's image.json), or ingestion.image in the pipeline file",
}


class UnsetParameter(ManifestError):
    """A template parameter has neither a default nor a value in the manifest."""


def unset_parameters(manifest: Manifest, stack: StackSpec) -> list[str]:
    declared = json.loads(manifest.template_body(stack)).get("Parameters") or {}
    filled = {ASSET_BUCKET_PARAMETER, *stack.parameters}  # the controller names the asset bucket itself
    return sorted(name for name, p in declared.items() if "Default" not in p and name not in filled)


def check_parameters(manifest: Manifest, stacks: Iterable[StackSpec]) -> None:
    """Refuse, naming each stack and parameter, a manifest that cannot be deployed as it is."""
    problems = [
        f"{stack.name}: parameter {name}: expected {HOW.get(name, 'a value')}, found none"
        for stack in stacks
        for name in unset_parameters(manifest, stack)
    ]
    if problems:
        raise UnsetParameter("nothing was planned:\n  " + "\n  ".join(problems))
