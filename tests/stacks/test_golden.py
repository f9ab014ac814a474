"""Golden files of the shipped examples' templates, reviewed in the diff when they change.

Regenerate with:  PIPECTL_UPDATE_GOLDEN=1 pytest tests/stacks/test_golden.py
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from generator.spec.loader import load_directory
from generator.stacks.synth import build_all, manifest_text, synthesize

REPO = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("PIPECTL_UPDATE_GOLDEN") == "1"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("build")
    builds = synthesize(load_directory(REPO / "pipelines.d", "pipelines.d"), out)
    return out, builds


def golden_paths(out: Path) -> list[Path]:
    return sorted(p.relative_to(out) for p in out.rglob("*.json") if ".lint-cache" not in p.parts)


def test_templates_match_golden_files(built):
    out, _ = built
    produced = golden_paths(out)
    if UPDATE:
        for rel in produced:
            (GOLDEN / rel).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / rel).write_text((out / rel).read_text())
        for stale in set(golden_paths(GOLDEN)) - set(produced):
            (GOLDEN / stale).unlink()
    assert produced == golden_paths(GOLDEN), "templates added or removed: regenerate the golden files"
    changed = [str(rel) for rel in produced if (out / rel).read_text() != (GOLDEN / rel).read_text()]
    assert not changed, f"templates differ from golden files: {changed}"


def test_synth_is_byte_identical_across_runs(built, tmp_path):
    out, builds = built
    again = synthesize(load_directory(REPO / "pipelines.d", "pipelines.d"), tmp_path)
    assert manifest_text(again) == manifest_text(builds)
    for rel in golden_paths(out):
        assert (tmp_path / rel).read_bytes() == (out / rel).read_bytes(), rel
    zips = sorted(p.relative_to(out) for p in (out / "assets").glob("*.zip"))
    assert zips and zips == sorted(p.relative_to(tmp_path) for p in (tmp_path / "assets").glob("*.zip"))
    for rel in zips:
        assert (tmp_path / rel).read_bytes() == (out / rel).read_bytes(), rel


def test_manifest_lists_every_stack_with_its_contract(built):
    out, builds = built
    names = [b.entry.name for b in builds]
    assert names[0] == "pipectl-console"
    assert len(names) == len(set(names)) == 1 + 3 * 2 * 4
    for build in builds:
        entry = build.entry
        assert (out / entry.template).is_file()
        assert entry.tags["pipectl:spec-hash"] == entry.hash
        assert all(dep in names[: names.index(entry.name)] for dep in entry.depends_on)
    monitoring = next(b.entry for b in builds if b.entry.name == "pipectl-shop-prod-monitoring")
    # derived from its imports: the alarms also read the storage stack's key
    assert monitoring.depends_on == (
        "pipectl-shop-prod-ingestion",
        "pipectl-shop-prod-processing",
        "pipectl-shop-prod-storage",
    )


def test_a_change_in_one_file_changes_only_its_hashes(tmp_path):
    source = tmp_path / "pipelines.d"
    source.mkdir()
    for path in (REPO / "pipelines.d").glob("*.yaml"):
        (source / path.name).write_text(path.read_text())
    before = {b.entry.name: b.entry.hash for b in build_all(load_directory(source, "p"))}
    shop = source / "shop.yaml"
    shop.write_text(shop.read_text().replace("retention_days: 365", "retention_days: 400"))
    after = {b.entry.name: b.entry.hash for b in build_all(load_directory(source, "p"))}
    changed = sorted(name for name in before if before[name] != after[name])
    assert changed and all(name.startswith("pipectl-shop-prod-") for name in changed), changed
