"""Synth: validated specs -> `build/` (one JSON template per stack) and `build/manifest.json`.

The manifest is the only thing the controller reads. Output is byte-identical for identical
input, and files whose bytes did not change are not rewritten. Lambda code goes to `build/assets/`
as content-addressed zips; each manifest entry lists the assets its template references.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from troposphere import Template

from generator.contract import ASSETS_DIR, BOOTSTRAP_STACK
from generator.spec.loader import Installation, Pipeline
from generator.stacks.assets import Asset, template_assets
from generator.stacks.common import CONSOLE_STACK, DEPENDS_ON, KINDS, stack_name
from generator.stacks.console import build_console
from generator.stacks.ingestion import build_ingestion
from generator.stacks.monitoring import build_monitoring
from generator.stacks.processing import build_processing
from generator.stacks.storage import build_storage
from generator.stacks.template_bucket import KIND as BOOTSTRAP_KIND
from generator.stacks.template_bucket import TemplateBucketSpec, build_template_bucket

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1
BUILDERS: dict[str, Callable[[Pipeline], Template]] = {
    "storage": build_storage,
    "ingestion": build_ingestion,
    "processing": build_processing,
    "monitoring": build_monitoring,
}
# Resource types that hold data or identities: a plan that replaces or deletes one is flagged.
STATEFUL_TYPES = frozenset(
    {
        "AWS::S3::Bucket",
        "AWS::DynamoDB::Table",
        "AWS::Kinesis::Stream",
        "AWS::KMS::Key",
        "AWS::Logs::LogGroup",
        "AWS::Cognito::UserPool",
        "AWS::CodeCommit::Repository",
    }
)
# Stacks whose loss would lose data get termination protection.
PROTECTED_KINDS = frozenset({"console", "storage", "delivery"})
KEPT = {MANIFEST, ".lint-cache", "pipeline.schema.json", "bootstrap", ASSETS_DIR}
BOOTSTRAP_TEMPLATE = "bootstrap.json"
BOOTSTRAP_TAGS = {"pipectl:kind": BOOTSTRAP_KIND, "pipectl:managed-by": "pipectl"}


@dataclass(frozen=True)
class StackBuild:
    """One synthesized stack: its manifest entry, the JSON text of its template and the assets it uses."""

    entry: dict[str, Any]
    text: str
    assets: tuple[Asset, ...] = field(default=())


def serialize(body: dict[str, Any]) -> str:
    """The one serialization used for every template (and by the synth benchmark's baseline)."""
    return json.dumps(body, indent=2, sort_keys=True) + "\n"


def stack_build(
    name: str,
    kind: str,
    template: Template,
    path: str,
    region: str,
    depends_on: list[str],
    tags: dict[str, str],
    pipeline: Pipeline | None,
    retain: bool,
) -> StackBuild:
    body = template.to_dict()
    assets = template_assets(template)
    # Who the template belongs to and what its pipeline file says about data, for reviewers and for
    # the project's policy rules, which see only the template.
    body["Metadata"] = {
        **body.get("Metadata", {}),
        "pipectl": {"stack": name, "kind": kind, "deletion": "retain" if retain else "delete"},
    }
    text = serialize(body)
    parameters = {
        key: str(param["Default"]) for key, param in sorted(body.get("Parameters", {}).items()) if "Default" in param
    }
    digest = hashlib.sha256(text.encode())
    digest.update(json.dumps({"parameters": parameters, "tags": tags}, sort_keys=True).encode())
    spec_hash = digest.hexdigest()
    stateful = sorted(
        logical
        for logical, resource in body.get("Resources", {}).items()
        if resource.get("Type") in STATEFUL_TYPES
        and not (resource.get("Metadata") or {}).get("pipectl", {}).get("telemetry")
    )
    entry = {
        "name": name,
        "kind": kind,
        "pipeline": pipeline.name if pipeline else None,
        "env": pipeline.env if pipeline else None,
        "region": region,
        "template": path,
        "assets": [asset.path for asset in assets],
        "depends_on": depends_on,
        "parameters": parameters,
        "tags": {**tags, "pipectl:spec-hash": spec_hash},
        "hash": spec_hash,
        "stateful": stateful,
        "retain": retain,
        "termination_protection": kind in PROTECTED_KINDS and retain,
        "stack_policy": stack_policy(stateful) if retain and stateful else None,
    }
    return StackBuild(entry, text, assets)


def stack_policy(stateful: list[str]) -> str:
    """Everything may be updated, but retained data may not be replaced or deleted by an update.

    Applied by the controller after each deploy; `pipectl apply --allow-replace ID` lifts it for one
    resource for one run.
    """
    policy = {
        "Statement": [
            {"Effect": "Allow", "Action": "Update:*", "Principal": "*", "Resource": "*"},
            {
                "Effect": "Deny",
                "Action": ["Update:Replace", "Update:Delete"],
                "Principal": "*",
                "Resource": [f"LogicalResourceId/{logical}" for logical in stateful],
            },
        ]
    }
    return json.dumps(policy, sort_keys=True)


def console_region(installation: Installation) -> str:
    """The console lives in `_console.yaml`'s region, else where most pipelines are."""
    if installation.console.region:
        return installation.console.region
    counts = Counter(p.spec.region for p in installation.pipelines)
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[0][0] if counts else "us-east-1"


def build_all(installation: Installation) -> list[StackBuild]:
    """Every stack of the installation, console first, then pipelines and environments in name order."""
    builds = [
        stack_build(
            CONSOLE_STACK,
            "console",
            build_console(installation.console),
            "console.json",
            console_region(installation),
            [],
            {"pipectl:kind": "console", "pipectl:managed-by": "pipectl"},
            None,
            True,
        )
    ]
    for pipeline in sorted(installation.pipelines, key=lambda p: (p.name, p.env)):
        base_tags = {
            "pipectl:pipeline": pipeline.name,
            "pipectl:env": pipeline.env,
            "pipectl:owner": pipeline.spec.owner,
            "pipectl:managed-by": "pipectl",
        }
        for kind in KINDS:
            builds.append(
                stack_build(
                    stack_name(pipeline, kind),
                    kind,
                    BUILDERS[kind](pipeline),
                    f"{pipeline.name}/{pipeline.env}/{kind}.json",
                    pipeline.spec.region,
                    [stack_name(pipeline, dep) for dep in DEPENDS_ON[kind]],
                    {**base_tags, "pipectl:kind": kind},
                    pipeline,
                    pipeline.spec.retain,
                )
            )
    return builds


def bootstrap_build(regions: list[str]) -> StackBuild:
    """`pipectl-bootstrap`, one template deployed in each region the stacks use, before any of them.

    Its manifest entry is the manifest's `bootstrap` section, not a stack: the same stack name exists
    once per region, and deploys cannot start without it.
    """
    regions = sorted(set(regions))
    built = stack_build(
        BOOTSTRAP_STACK,
        BOOTSTRAP_KIND,
        build_template_bucket(TemplateBucketSpec()),
        BOOTSTRAP_TEMPLATE,
        regions[0],
        [],
        dict(BOOTSTRAP_TAGS),
        None,
        True,
    )
    keys = ("name", "kind", "template", "hash", "tags")
    return StackBuild({**{k: built.entry[k] for k in keys}, "regions": regions}, built.text)


def manifest_text(builds: list[StackBuild], bootstrap: StackBuild | None = None) -> str:
    manifest: dict[str, Any] = {"version": MANIFEST_VERSION, "stacks": [b.entry for b in builds]}
    if bootstrap is not None:
        manifest["bootstrap"] = bootstrap.entry
    return json.dumps(manifest, indent=2, sort_keys=True) + "\n"


def write_assets(directory: Path, builds: list[StackBuild] | tuple[StackBuild, ...]) -> None:
    """Write each referenced asset under `<directory>/assets/` and drop zips no stack references any more.

    A zip already there is rewritten only if its bytes differ (a name promises its content).
    """
    wanted = {asset.path: asset for build in builds for asset in build.assets}
    folder = directory / ASSETS_DIR
    for relative, asset in sorted(wanted.items()):
        path = directory / relative
        if path.is_file() and path.read_bytes() == asset.data:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.partial")
        partial.write_bytes(asset.data)
        partial.replace(path)
    if folder.is_dir():
        for stale in folder.glob("*.zip"):
            if f"{ASSETS_DIR}/{stale.name}" not in wanted:
                stale.unlink()
        for partial in folder.glob(".*.zip.partial"):  # left by an interrupted write
            partial.unlink()
        if not any(folder.iterdir()):
            folder.rmdir()


def write_build(build_dir: Path, builds: list[StackBuild], bootstrap: StackBuild | None = None) -> list[Path]:
    """Write templates, assets and the manifest; drop templates and assets of stacks that no longer exist."""
    build_dir.mkdir(parents=True, exist_ok=True)
    write_assets(build_dir, builds)
    wanted = {build_dir / b.entry["template"]: b.text for b in [*builds, *([bootstrap] if bootstrap else [])]}
    written: list[Path] = []
    for path, text in wanted.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
        written.append(path)
    for child in build_dir.iterdir():
        if child.name in KEPT or child.name.startswith("plan"):
            continue
        if child.is_dir():
            for stale in child.rglob("*.json"):
                if stale not in wanted:
                    stale.unlink()
            for folder in sorted((p for p in child.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
                if not any(folder.iterdir()):
                    folder.rmdir()
            if not any(child.iterdir()):
                shutil.rmtree(child)
        elif child.suffix == ".json" and child not in wanted:
            child.unlink()
    manifest = build_dir / MANIFEST
    text = manifest_text(builds, bootstrap)
    if not manifest.exists() or manifest.read_text() != text:
        manifest.write_text(text)
    return written


def synthesize(installation: Installation, build_dir: Path) -> list[StackBuild]:
    """Every stack, and the bootstrap stack for every region they use (which `pipectl up` may create)."""
    builds = build_all(installation)
    write_build(build_dir, builds, bootstrap_build([b.entry["region"] for b in builds]))
    return builds
