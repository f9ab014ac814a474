"""`sink: {type: firehose}`: collectors put records to Kinesis Data Firehose, which delivers gzip to raw/."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from generator.spec.sinks.base import SinkSettings


class FirehoseSink(SinkSettings):
    type: Literal["firehose"]
    buffer_mb: int = Field(default=64, ge=1, le=128, description="Firehose delivers when this many MiB arrived")
    interval_s: int = Field(
        default=300, ge=60, le=900, description="or when the oldest buffered record is this many seconds old"
    )
