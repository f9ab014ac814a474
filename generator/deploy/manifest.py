"""Reading build/manifest.json, the contract between synth and the controller.

The controller never reads pipeline files: everything it deploys is named here, with the template
path (relative to build/), dependencies, parameters, tags and content hash of each stack.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from generator.deploy.errors import ManifestError
from generator.deploy.graph import CycleError, topological_order

MANIFEST_FILE = "manifest.json"
MANIFEST_VERSION = 1
CONSOLE_STACK = "pipectl-console"
CONSOLE_PIPELINE = "_console"  # state-table key for the console stack, which has no pipeline
HASH_TAG = "pipectl:spec-hash"
PIPELINE_TAG = "pipectl:pipeline"
REVISION_TAG = "pipectl:revision"


@dataclass(frozen=True)
class StackSpec:
    """One stack as synth wants it deployed."""

    name: str
    kind: str
    pipeline: str | None
    env: str | None
    region: str
    template: str
    depends_on: tuple[str, ...]
    parameters: dict[str, str]
    tags: dict[str, str]
    hash: str
    stateful: tuple[str, ...]
    retain: bool
    termination_protection: bool = False
    stack_policy: str | None = None
    assets: tuple[str, ...] = ()
    """Files under build/ (`assets/<sha256>.zip`) the template references in the template bucket."""

    @property
    def is_console(self) -> bool:
        return self.name == CONSOLE_STACK

    @property
    def owner(self) -> str:
        """The pipeline the state table files this stack under."""
        return self.pipeline or CONSOLE_PIPELINE


@dataclass(frozen=True)
class BootstrapSpec:
    """The bootstrap stack (template and asset bucket): one template, deployed in each of `regions`."""

    name: str
    template: str
    hash: str
    tags: dict[str, str]
    regions: tuple[str, ...]

    def stack(self, region: str) -> StackSpec:
        """The stack in one region, in the shape the change-set code takes."""
        return StackSpec(
            name=self.name,
            kind="bootstrap",
            pipeline=None,
            env=None,
            region=region,
            template=self.template,
            depends_on=(),
            parameters={},
            tags=dict(self.tags),
            hash=self.hash,
            stateful=(),
            retain=True,
        )


@dataclass(frozen=True)
class Manifest:
    """All stacks of one synth, in manifest order, with the build directory their templates live in."""

    root: Path
    stacks: tuple[StackSpec, ...]
    bootstrap: BootstrapSpec | None = None

    def with_stacks(self, stacks: tuple[StackSpec, ...]) -> Manifest:
        """The same manifest (root, bootstrap section) with other stack entries."""
        return replace(self, stacks=stacks)

    @cached_property
    def by_name(self) -> dict[str, StackSpec]:
        return {s.name: s for s in self.stacks}

    def get(self, name: str) -> StackSpec | None:
        return self.by_name.get(name)

    def __getitem__(self, name: str) -> StackSpec:
        spec = self.get(name)
        if spec is None:
            raise KeyError(name)
        return spec

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.stacks)

    @property
    def pipelines(self) -> frozenset[str]:
        return frozenset(s.pipeline for s in self.stacks if s.pipeline)

    @property
    def console(self) -> StackSpec | None:
        return self.get(CONSOLE_STACK)

    @property
    def regions(self) -> tuple[str, ...]:
        return tuple(sorted({s.region for s in self.stacks}))

    def template_body(self, stack: StackSpec) -> str:
        return (self.root / stack.template).read_text(encoding="utf-8")

    def dependencies(self) -> dict[str, tuple[str, ...]]:
        return {s.name: s.depends_on for s in self.stacks}


def load_manifest(build_dir: Path) -> Manifest:
    """Read and check build/manifest.json: known version, unique names, known dependencies, no cycle."""
    path = build_dir / MANIFEST_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ManifestError(f"{path}: not found; run `pipectl synth` first") from None
    except json.JSONDecodeError as exc:
        raise ManifestError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from None
    if not isinstance(data, dict) or data.get("version") != MANIFEST_VERSION:
        raise ManifestError(f"{path}: expected a manifest of version {MANIFEST_VERSION}")
    stacks = tuple(_stack(path, i, raw) for i, raw in enumerate(data.get("stacks") or []))
    manifest = Manifest(build_dir, stacks, _bootstrap(path, data.get("bootstrap")))
    _check(path, manifest)
    return manifest


def _stack(path: Path, index: int, raw: Any) -> StackSpec:
    where = f"{path}: stacks[{index}]"
    if not isinstance(raw, dict):
        raise ManifestError(f"{where}: expected an object")
    try:
        return StackSpec(
            name=str(raw["name"]),
            kind=str(raw["kind"]),
            pipeline=raw.get("pipeline"),
            env=raw.get("env"),
            region=str(raw["region"]),
            template=str(raw["template"]),
            depends_on=tuple(str(d) for d in raw.get("depends_on") or ()),
            parameters={str(k): str(v) for k, v in (raw.get("parameters") or {}).items()},
            tags={str(k): str(v) for k, v in (raw.get("tags") or {}).items()},
            hash=str(raw["hash"]),
            stateful=tuple(str(s) for s in raw.get("stateful") or ()),
            retain=bool(raw.get("retain", True)),
            termination_protection=bool(raw.get("termination_protection", False)),
            stack_policy=str(raw["stack_policy"]) if raw.get("stack_policy") else None,
            assets=_assets(where, raw.get("assets")),
        )
    except KeyError as exc:
        raise ManifestError(f"{where}: missing key {exc.args[0]!r}") from None


def _assets(where: str, raw: Any) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(a, str) and a for a in raw):
        raise ManifestError(f"{where}: assets: expected a list of paths relative to build/, found {raw!r}")
    return tuple(raw)


def _bootstrap(path: Path, raw: Any) -> BootstrapSpec | None:
    if raw is None:
        return None
    where = f"{path}: bootstrap"
    if not isinstance(raw, dict):
        raise ManifestError(f"{where}: expected an object")
    try:
        regions = raw["regions"]
        if not isinstance(regions, list) or not regions:
            raise ManifestError(f"{where}: regions: expected a non-empty list, found {regions!r}")
        return BootstrapSpec(
            name=str(raw["name"]),
            template=str(raw["template"]),
            hash=str(raw["hash"]),
            tags={str(k): str(v) for k, v in (raw.get("tags") or {}).items()},
            regions=tuple(str(r) for r in regions),
        )
    except KeyError as exc:
        raise ManifestError(f"{where}: missing key {exc.args[0]!r}") from None


def _check(path: Path, manifest: Manifest) -> None:
    seen: set[str] = set()
    for stack in manifest.stacks:
        if stack.name in seen:
            raise ManifestError(f"{path}: stack {stack.name} appears twice")
        seen.add(stack.name)
        if not (manifest.root / stack.template).is_file():
            raise ManifestError(f"{path}: stack {stack.name}: template {stack.template} not found in {manifest.root}")
        for asset in stack.assets:
            if not (manifest.root / asset).is_file():
                raise ManifestError(f"{path}: stack {stack.name}: asset {asset} not found in {manifest.root}")
    if manifest.bootstrap is not None and not (manifest.root / manifest.bootstrap.template).is_file():
        raise ManifestError(f"{path}: bootstrap: template {manifest.bootstrap.template} not found in {manifest.root}")
    for stack in manifest.stacks:
        for dep in stack.depends_on:
            if dep not in seen:
                raise ManifestError(f"{path}: stack {stack.name} depends on {dep}, which is not in the manifest")
    try:
        topological_order(manifest.dependencies())
    except CycleError as exc:
        raise ManifestError(f"{path}: {exc}") from None
