"""Kinesis: `PutRecords` batches of up to 500 records and 5 MB, failed records retried alone.

boto3 calls run in a thread pool sized to the batches in flight: botocore is the SDK the rest of
pipectl pins, and aiobotocore would pin botocore to a narrower range than moto and boto3 need.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from collector.buffer import Batch
from collector.events import Record
from collector.sinks import Retry

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
        pending = batch.records
        attempt = 0
        loop = asyncio.get_running_loop()
        while True:
            entries = [{"Data": r.data, "PartitionKey": r.key} for r in pending]
            try:
                answer = await loop.run_in_executor(self._pool, self._put, entries)
            except (ClientError, BotoCoreError) as exc:
                retry.health.failed(f"PutRecords: {exc}")
                failed = pending
            else:
                failed = [r for r, out in zip(pending, answer["Records"], strict=True) if "ErrorCode" in out]
                if failed:
                    codes = sorted({out["ErrorCode"] for out in answer["Records"] if "ErrorCode" in out})
                    retry.health.failed(f"PutRecords: {len(failed)} records failed ({', '.join(codes)})")
                else:
                    retry.health.succeeded()
            if not failed:
                return []
            retry.retried_records += len(failed)
            if not await retry.wait(attempt):
                return failed
            pending, attempt = failed, attempt + 1

    def _put(self, entries: list[dict[str, Any]]) -> dict[str, Any]:
        answer: dict[str, Any] = self.client.put_records(StreamName=self.stream_name, Records=entries)
        return answer

    def close(self) -> None:
        self._pool.shutdown(wait=False)
