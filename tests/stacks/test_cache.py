"""Incremental synth: an unchanged pipeline is a hash check, and the output is always a cold synth's bytes."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from generator.cli import main
from generator.manifest_model import StackEntry, entry_data
from generator.spec.errors import Location, SpecError, SpecErrors
from generator.spec.loader import load_directory
from generator.stacks import assets, common, sources
from generator.stacks.cache import CACHE_DIR, CacheReport, entry_path
from generator.stacks.parallel import MIN_UNITS, build_units
from generator.stacks.synth import BOOTSTRAP_TEMPLATE, BOOTSTRAP_UNIT, from_record, manifest_text, synthesize, units

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "pipelines.d"


def copy_examples(tmp_path: Path, copies: int = 1) -> Path:
    """The shipped examples, and with `copies` > 1 renamed copies of each pipeline file, for more units."""
    folder = tmp_path / "pipelines.d"
    folder.mkdir()
    for path in EXAMPLES.glob("*.yaml"):
        shutil.copy(path, folder / path.name)
        if not path.name.startswith("_"):
            for n in range(1, copies):
                # each copy collects under a name of its own: two pipelines may not share a domain
                text = re.sub(r"(domain:\s*\n\s+name:\s*)(\S+)", rf"\g<1>copy{n}.\g<2>", path.read_text())
                text = re.sub(r"(domain: \{name: )", rf"\g<1>copy{n}.", text)  # an environment's own domain
                (folder / f"{path.stem}-{n}.yaml").write_text(text)
    return folder


def synth(folder: Path, out: Path, use_cache: bool = True) -> tuple[CacheReport, str]:
    report = CacheReport()
    builds = synthesize(load_directory(folder, "pipelines.d"), out, use_cache=use_cache, report=report)
    return report, manifest_text(builds)


def tree(out: Path) -> dict[str, bytes]:
    """Every file synth wrote, cache entries included (they are deterministic too)."""
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def cold(folder: Path, tmp_path: Path, name: str = "cold") -> tuple[dict[str, bytes], str]:
    out = tmp_path / name
    report, manifest = synth(folder, out, use_cache=False)
    assert not report.reused
    return tree(out), manifest


def test_an_edit_rebuilds_only_its_pipeline_and_matches_a_cold_synth_byte_for_byte(tmp_path: Path) -> None:
    folder = copy_examples(tmp_path)
    out = tmp_path / "build"
    first, _ = synth(folder, out)
    assert first.rebuilt == [*(u.id for u in units(load_directory(folder))), BOOTSTRAP_UNIT] and not first.reused

    shop = folder / "shop.yaml"
    shop.write_text(shop.read_text().replace("retention_days: 365", "retention_days: 400"))
    report, manifest = synth(folder, out)

    assert report.rebuilt == ["shop/prod"], report  # test overrides retention_days in _defaults.yaml
    assert len(report.reused) == len(first.rebuilt) - 1 and not report.notes
    expected, expected_manifest = cold(folder, tmp_path)
    assert manifest == expected_manifest
    assert tree(out) == expected


def test_unchanged_input_rebuilds_nothing_and_rewrites_nothing(tmp_path: Path) -> None:
    folder = copy_examples(tmp_path)
    out = tmp_path / "build"
    synth(folder, out)
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*.json")}
    report, _ = synth(folder, out)
    assert not report.rebuilt and not report.notes
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.json")} == stamps


def test_defaults_and_environment_overrides_are_part_of_the_key(tmp_path: Path) -> None:
    folder = copy_examples(tmp_path)
    out = tmp_path / "build"
    synth(folder, out)
    defaults = folder / "_defaults.yaml"
    text = defaults.read_text()
    assert "log_retention_days: 14" in text
    defaults.write_text(text.replace("log_retention_days: 14", "log_retention_days: 30"))
    report, _ = synth(folder, out)
    assert report.rebuilt == ["backoffice/test", "mobile/test", "shop/test"], report
    assert tree(out) == cold(folder, tmp_path)[0]


def test_a_removed_pipeline_leaves_no_template_and_no_cache_entry(tmp_path: Path) -> None:
    folder = copy_examples(tmp_path)
    out = tmp_path / "build"
    synth(folder, out)
    (folder / "mobile.yaml").unlink()
    synth(folder, out)
    assert not (out / "mobile").exists() and not (out / CACHE_DIR / "mobile").exists()
    assert tree(out) == cold(folder, tmp_path)[0]


@pytest.fixture
def own_templates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of templates/ the generator renders from (and fingerprints), so a test may edit it."""
    copy = tmp_path / "templates"
    shutil.copytree(sources.TEMPLATES_DIR, copy)
    monkeypatch.setattr(sources, "TEMPLATES_DIR", copy)
    monkeypatch.setattr(common, "TEMPLATES_DIR", copy)
    common._jinja.cache_clear()
    yield copy
    common._jinja.cache_clear()


def test_a_changed_template_rebuilds_every_pipeline_that_renders_it(tmp_path: Path, own_templates: Path) -> None:
    folder = copy_examples(tmp_path)
    out = tmp_path / "build"
    first, _ = synth(folder, out)
    before = tree(out)

    dashboard = own_templates / "dashboard.json.j2"
    assert '"height": 6,' in dashboard.read_text()
    dashboard.write_text(dashboard.read_text().replace('"height": 6,', '"height": 7,'))
    common._jinja.cache_clear()
    report, _ = synth(folder, out)

    pipelines = [unit for unit in first.rebuilt if unit not in ("console", BOOTSTRAP_UNIT)]
    assert set(pipelines) <= set(report.rebuilt) and not report.reused, report
    after = tree(out)
    changed = sorted(rel for rel in after if rel.endswith(".json") and before.get(rel) != after[rel])
    assert [rel for rel in changed if rel.endswith("monitoring.json")] == [f"{u}/monitoring.json" for u in pipelines]
    assert after == cold(folder, tmp_path)[0]


def damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "flipped":
        middle = len(data) // 2
        path.write_bytes(data[:middle] + bytes([data[middle] ^ 0x01]) + data[middle + 1 :])
    else:
        path.write_bytes(b"")


@pytest.mark.parametrize("how", ["truncated", "flipped", "emptied"])
def test_a_damaged_cache_entry_is_discarded_rebuilt_and_noted(tmp_path: Path, how: str) -> None:
    folder = copy_examples(tmp_path)
    out = tmp_path / "build"
    synth(folder, out)
    damage(entry_path(out, "shop/prod"), how)
    report, _ = synth(folder, out)
    assert report.rebuilt == ["shop/prod"]
    assert len(report.notes) == 1 and "hash mismatch" in report.notes[0] and "shop/prod" in report.notes[0]
    assert "\n" not in report.notes[0]
    assert tree(out) == cold(folder, tmp_path)[0]


def test_a_template_edited_after_synth_is_rebuilt_not_served(tmp_path: Path) -> None:
    folder = copy_examples(tmp_path)
    out = tmp_path / "build"
    synth(folder, out)
    template = out / "mobile" / "test" / "processing.json"
    template.write_text(template.read_text().replace('"Resources"', '"Resourcez"'))
    report, _ = synth(folder, out)
    assert report.rebuilt == ["mobile/test"] and len(report.notes) == 1, report
    assert tree(out) == cold(folder, tmp_path)[0]


def test_cli_notes_a_damaged_entry_in_one_line_and_no_cache_ignores_entries(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = copy_examples(tmp_path)
    out = tmp_path / "build"
    args = ["synth", "--pipelines", str(folder), "--build-dir", str(out)]
    assert main(args) == 0
    entry = entry_path(out, "backoffice/prod")
    damage(entry, "truncated")
    capsys.readouterr()
    assert main([*args, "--no-cache"]) == 0
    assert "note" not in capsys.readouterr().err  # the damaged entry was not read, and is now rewritten
    damage(entry, "truncated")
    assert main(args) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("pipectl: note: ") and "hash mismatch" in err[0], err
    assert "Traceback" not in "".join(err)
    templates = {rel: data for rel, data in tree(out).items() if not rel.startswith(CACHE_DIR)}
    assert templates == {rel: data for rel, data in cold(folder, tmp_path)[0].items() if not rel.startswith(CACHE_DIR)}


def test_parallel_units_match_one_process_byte_for_byte(tmp_path: Path) -> None:
    installation = load_directory(copy_examples(tmp_path, copies=3))
    todo = units(installation)
    assert len(todo) >= MIN_UNITS
    serial = build_units(todo, workers=1)
    parallel = build_units(todo, workers=2)
    assert [[(b.entry, b.text) for b in unit] for unit in parallel] == [
        [(b.entry, b.text) for b in unit] for unit in serial
    ]


def test_parallel_synth_raises_the_error_a_single_process_raises(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fault injection: no valid pipeline file makes a builder fail today, so one is made to fail for two
    pipelines; the first failing unit in manifest order decides the error, in a pool as in one process."""
    from generator.stacks import processing

    real = processing.build_processing

    def failing(pipeline):  # type: ignore[no-untyped-def]
        if pipeline.name in ("mobile-2", "shop-1"):
            where = Location(f"pipelines.d/{pipeline.name}.yaml", 3, 1)
            raise SpecErrors([SpecError(where, "processing", f"expected a buildable {pipeline.env}, found none")])
        return real(pipeline)

    monkeypatch.setattr(processing, "build_processing", failing)
    todo = units(load_directory(copy_examples(tmp_path, copies=3)))
    raised = []
    for workers in (1, 2):
        with pytest.raises(SpecErrors) as caught:
            build_units(todo, workers=workers)
        raised.append([str(e) for e in caught.value.errors])
    assert (
        raised[0] == raised[1] == ["pipelines.d/mobile-2.yaml:3:1: processing: expected a buildable prod, found none"]
    )


@pytest.mark.parametrize("workers", [1, 2])
def test_a_unit_failing_after_others_were_built_leaves_build_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    """Fault injection, as above: workers write what they built beside its place; one unit failing means
    none of it is renamed into place, and no staged file stays behind, in a pool as in one process."""
    from generator.stacks import processing

    folder = copy_examples(tmp_path, copies=3)
    out = tmp_path / "build"
    synth(folder, out)
    shop = folder / "shop.yaml"
    shop.write_text(shop.read_text().replace("retention_days: 365", "retention_days: 400"))
    for copy in ("backoffice-1", "mobile-2"):  # a unit that builds and one that fails, in either order
        path = folder / f"{copy}.yaml"
        path.write_text(path.read_text().replace("description: ", "description: Edited ", 1))
    before = tree(out)
    real = processing.build_processing

    def failing(pipeline):  # type: ignore[no-untyped-def]
        if pipeline.name == "mobile-2":
            raise SpecErrors([SpecError(Location("pipelines.d/mobile-2.yaml", 3, 1), "processing", "expected x")])
        return real(pipeline)

    monkeypatch.setattr(processing, "build_processing", failing)
    installation = load_directory(folder, "pipelines.d")
    with pytest.raises(SpecErrors) as caught:
        # without the cache every unit is rebuilt: enough of them for a pool
        synthesize(installation, out, use_cache=workers == 1, workers=workers, report=CacheReport())
    assert [e.path for e in caught.value.errors] == ["processing"]
    assert tree(out) == before


def test_files_a_killed_synth_staged_are_dropped_by_the_next(tmp_path: Path) -> None:
    folder = copy_examples(tmp_path)
    out = tmp_path / "build"
    synth(folder, out)
    left = [
        out / ".console.json.123-dead.partial",
        out / "shop" / "prod" / ".storage.json.123-dead.partial",
        out / CACHE_DIR / "shop" / ".prod.entry.123-dead.partial",
    ]
    for path in left:
        path.write_text("half a template")
    report, _ = synth(folder, out)
    assert not report.rebuilt and not report.notes
    assert not [path for path in left if path.exists()]
    assert tree(out) == cold(folder, tmp_path)[0]


def test_the_manifest_joined_from_entry_texts_is_the_canonical_encoding(tmp_path: Path) -> None:
    """Synth writes the manifest from each entry's own text; it must be `manifest_json`'s bytes, whether the
    entries were built now or read from the cache, with or without a bootstrap section, and with no stacks."""
    from generator.manifest_model import ManifestFile, manifest_from_entries, manifest_json
    from generator.stacks.synth import bootstrap_build

    folder = copy_examples(tmp_path)
    out = tmp_path / "build"
    for _ in ("built", "cached"):
        builds = synthesize(load_directory(folder, "pipelines.d"), out, report=CacheReport())
        assert all(build.entry_json for build in builds)
        expected = manifest_json(ManifestFile(stacks=tuple(b.entry for b in builds), bootstrap=None))
        assert manifest_text(builds) == expected
    written = (out / "manifest.json").read_text()
    parsed = ManifestFile.model_validate_json(written)
    assert parsed.bootstrap is not None and parsed.stacks == tuple(b.entry for b in builds)
    assert written == manifest_json(parsed)
    bootstrap = bootstrap_build(["eu-west-1", "us-east-1"])
    assert manifest_from_entries([], bootstrap.entry_json) == manifest_json(ManifestFile(bootstrap=bootstrap.entry))
    assert manifest_from_entries([], None) == manifest_json(ManifestFile())
    assert set(ManifestFile.model_fields) == {"version", "stacks", "bootstrap"}  # the keys it spells


# --- assets and the bootstrap template ---------------------------------------------------------------


@pytest.mark.parametrize("how", ["deleted", "flipped"])
def test_a_cached_unit_writes_its_zips_again_when_one_is_missing_or_damaged(tmp_path: Path, how: str) -> None:
    folder = copy_examples(tmp_path)
    out = tmp_path / "build"
    synth(folder, out)
    zips = sorted((out / "assets").glob("*.zip"))
    assert zips
    if how == "deleted":
        zips[0].unlink()
    else:
        damage(zips[0], "flipped")
    report, _ = synth(folder, out)
    assert not report.notes and BOOTSTRAP_UNIT in report.reused  # served from the cache, asset bytes included
    assert tree(out) == cold(folder, tmp_path)[0]


def test_cached_asset_bytes_must_match_the_names_the_entry_lists(tmp_path: Path) -> None:
    folder = copy_examples(tmp_path)
    builds = synthesize(load_directory(folder, "pipelines.d"), tmp_path / "again")
    used = next(b for b in builds if b.assets)
    record = {
        "entry": entry_data(used.entry),
        "text": used.text,
        "assets": [{"source": "x.py", "data": b"other bytes"}],
    }
    with pytest.raises(ValueError, match="differ from its manifest entry"):
        from_record(record, StackEntry)


def test_the_bootstrap_template_is_cached_and_rewritten_when_removed(tmp_path: Path) -> None:
    folder = copy_examples(tmp_path)
    out = tmp_path / "build"
    synth(folder, out)
    (out / BOOTSTRAP_TEMPLATE).unlink()
    report, _ = synth(folder, out)
    assert report.rebuilt == [BOOTSTRAP_UNIT], report
    assert tree(out) == cold(folder, tmp_path)[0]
    report, _ = synth(folder, out)
    assert not report.rebuilt


@pytest.fixture
def own_functions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the Lambda sources the asset builder packages (and synth fingerprints), so a test may edit it."""
    copy = tmp_path / "functions"
    shutil.copytree(assets.FUNCTIONS_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(assets, "FUNCTIONS_DIR", copy)
    return copy


def test_a_changed_lambda_source_rebuilds_every_unit(tmp_path: Path, own_functions: Path) -> None:
    assert sources.functions_dir() == own_functions
    assert (sources.FUNCTIONS_DIR / "enrich.py").is_file()  # the shipped folder the fingerprint reads by default
    folder = copy_examples(tmp_path)
    out = tmp_path / "build"
    synth(folder, out)
    before = sources.fingerprint()
    enrich = own_functions / "enrich.py"
    enrich.write_text(enrich.read_text() + "\n# changed\n")
    assert sources.fingerprint() != before
    report, _ = synth(folder, out)
    assert not report.reused and not report.notes
    assert tree(out) == cold(folder, tmp_path)[0]
