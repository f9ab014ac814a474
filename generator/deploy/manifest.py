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

from pydantic import ValidationError

from generator.contract import CONSOLE_STACK as CONSOLE_STACK
from generator.contract import CONTROL_PIPELINE as CONTROL_PIPELINE
from generator.deploy.errors import ManifestError
from generator.deploy.graph import CycleError, topological_order
from generator.manifest_model import MANIFEST_FILE as MANIFEST_FILE
from generator.manifest_model import MANIFEST_VERSION as MANIFEST_VERSION
from generator.manifest_model import BootstrapEntry, ManifestFile, StackEntry

StackSpec = StackEntry
"""One stack as synth wants it deployed (the manifest's typed entry)."""
BootstrapSpec = BootstrapEntry
"""The bootstrap stack (template and asset bucket): one template, deployed in each of its regions."""


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
    """Read and check build/manifest.json: this version, valid entries, unique names, known dependencies, no cycle."""
    path = build_dir / MANIFEST_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ManifestError(f"{path}: not found; run `pipectl synth` first") from None
    except json.JSONDecodeError as exc:
        raise ManifestError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from None
    version = data.get("version") if isinstance(data, dict) else None
    if version != MANIFEST_VERSION:
        found = "no version" if version is None else f"version {json.dumps(version)}"
        raise ManifestError(
            f"{path}: version: expected manifest version {MANIFEST_VERSION}, found {found}; "
            "it was written by another pipectl: run `pipectl synth` again"
        )
    try:
        parsed = ManifestFile.model_validate(data)
    except ValidationError as exc:
        raise ManifestError(f"{path}: {_first_error(exc, data)}; run `pipectl synth` again") from None
    manifest = Manifest(build_dir, parsed.stacks, parsed.bootstrap)
    _check(path, manifest)
    return manifest


_EXPECTED = {
    "tuple_type": "a list",
    "list_type": "a list",
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
    "too_short": "a non-empty list",
    "string_type": "a string",
    "bool_type": "true or false",
}


def _first_error(exc: ValidationError, data: Any) -> str:
    """`key.path: expected ..., found ...` for the first problem pydantic found."""
    error = exc.errors()[0]
    parts = [str(part) for part in error["loc"]]
    if error["type"] == "missing":
        return f"{'.'.join(parts[:-1]) or 'manifest'}: missing key {parts[-1]!r}"
    if error["type"] == "extra_forbidden":
        return f"{'.'.join(parts)}: unknown key (expected only the keys this pipectl writes)"
    expected = _EXPECTED.get(error["type"]) or error["msg"].removeprefix("Input should be ")
    if error["type"] == "string_pattern_mismatch":
        expected = f"a string matching {(error.get('ctx') or {}).get('pattern')}"
    elif error["type"] == "enum":
        expected = f"one of {expected}"
    found = json.dumps(error.get("input"), default=str)
    return f"{'.'.join(parts) or 'manifest'}: expected {expected}, found {found[:80]}"


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
        for export, owner in stack.imports.items():
            if owner not in stack.depends_on:
                raise ManifestError(
                    f"{path}: stacks.{stack.name}.depends_on: expected {owner} (it imports {export}), "
                    f"found {list(stack.depends_on)}; run `pipectl synth` again"
                )
    try:
        topological_order(manifest.dependencies())
    except CycleError as exc:
        raise ManifestError(f"{path}: {exc}") from None
