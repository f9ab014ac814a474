"""A sink that holds nothing: `SINK_TYPE=discard` measures the collector's own cost per event."""

from __future__ import annotations

from collector.buffer import Batch
from collector.events import Record
from collector.sinks import Retry
from collector.sinks.kinesis import MAX_DATA_BYTES, MAX_RECORDS


class DiscardSink:
    name = "discard"
    batch_records = MAX_RECORDS
    batch_bytes = MAX_DATA_BYTES

    def __init__(self, linger_s: float) -> None:
        self.linger_s = linger_s
        self.written = 0

    async def write(self, batch: Batch, retry: Retry) -> list[Record]:
        self.written += len(batch.records)
        retry.health.succeeded()
        return []

    def close(self) -> None:
        return None
