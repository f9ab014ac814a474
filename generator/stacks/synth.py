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
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from generator.contract import (
    BOOTSTRAP_STACK,
    CONSOLE_STACK,
    MANAGED_BY,
    PIPELINE_KINDS,
    PROTECTED_KINDS,
    STATEFUL_TYPES,
    StackKind,
    Tag,
)
from generator.dependencies import check_imports, template_exports, template_imports
from generator.manifest_model import (
    BootstrapEntry,
    StackEntry,
    entry_data,
    entry_json,
)
from generator.spec.loader import Installation, Pipeline
from generator.stacks import cache, sources
from generator.stacks.asset_data import Asset
from generator.stacks.built import BucketBuild as BucketBuild
from generator.stacks.built import Built, EntryT
from generator.stacks.built import StackBuild as StackBuild
from generator.stacks.writing import MANIFEST as MANIFEST
from generator.stacks.writing import commit, write_build
from generator.stacks.writing import manifest_text as manifest_text
from generator.stacks.writing import write_assets as write_assets

if TYPE_CHECKING:
    from troposphere import Template

BOOTSTRAP_TEMPLATE = "bootstrap.json"
BOOTSTRAP_UNIT = "bootstrap"
"""The synth cache entry of the bootstrap template (pipeline units are `<pipeline>/<env>`)."""


def to_record(build: Built[Any]) -> dict[str, Any]:
    """A build as the synth cache stores it: plain data, asset bytes included."""
    assets = [{"source": str(asset.source), "data": asset.data} for asset in build.assets]
    return {"entry": entry_data(build.entry), "text": build.text, "assets": assets, "entry_json": build.entry_json}


def from_record(record: dict[str, Any], model: type[EntryT]) -> Built[EntryT]:
    """A build read back from the synth cache; its entry must validate and its assets be the ones it names.

    An asset's name is the sha256 of its bytes, so damaged bytes give another name and are refused.
    """
    entry = model.model_validate(record["entry"])
    assets = tuple(Asset(Path(item["source"]), item["data"]) for item in record["assets"])
    if [asset.path for asset in assets] != list(getattr(entry, "assets", ())):
        raise ValueError(f"cached assets of {entry.name} differ from its manifest entry")
    text = record.get("entry_json")
    if not isinstance(text, str):
        raise ValueError(f"cached entry of {entry.name} has no text")
    return Built(entry, record["text"], assets, text)


def serialize(body: dict[str, Any]) -> str:
    """The one serialization used for every template (and by the synth benchmark's baseline)."""
    return json.dumps(body, indent=2, sort_keys=True) + "\n"


def stack_build(
    name: str,
    kind: StackKind,
    template: Template,
    path: str,
    region: str,
    tags: dict[str, str],
    pipeline: Pipeline | None,
    retain: bool,
) -> StackBuild:
    """A stack's template text and manifest entry; its dependencies are the stacks its imports name."""
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
    imports = template_imports(name, body)
    entry = StackEntry(
        name=name,
        kind=kind,
        pipeline=pipeline.name if pipeline else None,
        env=pipeline.env if pipeline else None,
        account=None,
        region=region,
        template=path,
        assets=tuple(asset.path for asset in assets),
        imports=imports,
        exports=template_exports(name, body),
        depends_on=tuple(sorted(set(imports.values()))),
        parameters=parameters,
        tags={**tags, Tag.SPEC_HASH: spec_hash},
        hash=spec_hash,
        stateful=tuple(stateful),
        retain=retain,
        termination_protection=kind in PROTECTED_KINDS and retain,
        stack_policy=stack_policy(stateful) if retain and stateful else None,
    )
    return StackBuild(entry, text, assets, entry_json(entry))


def control_tags(kind: StackKind) -> dict[str, str]:
    """Tags of a stack that belongs to the installation, not to a pipeline."""
    return {Tag.KIND: kind, Tag.MANAGED_BY: MANAGED_BY}


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
    from generator.stacks import construct

    construct.install()
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
        from generator.stacks import construct
        from generator.stacks.console import build_console

        construct.install()

        tags = control_tags(StackKind.CONSOLE)
        template = build_console(unit.installation.console)
        return [stack_build(CONSOLE_STACK, StackKind.CONSOLE, template, "console.json", unit.region, tags, None, True)]
    from generator.stacks.common import stack_name

    pipeline, builders = unit.pipeline, import_builders()
    base_tags: dict[str, str] = {
        Tag.PIPELINE: pipeline.name,
        Tag.ENV: pipeline.env,
        Tag.OWNER: pipeline.spec.owner,
        Tag.MANAGED_BY: MANAGED_BY,
    }
    return [
        stack_build(
            stack_name(pipeline, kind),
            kind,
            builders[kind](pipeline),
            f"{pipeline.name}/{pipeline.env}/{kind}.json",
            pipeline.spec.region,
            {**base_tags, Tag.KIND: kind},
            pipeline,
            pipeline.spec.retain,
        )
        for kind in PIPELINE_KINDS
    ]


def build_all(installation: Installation) -> list[StackBuild]:
    """Every stack of the installation, console first, then pipelines and environments in name order."""
    return [build for unit in units(installation) for build in build_unit(unit)]


def bootstrap_build(regions: list[str]) -> BucketBuild:
    """`pipectl-bootstrap`, one template deployed in each region the stacks use, before any of them.

    Its manifest entry is the manifest's `bootstrap` section, not a stack: the same stack name exists
    once per region, and deploys cannot start without it.
    """
    from generator.stacks.template_bucket import TemplateBucketSpec, build_template_bucket

    regions = sorted(set(regions))
    built = stack_build(
        BOOTSTRAP_STACK,
        StackKind.BOOTSTRAP,
        build_template_bucket(TemplateBucketSpec()),
        BOOTSTRAP_TEMPLATE,
        regions[0],
        control_tags(StackKind.BOOTSTRAP),
        None,
        True,
    )
    entry = BootstrapEntry(
        name=built.entry.name,
        template=built.entry.template,
        hash=built.entry.hash,
        tags=built.entry.tags,
        regions=tuple(regions),
    )
    return BucketBuild(entry, built.text, entry_json=entry_json(entry))


def check_dependencies(builds: list[StackBuild] | tuple[StackBuild, ...]) -> None:
    """Every stack imports only exports of stacks synthesized with it (see `generator.stacks.dependencies`)."""
    check_imports((b.entry.name, b.entry.imports, b.entry.exports) for b in builds)


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
    from generator.stacks.parallel import Stage, build_and_stage

    report = report if report is not None else cache.CacheReport()
    todo = units(installation)
    fingerprint = sources.fingerprint()
    keys = {unit.id: unit.key(fingerprint) for unit in todo}
    regions = sorted({unit.region for unit in todo})
    keys[BOOTSTRAP_UNIT] = hashlib.sha256("\0".join([fingerprint, BOOTSTRAP_UNIT, *regions]).encode()).hexdigest()
    done: dict[str, list[StackBuild]] = {}
    bootstrap: BucketBuild | None = None
    if use_cache:
        for unit_id in [unit.id for unit in todo] + [BOOTSTRAP_UNIT]:
            records = cache.load(build_dir, unit_id, keys[unit_id], report)
            if records is None:
                continue
            try:
                if unit_id == BOOTSTRAP_UNIT:
                    [bootstrap] = [from_record(record, BootstrapEntry) for record in records]
                else:
                    done[unit_id] = [from_record(record, StackEntry) for record in records]
            except (KeyError, TypeError, ValueError) as exc:
                cache.entry_path(build_dir, unit_id).unlink(missing_ok=True)
                report.notes.append(f"{cache.entry_path(build_dir, unit_id)}: {exc}; discarded, {unit_id} rebuilt")
                continue
            report.reused.append(unit_id)
    missing = [unit for unit in todo if unit.id not in done]
    stage = Stage(build_dir, keys)
    built, staged = build_and_stage(missing, stage, workers)
    for unit, unit_builds in zip(missing, built, strict=True):
        done[unit.id] = unit_builds
        report.rebuilt.append(unit.id)
    builds = [build for unit in todo for build in done[unit.id]]
    try:
        if bootstrap is None:
            bootstrap = bootstrap_build(regions)
            report.rebuilt.append(BOOTSTRAP_UNIT)
        check_dependencies(builds)
    except BaseException:
        stage.discard()
        raise
    commit(staged)
    # Templates now in place: read back and found intact (reused units), or just renamed there (built ones).
    verified = {build.entry.template for unit_id in done for build in done[unit_id]}
    verified |= {bootstrap.entry.template} if BOOTSTRAP_UNIT in report.reused else set()
    write_build(build_dir, builds, bootstrap, verified)
    if BOOTSTRAP_UNIT in report.rebuilt:
        cache.store(build_dir, BOOTSTRAP_UNIT, keys[BOOTSTRAP_UNIT], [to_record(bootstrap)])
    cache.prune(build_dir, set(keys))
    return builds
