"""Moves batches from the buffer to the sink, a few in flight at once, and drains on shutdown.

A new batch is taken only when a write slot is free, so while the sink is busy the next batch keeps
filling: at saturation batches leave full. Records leave the buffer's count only once the sink holds
them, and whatever the drain deadline leaves undelivered is written to the log, event by event.
"""

from __future__ import annotations

import asyncio
import time

from collector.buffer import Batch, Buffer
from collector.events import Record
from collector.sinks import Retry, Sink
from collector.telemetry import Log, Metrics


class Pump:
    def __init__(self, buffer: Buffer, sink: Sink, metrics: Metrics, log: Log, max_in_flight: int) -> None:
        self.buffer = buffer
        self.sink = sink
        self.metrics = metrics
        self.log = log
        self.retry = Retry()
        self._slots = asyncio.Semaphore(max_in_flight)
        self._writes: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None
        # Totals since start: the health endpoint and the benchmark read them.
        self.batches = 0
        self.events = 0  # delivered
        self.records = 0  # delivered sink records (Kinesis records hold one or more events)
        self.undelivered = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="pump")

    async def _run(self) -> None:
        while True:
            await self._slots.acquire()
            batch = await self.buffer.take(self.sink.batch_records, self.sink.batch_bytes, self.sink.linger_s)
            if batch is None:
                self._slots.release()
                break
            task = asyncio.create_task(self._write(batch))
            self._writes.add(task)
            task.add_done_callback(self._writes.discard)
        if self._writes:
            await asyncio.gather(*self._writes)

    async def _write(self, batch: Batch) -> None:
        started = time.monotonic()
        try:
            undelivered = await self.sink.write(batch, self.retry)
        finally:
            self._slots.release()
        self.metrics.sink_latency_ms.append(round((time.monotonic() - started) * 1000, 2))
        self.metrics.batch_fill.append(round(self.fill(batch), 1))
        self.metrics.retried, self.retry.retried_records = self.metrics.retried + self.retry.retried_records, 0
        self.batches += 1
        self.events += sum(r.events for r in batch.records) - sum(r.events for r in undelivered)
        self.records += len(batch.records) - len(undelivered)
        if undelivered:
            self._give_up(undelivered, "the drain deadline passed while the sink kept failing")
        self.buffer.done(batch.records)

    def fill(self, batch: Batch) -> float:
        """Percent of the sink's batch limit: records for Kinesis, bytes for S3."""
        if self.sink.batch_records < 10**9:
            return 100.0 * len(batch.records) / self.sink.batch_records
        return 100.0 * batch.size / self.sink.batch_bytes

    async def stop(self, timeout: float) -> None:
        """Stop taking offers, deliver what is queued within `timeout` seconds, log the rest."""
        self.retry.deadline = time.monotonic() + timeout
        self.buffer.close()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), timeout + 1.0)
            except TimeoutError:
                self._task.cancel()
        left = self.buffer.drain_remaining()
        if left:
            self._give_up(left, "the drain deadline passed before the sink took them")
            self.buffer.done(left)
        self.sink.close()

    def _give_up(self, records: list[Record], why: str) -> None:
        """The last resort: each event goes to the log group, whole, so it can be replayed from there."""
        count = sum(r.events for r in records)
        self.undelivered += count
        self.metrics.undelivered += count
        self.log("error", "events not delivered to the sink", count=count, reason=why)
        for record in records:
            for line in record.data.split(b"\n"):
                self.log.emit_raw('{"undelivered":' + line.decode("utf-8") + "}")
