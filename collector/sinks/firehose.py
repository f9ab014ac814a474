"""Firehose: `PutRecordBatch` batches of up to 500 records and 4 MiB, failed records retried alone.

Firehose concatenates records as they come, so each record ends with a newline: the objects it writes
to raw/ are then newline-delimited JSON, as the enrich function reads them.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from collector.buffer import Batch
from collector.events import Record
from collector.sinks import Retry, deliver

MAX_RECORDS = 500
MAX_DATA_BYTES = 4 * 1024 * 1024 - MAX_RECORDS  # 4 MiB per call, the newline of each record included


class FirehoseSink:
    name = "firehose"
    batch_records = MAX_RECORDS
    batch_bytes = MAX_DATA_BYTES

    def __init__(self, client: Any, delivery_stream: str, linger_s: float, max_in_flight: int) -> None:
        self.client = client
        self.delivery_stream = delivery_stream
        self.linger_s = linger_s
        self._pool = ThreadPoolExecutor(max_in_flight, thread_name_prefix="firehose")

    async def write(self, batch: Batch, retry: Retry) -> list[Record]:
        loop = asyncio.get_running_loop()

        async def send(records: list[Record]) -> list[dict[str, Any]]:
            entries = [{"Data": r.data + b"\n"} for r in records]
            answer = await loop.run_in_executor(self._pool, self._put, entries)
            results: list[dict[str, Any]] = answer["RequestResponses"]
            return results

        return await deliver(batch.records, retry, "PutRecordBatch", send)

    def _put(self, entries: list[dict[str, Any]]) -> dict[str, Any]:
        answer: dict[str, Any] = self.client.put_record_batch(DeliveryStreamName=self.delivery_stream, Records=entries)
        return answer

    def close(self) -> None:
        self._pool.shutdown(wait=False)
