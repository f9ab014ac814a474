"""A typo in a top-level key is reported in the pipeline file, never as errors of _defaults.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.spec.errors import SpecErrors
from generator.spec.loader import load_directory

REPO = Path(__file__).resolve().parents[2]


def test_a_misspelt_top_level_key_blames_the_file_it_is_in(tmp_path: Path) -> None:
    folder = tmp_path / "pipelines.d"
    folder.mkdir()
    (folder / "_defaults.yaml").write_text((REPO / "pipelines.d" / "_defaults.yaml").read_text())
    shop = (REPO / "pipelines.d" / "shop.yaml").read_text().split("\nenvironments:")[0]
    text = (shop + "\nenvironments: {test: {}, prod: {}}\n").replace("\ningestion:", "\ningestoin:")
    (folder / "shop.yaml").write_text(text)
    with pytest.raises(SpecErrors) as raised:
        load_directory(folder, "pipelines.d")
    errors = [str(e) for e in raised.value.errors]
    assert not [e for e in errors if "_defaults.yaml" in e], errors
    assert any("found unknown key 'ingestoin' (did you mean 'ingestion'?)" in e for e in errors), errors
    assert all(e.startswith("pipelines.d/shop.yaml:") for e in errors)
    assert len(errors) == 2, errors  # the typo, and the required key it left missing: once, not per environment


def test_two_pipelines_sharing_a_collector_domain_is_a_located_error(tmp_path: Path) -> None:
    folder = tmp_path / "pipelines.d"
    folder.mkdir()
    (folder / "_defaults.yaml").write_text((REPO / "pipelines.d" / "_defaults.yaml").read_text())
    (folder / "shop.yaml").write_text((REPO / "pipelines.d" / "shop.yaml").read_text())
    mobile = (REPO / "pipelines.d" / "mobile.yaml").read_text()
    (folder / "mobile.yaml").write_text(mobile.replace("events.mobile.example.com", "collect.shop.example.com"))
    with pytest.raises(SpecErrors) as raised:
        load_directory(folder, "pipelines.d")
    errors = [str(e) for e in raised.value.errors]
    assert len(errors) == 1, errors
    # files are read in name order: the later one is told where the earlier one claims the name
    assert errors[0].startswith("pipelines.d/shop.yaml:15:11: ingestion.domain.name: expected a collector domain")
    assert "'collect.shop.example.com', which pipeline mobile uses (pipelines.d/mobile.yaml:13:11)" in errors[0]


def test_two_environments_of_one_pipeline_sharing_a_collector_domain_is_a_located_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each environment has its own load balancer: one DNS name cannot point at both."""
    from generator.cli import main

    folder = tmp_path / "pipelines.d"
    folder.mkdir()
    (folder / "_defaults.yaml").write_text((REPO / "pipelines.d" / "_defaults.yaml").read_text())
    shared = (REPO / "pipelines.d" / "shop.yaml").read_text().split("\nenvironments:")[0]
    (folder / "shop.yaml").write_text(shared + "\nenvironments: {test: {}, prod: {}}\n")
    with pytest.raises(SpecErrors) as raised:
        load_directory(folder, "pipelines.d")
    (error,) = [str(e) for e in raised.value.errors]
    assert error == (
        "pipelines.d/shop.yaml:15:11: ingestion.domain.name: expected a collector domain for environment test "
        "that no other environment uses (environments.test.ingestion.domain.name), found 'collect.shop.example.com', "
        "which environment prod uses too (pipelines.d/shop.yaml:15:11)"
    )
    monkeypatch.chdir(tmp_path)
    assert main(["validate"]) == 2
    assert "ingestion.domain.name: expected a collector domain for environment test" in capsys.readouterr().err
    assert not (tmp_path / "build").exists()

    own = shared + "\nenvironments: {test: {ingestion: {domain: {name: collect.test.shop.example.com}}}, prod: {}}\n"
    (folder / "shop.yaml").write_text(own)
    assert {p.spec.ingestion.domain.name for p in load_directory(folder, "pipelines.d").pipelines} == {
        "collect.shop.example.com",
        "collect.test.shop.example.com",
    }
