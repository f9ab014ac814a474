"""Sink settings, one model per sink type, and the `ingestion.sink` union assembled from one list.

`MODELS` is the only list of sink types in the spec. The stack builders' sink registry
(`generator/stacks/sinks/`) is checked against it, so a sink type cannot be added to one and not the other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Union

from pydantic import Field

from generator.spec.sinks.base import SinkSettings, tag_of
from generator.spec.sinks.firehose import FirehoseSink
from generator.spec.sinks.kinesis import KinesisSink
from generator.spec.sinks.s3 import S3Sink

__all__ = ["MODELS", "TAGS", "FirehoseSink", "KinesisSink", "S3Sink", "Sink", "SinkSettings", "tag_of"]

MODELS: tuple[type[SinkSettings], ...] = (KinesisSink, S3Sink, FirehoseSink)
"""Every sink type, in the order the JSON Schema lists them."""
TAGS: tuple[str, ...] = tuple(tag_of(model) for model in MODELS)

if TYPE_CHECKING:
    Sink = SinkSettings
else:
    # A discriminated union over MODELS: `type` picks the model, and an unknown type names the tags.
    Sink = Annotated[Union[MODELS], Field(discriminator="type")]  # noqa: UP007
