"""Writing build/: templates, assets and the manifest, rewriting only what changed and dropping what no stack uses.

Split from `generator.stacks.synth`, which decides what to build; this module only puts it on disk.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import NamedTuple

from generator.contract import ASSETS_DIR
from generator.manifest_model import MANIFEST_FILE, entry_json, manifest_from_entries
from generator.stacks import cache
from generator.stacks.built import BucketBuild, StackBuild

MANIFEST = MANIFEST_FILE
SCAN_VENV_DIR = ".scan-venv"
"""Where scripts/scan keeps checkov's virtualenv, whose package data holds JSON files synth must not touch."""
KEPT = {MANIFEST, ".lint-cache", cache.CACHE_DIR, "pipeline.schema.json", "bootstrap", ASSETS_DIR, SCAN_VENV_DIR}
"""Entries of build/ that are not templates of this synth and stay (plan files, caches, other outputs)."""


STAGED_SUFFIX = ".partial"
"""Ends the name of a file written beside its final path and not yet renamed into place."""


class Move(NamedTuple):
    """A file written beside its final path (`staged`), renamed to `final` once the whole synth succeeded."""

    staged: Path
    final: Path


def stage_file(path: Path, text: str, token: str) -> Move | None:
    """Write `text` beside `path`, or nothing when `path` already holds exactly it.

    Units are built (and their files written) in worker processes; a unit that fails after others were
    built must leave build/ as it was, so nothing takes a final name before every unit is built.
    """
    try:
        if path.read_text() == text:
            return None
    except (OSError, UnicodeDecodeError):
        path.parent.mkdir(parents=True, exist_ok=True)
    staged = path.with_name(f".{path.name}.{token}{STAGED_SUFFIX}")
    staged.write_text(text)
    return Move(staged, path)


def commit(moves: list[Move]) -> None:
    for move in moves:
        move.staged.replace(move.final)


def discard(build_dir: Path, token: str, keep_root: bool) -> None:
    """Drop every file staged under `build_dir` by the run named `token` (a failed synth), and the
    folders left empty (`build_dir` itself too, unless `keep_root`: it existed before the run)."""
    if not build_dir.is_dir():
        return
    for staged in build_dir.rglob(f".*.{token}{STAGED_SUFFIX}"):
        staged.unlink(missing_ok=True)
    for folder in sorted((p for p in build_dir.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        if not any(folder.iterdir()):
            folder.rmdir()
    if not keep_root and not any(build_dir.iterdir()):
        build_dir.rmdir()


def manifest_text(builds: list[StackBuild], bootstrap: BucketBuild | None = None) -> str:
    """`manifest_json` of these builds, from each entry's text where its build carries it."""
    stacks = [build.entry_json or entry_json(build.entry) for build in builds]
    if bootstrap is None:
        return manifest_from_entries(stacks, None)
    return manifest_from_entries(stacks, bootstrap.entry_json or entry_json(bootstrap.entry))


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
    bootstrap: BucketBuild | None = None,
    verified: set[str] | None = None,
) -> list[Path]:
    """Write templates, assets and the manifest; drop templates and assets of stacks that no longer exist.

    `verified` names templates (relative paths) already in place: just read back and found identical, or
    just built and renamed into place (see `stage_file`); they are not read again. Files staged by a run
    that was killed before it renamed them are dropped.
    """
    build_dir.mkdir(parents=True, exist_ok=True)
    write_assets(build_dir, builds)
    wanted = {build_dir / b.entry.template: b.text for b in builds}
    if bootstrap is not None:
        wanted[build_dir / bootstrap.entry.template] = bootstrap.text
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
            for stale in child.rglob(f".*{STAGED_SUFFIX}"):
                stale.unlink()
            for folder in sorted((p for p in child.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
                if not any(folder.iterdir()):
                    folder.rmdir()
            if not any(child.iterdir()):
                shutil.rmtree(child)
        elif (child.suffix == ".json" and child not in wanted) or child.name.endswith(STAGED_SUFFIX):
            child.unlink()
    manifest = build_dir / MANIFEST
    text = manifest_text(builds, bootstrap)
    if not manifest.exists() or manifest.read_text() != text:
        manifest.write_text(text)
    return written
