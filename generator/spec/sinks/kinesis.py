"""`sink: {type: kinesis}`: collectors put records to a Kinesis stream; a function lands them in raw/."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

from pydantic import Field

from generator.spec.sinks.base import Finding, SinkSettings


class KinesisSink(SinkSettings):
    type: Literal["kinesis"]
    mode: Literal["on-demand", "provisioned"] = "on-demand"
    shards: int | None = Field(default=None, ge=1, le=500, description="only with mode: provisioned")
    retention_hours: int = Field(default=24, ge=24, le=8760)

    def findings(self, raw: dict[str, Any]) -> Iterator[Finding]:
        """A shard count belongs to provisioned mode, and provisioned mode needs one."""
        if self.mode == "provisioned" and self.shards is None:
            yield ("shards",), "expected a shard count with mode: provisioned, found nothing"
        if self.mode == "on-demand" and self.shards is not None:
            yield ("shards",), f"expected no shard count with mode: on-demand, found {self.shards}"
