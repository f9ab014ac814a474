"""`sink: {type: s3}`: collectors batch events themselves and put gzip objects under raw/."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from generator.spec.sinks.base import SinkSettings


class S3Sink(SinkSettings):
    type: Literal["s3"]
    buffer_mb: int = Field(default=10, ge=1, le=128)
    interval_s: int = Field(default=60, ge=10, le=900)
