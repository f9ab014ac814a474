"""Kinesis: `PutRecords` batches of up to 500 records and 5 MB, failed records retried alone.

boto3 calls run in a thread pool sized to the batches in flight: botocore is the SDK the rest of
pipectl pins, and aiobotocore would pin botocore to a narrower range than moto and boto3 need.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from collector.buffer import Batch
from collector.events import Record
from collector.sinks import Retry, deliver

MAX_RECORDS = 500
MAX_DATA_BYTES = 5 * 1024 * 1024 - MAX_RECORDS * 256  # 5 MiB per call, partition keys (<= 256 each) included


class KinesisSink:
    name = "kinesis"
    batch_records = MAX_RECORDS
    batch_bytes = MAX_DATA_BYTES

    def __init__(self, client: Any, stream_name: str, linger_s: float, max_in_flight: int) -> None:
        self.client = client
        self.stream_name = stream_name
        self.linger_s = linger_s
        self._pool = ThreadPoolExecutor(max_in_flight, thread_name_prefix="kinesis")

    async def write(self, batch: Batch, retry: Retry) -> list[Record]:
        loop = asyncio.get_running_loop()

        async def send(records: list[Record]) -> list[dict[str, Any]]:
            entries = [{"Data": r.data, "PartitionKey": r.key} for r in records]
            answer = await loop.run_in_executor(self._pool, self._put, entries)
            results: list[dict[str, Any]] = answer["Records"]
            return results

        return await deliver(batch.records, retry, "PutRecords", send)

    def _put(self, entries: list[dict[str, Any]]) -> dict[str, Any]:
        answer: dict[str, Any] = self.client.put_records(StreamName=self.stream_name, Records=entries)
        return answer

    def close(self) -> None:
        self._pool.shutdown(wait=False)
