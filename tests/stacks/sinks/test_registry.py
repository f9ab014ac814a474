"""The sink registry: one list of sink types (the spec's), one stack module per type, and no way for the
two to drift apart."""

from __future__ import annotations

import importlib
import json
import pkgutil
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal, get_args

import pytest

from generator.deploy.local.coverage import supported_types
from generator.policy.permissions import load_table
from generator.spec import sinks as spec_sinks
from generator.spec.loader import Pipeline, load_directory
from generator.spec.models import Ingestion
from generator.spec.schema import pipeline_schema
from generator.spec.sinks import SinkSettings
from generator.stacks import sinks
from generator.stacks.emitted import types_of
from generator.stacks.sinks import REGISTRY, sink_of
from generator.stacks.synth import build_all

EXAMPLES = Path(__file__).resolve().parents[3] / "pipelines.d"
HELPERS = {"base"}


def test_the_union_tags_are_the_registry_s_in_the_same_order() -> None:
    union = get_args(Ingestion.model_fields["sink"].annotation)
    schema = Ingestion.model_json_schema()["properties"]["sink"]
    assert list(REGISTRY) == list(spec_sinks.TAGS) == ["kinesis", "s3", "firehose"]
    assert union == spec_sinks.MODELS == tuple(sink.model for sink in REGISTRY.values())
    assert [ref["$ref"].rsplit("/", 1)[-1] for ref in schema["oneOf"]] == [m.__name__ for m in union]
    assert sorted(schema["discriminator"]["mapping"]) == sorted(REGISTRY)


def test_the_exported_json_schema_offers_every_registered_sink_type() -> None:
    sink = pipeline_schema()["properties"]["ingestion"]
    definitions = pipeline_schema()["$defs"]
    ingestion = definitions[sink["$ref"].split("/")[-1]] if "$ref" in sink else sink
    mapping = ingestion["properties"]["sink"]["discriminator"]["mapping"]
    assert sorted(mapping) == sorted(REGISTRY)
    committed = json.loads((Path(__file__).resolve().parents[3] / "generator/spec/pipeline.schema.json").read_text())
    assert committed == pipeline_schema(), "regenerate: pipectl schema --write generator/spec/pipeline.schema.json"


def test_every_sink_module_is_a_registered_sink_type() -> None:
    modules = {m.name for m in pkgutil.iter_modules(sinks.__path__)} - HELPERS
    assert modules == set(REGISTRY), "a module in generator/stacks/sinks/ whose tag the spec does not list"


class KafkaSink(SinkSettings):
    type: Literal["kafka"]


class DashedSink(SinkSettings):
    type: Literal["kinesis-2"]


def test_a_spec_sink_without_a_stack_module_fails_the_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sinks, "MODELS", (*spec_sinks.MODELS, KafkaSink))
    with pytest.raises(ModuleNotFoundError, match=r"generator\.stacks\.sinks\.kafka"):
        sinks._registry()


def test_a_tag_that_cannot_name_a_module_fails_the_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sinks, "MODELS", (*spec_sinks.MODELS, DashedSink))
    with pytest.raises(RuntimeError, match="cannot name a module"):
        sinks._registry()


def test_a_module_whose_sink_serves_another_model_fails_the_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    kinesis = importlib.import_module("generator.stacks.sinks.kinesis")
    monkeypatch.setattr(kinesis, "SINK", REGISTRY["s3"])
    with pytest.raises(RuntimeError, match="not the sink type of KinesisSink"):
        sinks._registry()


def _with_sink(pipeline: Pipeline, settings: dict[str, Any]) -> Pipeline:
    model = REGISTRY[settings["type"]].model
    ingestion = pipeline.spec.ingestion.model_copy(update={"sink": model.model_validate(settings)})
    return replace(pipeline, spec=pipeline.spec.model_copy(update={"ingestion": ingestion}))


@pytest.fixture(scope="module")
def emitted() -> dict[str, set[str]]:
    """Resource types of the first example's stacks with each sink type's sample settings."""
    installation = load_directory(EXAMPLES, "pipelines.d")
    found = {}
    for tag, sink in REGISTRY.items():
        pipelines = tuple(_with_sink(p, sink.sample) for p in installation.pipelines[:1])
        builds = build_all(replace(installation, pipelines=pipelines))
        found[tag] = types_of(b for b in builds if b.entry.name != "pipectl-console")
    return found


def test_each_sink_declares_exactly_the_resource_types_it_adds(emitted: dict[str, set[str]]) -> None:
    common = set.intersection(*emitted.values())
    for tag, sink in REGISTRY.items():
        assert sink.resource_types <= emitted[tag], tag
        assert emitted[tag] - common <= sink.resource_types, tag


def test_the_execution_role_and_the_local_target_cover_every_sink_s_types() -> None:
    table, local = set(load_table().types), supported_types()
    for tag, sink in REGISTRY.items():
        assert sink.resource_types <= table, f"{tag}: run scripts/gen-permissions"
        assert sink.resource_types <= local, f"{tag}: add a local model under generator/deploy/local/models/"


def test_the_pipeline_s_sink_type_serves_only_its_own_settings() -> None:
    pipeline = load_directory(EXAMPLES, "pipelines.d").pipelines[0]
    sink = sink_of(pipeline)
    assert sink.tag == pipeline.spec.ingestion.sink.type
    assert sink.settings(pipeline) is pipeline.spec.ingestion.sink
    other = next(s for tag, s in REGISTRY.items() if tag != sink.tag)
    with pytest.raises(TypeError, match=f"asked of the {other.tag} sink"):
        other.settings(pipeline)
