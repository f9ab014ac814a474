"""The resource types pipectl emits, found by synthesizing rather than listed by hand.

The shipped examples and both bootstrap stacks are synthesized, each bootstrap source (CodeCommit,
a CodeStar connection) and sign-in (Cognito, OpenID Connect), every example once more with the
options the examples leave off (an alias record in a hosted zone), and the first example with each
registered sink type (its `sample` settings), so each branch of the stack builders is seen. The
execution permissions table is generated for exactly these types.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from generator.contract import BOOTSTRAP_STACK
from generator.spec.loader import Pipeline, load_directory
from generator.stacks.bootstrap import BootstrapRequest, synthesize_bootstrap
from generator.stacks.sinks import REGISTRY
from generator.stacks.sinks.base import SinkType
from generator.stacks.synth import StackBuild, bootstrap_build, build_all

# Bootstrap options that change which resources the control plane holds.
BOOTSTRAP_VARIANTS = (
    BootstrapRequest(codecommit="pipectl-config", approvers=("approver@example.com",)),
    BootstrapRequest(
        connection_arn="arn:aws:codeconnections:eu-west-1:123456789012:connection/12345678-1234-4234-8234-123456789012",
        repository="example/pipelines",
        auth="oidc",
        issuer="https://id.example.com",
        client_id="pipectl",
        no_approvers=True,
    ),
)
EXAMPLE_HOSTED_ZONE = "Z0123456789EXAMPLE"


def types_of(builds: Iterable[StackBuild]) -> set[str]:
    """Every resource type in the synthesized templates."""
    found: set[str] = set()
    for build in builds:
        resources = json.loads(build.text).get("Resources") or {}
        found |= {str(body["Type"]) for body in resources.values()}
    return found


def _with_options(pipeline: Pipeline) -> Pipeline:
    """The pipeline with the optional resources its file leaves off turned on."""
    spec = pipeline.spec
    domain = spec.ingestion.domain.model_copy(update={"hosted_zone_id": EXAMPLE_HOSTED_ZONE})
    ingestion = spec.ingestion.model_copy(update={"domain": domain})
    return replace(pipeline, spec=spec.model_copy(update={"ingestion": ingestion}))


def _with_sink(pipeline: Pipeline, sink: SinkType[Any]) -> Pipeline:
    """The pipeline with its sink replaced by `sink`'s sample settings."""
    spec = pipeline.spec
    ingestion = spec.ingestion.model_copy(update={"sink": sink.model.model_validate(sink.sample)})
    return replace(pipeline, spec=spec.model_copy(update={"ingestion": ingestion}))


def synthesized(pipelines_dir: Path) -> list[StackBuild]:
    """Every stack of the examples in `pipelines_dir` (as given, with options on, with each sink type)
    and of bootstrap."""
    installation = load_directory(pipelines_dir, str(pipelines_dir))
    optioned = replace(installation, pipelines=tuple(_with_options(p) for p in installation.pipelines))
    builds = [*build_all(installation), *build_all(optioned)]
    for sink in REGISTRY.values():
        first = tuple(_with_sink(p, sink) for p in installation.pipelines[:1])
        builds.extend(build_all(replace(installation, pipelines=first)))
    with tempfile.TemporaryDirectory() as scratch:
        for request in BOOTSTRAP_VARIANTS:
            builds.extend(synthesize_bootstrap(pipelines_dir, Path(scratch), request).builds)
    return builds


def scanned_templates(pipelines_dir: Path) -> dict[str, str]:
    """Every distinct template of `synthesized` and the bootstrap bucket's, by a file name that says
    which stack it is: what scripts/scan hands the IaC scanner and the scanner-contract test reads."""
    builds = synthesized(pipelines_dir)
    regions = sorted({build.entry.region for build in builds})
    texts = [(build.entry.name, build.text) for build in builds]
    texts.append((BOOTSTRAP_STACK, bootstrap_build(regions).text))
    named: dict[str, str] = {}
    seen: set[str] = set()
    for stack, text in texts:
        if text in seen:
            continue
        seen.add(text)
        count = sum(1 for name in named if name.startswith(f"{stack}."))
        named[f"{stack}.{count + 1}.json"] = text
    return named


def emitted_types(pipelines_dir: Path) -> set[str]:
    """Types emitted by the examples in `pipelines_dir` (as given and with options on) and by bootstrap."""
    return types_of(synthesized(pipelines_dir))


def features_of(builds: Iterable[StackBuild], markers: Iterable[str]) -> set[str]:
    """Which of `markers` (template features such as `{{resolve:secretsmanager:`) the templates use."""
    texts = [build.text for build in builds]
    return {marker for marker in markers if any(marker in text for text in texts)}
