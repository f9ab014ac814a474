"""Sink types as strategies, one module per sink type, named after its tag (`kinesis.py` for `type: kinesis`).

The list of sink types is the spec's (`generator.spec.sinks.MODELS`): this registry imports the module
of each tag and takes its `SINK`, so a sink type the spec accepts without a module here fails at import,
and `tests/stacks/test_sinks.py` fails on a module here the spec does not know.
"""

from __future__ import annotations

import importlib
from typing import Any

from generator.spec.loader import Pipeline
from generator.spec.sinks import MODELS, tag_of
from generator.stacks.sinks.base import SinkType


def _registry() -> dict[str, SinkType[Any]]:
    registry: dict[str, SinkType[Any]] = {}
    for model in MODELS:
        tag = tag_of(model)
        if not tag.isidentifier():
            raise RuntimeError(f"sink tag {tag!r} cannot name a module of {__name__}")
        sink = importlib.import_module(f"{__name__}.{tag}").SINK
        if not isinstance(sink, SinkType) or sink.model is not model:
            raise RuntimeError(f"{__name__}.{tag}.SINK is not the sink type of {model.__name__}")
        registry[tag] = sink
    return registry


REGISTRY: dict[str, SinkType[Any]] = _registry()
"""Sink type by tag, in the spec's order."""


def sink_of(pipeline: Pipeline) -> SinkType[Any]:
    """The sink type of a pipeline."""
    return REGISTRY[pipeline.spec.ingestion.sink.type]
