"""Synth: validated specs -> `build/` (one JSON template per stack) and `build/manifest.json`.

The manifest is the only thing the controller reads. Output is byte-identical for identical
input, and files whose bytes did not change are not rewritten. Lambda code goes to `build/assets/`
as content-addressed zips; each manifest entry lists the assets its template references. The work is
split in units (the console, and each pipeline in each environment): an unchanged unit is taken from
the synth cache (`generator.stacks.cache`), the others are built, in worker processes when there are
enough of them (`generator.stacks.parallel`).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from generator.contract import ASSETS_DIR, BOOTSTRAP_STACK, CONSOLE_STACK
from generator.spec.loader import Installation, Pipeline
from generator.stacks import cache, sources
from generator.stacks.asset_data import Asset

if TYPE_CHECKING:
    from troposphere import Template

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1
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
KEPT = {MANIFEST, ".lint-cache", cache.CACHE_DIR, "pipeline.schema.json", "bootstrap", ASSETS_DIR}
BOOTSTRAP_TEMPLATE = "bootstrap.json"
BOOTSTRAP_UNIT = "bootstrap"
"""The synth cache entry of the bootstrap template (pipeline units are `<pipeline>/<env>`)."""


@dataclass(frozen=True)
class StackBuild:
    """One synthesized stack: its manifest entry, the JSON text of its template and the assets it uses."""

    entry: dict[str, Any]
    text: str
    assets: tuple[Asset, ...] = field(default=())


def to_record(build: StackBuild) -> dict[str, Any]:
    """A StackBuild as the synth cache stores it: plain data, asset bytes included."""
    assets = [{"source": str(asset.source), "data": asset.data} for asset in build.assets]
    return {"entry": build.entry, "text": build.text, "assets": assets}


def from_record(record: dict[str, Any]) -> StackBuild:
    """A StackBuild read back from the synth cache; its assets must be the ones its entry names.

    An asset's name is the sha256 of its bytes, so damaged bytes give another name and are refused.
    """
    assets = tuple(Asset(Path(item["source"]), item["data"]) for item in record["assets"])
    if [asset.path for asset in assets] != record["entry"].get("assets", []):
        raise ValueError(f"cached assets of {record['entry']['name']} differ from its manifest entry")
    return StackBuild(record["entry"], record["text"], assets)


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
    from generator.policy.boundary import with_boundary
    from generator.stacks.assets import template_assets
    from generator.stacks.encode import template_data

    body = with_boundary(template_data(template), kind)
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


@dataclass(frozen=True)
class Unit:
    """What one cache entry covers and one worker builds: the console, or one pipeline in one environment."""

    id: str  # "console" or "<pipeline>/<env>"
    pipeline: Pipeline | None
    installation: Installation
    region: str

    def key(self, fingerprint: str) -> str:
        """sha256 of everything the unit's output depends on: the generator's fingerprint and the spec.

        The pipeline's validated spec is the merged file (`_defaults.yaml`, the file, its environment's
        overrides) in canonical form; builders see nothing else.
        """
        if self.pipeline is None:
            spec = self.installation.console.model_dump_json()
            material = ["console", self.region, spec]
        else:
            p = self.pipeline
            material = ["pipeline", p.name, p.env, p.source, p.spec.model_dump_json()]
        return hashlib.sha256("\0".join([fingerprint, *material]).encode()).hexdigest()


def units(installation: Installation) -> list[Unit]:
    """Console first, then pipelines and environments in name order: the order of the manifest."""
    region = console_region(installation)
    out = [Unit("console", None, installation, region)]
    for pipeline in sorted(installation.pipelines, key=lambda p: (p.name, p.env)):
        out.append(Unit(f"{pipeline.name}/{pipeline.env}", pipeline, installation, pipeline.spec.region))
    return out


def import_builders() -> dict[str, Callable[[Pipeline], Template]]:
    """The stack builders, imported on first use: a run that finds every unit cached never loads troposphere."""
    from generator.stacks.ingestion import build_ingestion
    from generator.stacks.monitoring import build_monitoring
    from generator.stacks.processing import build_processing
    from generator.stacks.storage import build_storage

    return {
        "storage": build_storage,
        "ingestion": build_ingestion,
        "processing": build_processing,
        "monitoring": build_monitoring,
    }


def build_unit(unit: Unit) -> list[StackBuild]:
    if unit.pipeline is None:
        from generator.stacks.console import build_console

        tags = {"pipectl:kind": "console", "pipectl:managed-by": "pipectl"}
        template = build_console(unit.installation.console)
        return [stack_build(CONSOLE_STACK, "console", template, "console.json", unit.region, [], tags, None, True)]
    from generator.stacks.common import DEPENDS_ON, KINDS, stack_name

    pipeline, builders = unit.pipeline, import_builders()
    base_tags = {
        "pipectl:pipeline": pipeline.name,
        "pipectl:env": pipeline.env,
        "pipectl:owner": pipeline.spec.owner,
        "pipectl:managed-by": "pipectl",
    }
    return [
        stack_build(
            stack_name(pipeline, kind),
            kind,
            builders[kind](pipeline),
            f"{pipeline.name}/{pipeline.env}/{kind}.json",
            pipeline.spec.region,
            [stack_name(pipeline, dep) for dep in DEPENDS_ON[kind]],
            {**base_tags, "pipectl:kind": kind},
            pipeline,
            pipeline.spec.retain,
        )
        for kind in KINDS
    ]


def build_all(installation: Installation) -> list[StackBuild]:
    """Every stack of the installation, console first, then pipelines and environments in name order."""
    return [build for unit in units(installation) for build in build_unit(unit)]


def bootstrap_build(regions: list[str]) -> StackBuild:
    """`pipectl-bootstrap`, one template deployed in each region the stacks use, before any of them.

    Its manifest entry is the manifest's `bootstrap` section, not a stack: the same stack name exists
    once per region, and deploys cannot start without it.
    """
    from generator.stacks.template_bucket import KIND, TemplateBucketSpec, build_template_bucket

    regions = sorted(set(regions))
    built = stack_build(
        BOOTSTRAP_STACK,
        KIND,
        build_template_bucket(TemplateBucketSpec()),
        BOOTSTRAP_TEMPLATE,
        regions[0],
        [],
        {"pipectl:kind": KIND, "pipectl:managed-by": "pipectl"},
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

    A zip already there is rewritten only if its bytes differ (a name promises its content), so a zip
    deleted or damaged after synth is written again, also when its stack came from the synth cache.
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


def write_build(
    build_dir: Path,
    builds: list[StackBuild],
    bootstrap: StackBuild | None = None,
    verified: set[str] | None = None,
) -> list[Path]:
    """Write templates, assets and the manifest; drop templates and assets of stacks that no longer exist.

    `verified` names templates (relative paths) just read back and found identical: not read again.
    """
    build_dir.mkdir(parents=True, exist_ok=True)
    write_assets(build_dir, builds)
    wanted = {build_dir / b.entry["template"]: b.text for b in [*builds, *([bootstrap] if bootstrap else [])]}
    skip = {build_dir / rel for rel in verified or ()}
    written: list[Path] = []
    for path, text in wanted.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if path not in skip and (not path.exists() or path.read_text() != text):
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


def synthesize(
    installation: Installation,
    build_dir: Path,
    use_cache: bool = True,
    workers: int | None = None,
    report: cache.CacheReport | None = None,
) -> list[StackBuild]:
    """Every stack, and the bootstrap stack for every region they use (which `pipectl up` may create).

    Cached units are reused when intact, the rest built (in parallel when it pays). `use_cache=False`
    ignores existing entries (and writes fresh ones); the output is the same bytes.
    """
    from generator.stacks.parallel import build_units

    report = report if report is not None else cache.CacheReport()
    todo = units(installation)
    fingerprint = sources.fingerprint()
    keys = {unit.id: unit.key(fingerprint) for unit in todo}
    regions = sorted({unit.region for unit in todo})
    keys[BOOTSTRAP_UNIT] = hashlib.sha256("\0".join([fingerprint, BOOTSTRAP_UNIT, *regions]).encode()).hexdigest()
    done: dict[str, list[StackBuild]] = {}
    if use_cache:
        for unit_id in [unit.id for unit in todo] + [BOOTSTRAP_UNIT]:
            records = cache.load(build_dir, unit_id, keys[unit_id], report)
            if records is None:
                continue
            try:
                done[unit_id] = [from_record(record) for record in records]
            except (KeyError, TypeError, ValueError) as exc:
                cache.entry_path(build_dir, unit_id).unlink(missing_ok=True)
                report.notes.append(f"{cache.entry_path(build_dir, unit_id)}: {exc}; discarded, {unit_id} rebuilt")
                continue
            report.reused.append(unit_id)
    missing = [unit for unit in todo if unit.id not in done]
    for unit, built in zip(missing, build_units(missing, workers), strict=True):
        done[unit.id] = built
        report.rebuilt.append(unit.id)
    fresh = [unit.id for unit in missing]
    if BOOTSTRAP_UNIT not in done:
        done[BOOTSTRAP_UNIT] = [bootstrap_build(regions)]
        report.rebuilt.append(BOOTSTRAP_UNIT)
        fresh.append(BOOTSTRAP_UNIT)
    builds = [build for unit in todo for build in done[unit.id]]
    verified = {build.entry["template"] for unit_id in report.reused for build in done[unit_id]}
    write_build(build_dir, builds, done[BOOTSTRAP_UNIT][0], verified)
    for unit_id in fresh:
        cache.store(build_dir, unit_id, keys[unit_id], [to_record(build) for build in done[unit_id]])
    cache.prune(build_dir, set(keys))
    return builds
