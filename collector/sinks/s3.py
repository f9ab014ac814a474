"""S3: gzip newline-delimited JSON objects under `raw/YYYY/MM/DD/HH/`, the layout the enrich function lists.

An object is written when the buffered events reach BUFFER_MB or the oldest has waited INTERVAL_S.
Keys carry the collector instance and a sequence number, so two tasks never overwrite each other.
"""

from __future__ import annotations

import asyncio
import gzip
import itertools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from collector.buffer import Batch
from collector.events import Record
from collector.sinks import Retry


def object_key(prefix: str, instance: str, sequence: int, now: datetime) -> str:
    return f"{prefix}{now:%Y/%m/%d/%H}/collector-{instance}-{now:%Y%m%dT%H%M%S}-{sequence:06d}.json.gz"


def body(records: list[Record]) -> bytes:
    return gzip.compress(b"\n".join(r.data for r in records) + b"\n", compresslevel=6, mtime=0)


class S3Sink:
    name = "s3"
    batch_records = 10**9

    def __init__(
        self,
        client: Any,
        bucket: str,
        prefix: str,
        instance: str,
        buffer_bytes: int,
        interval_s: float,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        self.instance = instance
        self.batch_bytes = buffer_bytes
        self.linger_s = interval_s
        self._now = now
        self._sequence = itertools.count(1)
        self._pool = ThreadPoolExecutor(2, thread_name_prefix="s3")

    async def write(self, batch: Batch, retry: Retry) -> list[Record]:
        loop = asyncio.get_running_loop()
        data = await loop.run_in_executor(self._pool, body, batch.records)
        key = object_key(self.prefix, self.instance, next(self._sequence), self._now())
        attempt = 0
        while True:
            try:
                await loop.run_in_executor(self._pool, self._put, key, data)
            except (ClientError, BotoCoreError) as exc:
                retry.health.failed(f"PutObject {key}: {exc}")
            else:
                retry.health.succeeded()
                return []
            retry.retried_records += len(batch.records)
            if not await retry.wait(attempt):
                return batch.records
            attempt += 1

    def _put(self, key: str, data: bytes) -> None:
        self.client.put_object(
            Bucket=self.bucket,
            Key=key,
            Body=data,
            ContentType="application/x-ndjson",
            ContentEncoding="gzip",
        )

    def close(self) -> None:
        self._pool.shutdown(wait=False)
