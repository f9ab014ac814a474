"""Merging `_defaults.yaml`, the file and its environments, and the defaults a minimal file gets."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
import yaml

from generator.spec.loader import load_directory
from generator.spec.models import CreatedNetwork, KinesisSink
from generator.spec.schema import pipeline_schema, schema_text

from .conftest import ENVIRONMENTS, MINIMAL

REPO = Path(__file__).resolve().parents[2]


def by_env(folder: Path):
    return {(p.name, p.env): p.spec for p in load_directory(folder, "pipelines.d").pipelines}


def test_minimal_file_gets_sensible_defaults(pipelines):
    specs = by_env(pipelines({"shop.yaml": MINIMAL + ENVIRONMENTS}))
    assert set(specs) == {("shop", "test"), ("shop", "prod")}
    assert (specs["shop", "test"].ingestion.domain.name, specs["shop", "prod"].ingestion.domain.name) == (
        "test.c.example.com",
        "c.example.com",
    )
    spec = specs["shop", "prod"]
    assert spec.deletion == "retain"
    assert isinstance(spec.network, CreatedNetwork)
    assert isinstance(spec.ingestion.sink, KinesisSink)
    assert spec.ingestion.launch_type == "fargate"
    assert spec.alarm_email == "data@example.com"
    assert len([line for line in MINIMAL.splitlines() if line.strip()]) <= 6


def test_merge_order_defaults_file_then_environments(pipelines):
    defaults = (
        "region: eu-west-1\n"
        "processing: {retention_days: 100, memory_mb: 512}\n"
        "environments:\n  test: {processing: {retention_days: 7}}\n  prod: {}\n"
    )
    shop = MINIMAL.replace("region: eu-west-1\n", "") + (
        "processing: {retention_days: 200}\nenvironments:\n"
        "  test: {processing: {memory_mb: 256}, ingestion: {domain: {name: test.c.example.com}}}\n  prod: {}\n"
    )
    specs = by_env(pipelines({"_defaults.yaml": defaults, "shop.yaml": shop}))
    test, prod = specs["shop", "test"].processing, specs["shop", "prod"].processing
    assert (prod.retention_days, prod.memory_mb) == (200, 512)  # file over defaults
    assert (test.retention_days, test.memory_mb) == (7, 256)  # environments over the file


def test_lists_are_replaced_not_appended(pipelines):
    shop = MINIMAL + (
        "environments:\n  test: {apps: [{id: only_test, platform: ios}], ingestion: {domain: {name: t.example.com}}}\n"
        "  prod: {}\n"
    )
    specs = by_env(pipelines({"shop.yaml": shop}))
    assert [a.id for a in specs["shop", "test"].apps] == ["only_test"]
    assert [a.id for a in specs["shop", "prod"].apps] == ["web"]


def test_environments_named_in_the_file_are_the_ones_built(pipelines):
    shop = MINIMAL + "environments: {staging: {ingestion: {domain: {name: staging.c.example.com}}}, prod: {}}\n"
    assert set(by_env(pipelines({"shop.yaml": shop}))) == {("shop", "staging"), ("shop", "prod")}


def test_shipped_examples_load_and_cover_every_option():
    installation = load_directory(REPO / "pipelines.d", "pipelines.d")
    specs = [p.spec for p in installation.pipelines]
    assert {s.ingestion.launch_type for s in specs} == {"fargate", "ec2"}
    assert {s.ingestion.sink.type for s in specs} == {"kinesis", "s3"}
    assert {s.ingestion.auth.type for s in specs} == {"none", "jwt"}
    assert {type(s.network).__name__ for s in specs} == {"CreatedNetwork", "ExistingNetwork"}
    assert {p.env for p in installation.pipelines} == {"test", "prod"}


def test_shipped_examples_name_the_schema_and_satisfy_it():
    schema = pipeline_schema()
    for path in sorted((REPO / "pipelines.d").glob("*.yaml")):
        text = path.read_text()
        if not path.name.startswith("_"):
            assert text.startswith("# yaml-language-server: $schema=../generator/spec/pipeline.schema.json"), path
        if path.name != "_console.yaml":
            jsonschema.validate(yaml.safe_load(text), schema)


def test_committed_schema_is_current():
    """Regenerate with: pipectl schema --write generator/spec/pipeline.schema.json"""
    committed = (REPO / "generator/spec/pipeline.schema.json").read_text()
    assert committed == schema_text()


def test_schema_rejects_unknown_keys_like_the_loader():
    schema = pipeline_schema()
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"ingestion": {"colour": "red"}}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"environments": {"test": {"colour": "red"}}}, schema)
