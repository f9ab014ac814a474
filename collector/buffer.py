"""The bounded queue between requests and the sink: back-pressure instead of loss.

Capacity counts events from the moment they are accepted until the sink confirms them, in flight
included, so a slow sink fills it and the collector answers 503 before memory grows. Takers get
batches filled toward a count and a byte size, or whatever has waited `linger` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from dataclasses import dataclass

from collector.events import Record


@dataclass(frozen=True, slots=True)
class Batch:
    records: list[Record]
    size: int  # bytes of event data
    oldest: float  # monotonic time the first record was queued


class Buffer:
    def __init__(self, max_events: int, max_bytes: int) -> None:
        self.max_events = max_events
        self.max_bytes = max_bytes
        self.pending_events = 0  # queued or in flight
        self.pending_bytes = 0
        self._queue: deque[tuple[Record, float]] = deque()
        self._queued_bytes = 0
        self._arrived = asyncio.Event()
        self.closed = False

    @property
    def queued(self) -> int:
        return len(self._queue)

    def offer(self, records: list[Record]) -> bool:
        """Queue all of `records`, or none when they do not fit (the caller answers 503)."""
        if self.closed:
            return False
        size = sum(len(r.data) for r in records)
        count = sum(r.events for r in records)
        if self.pending_events + count > self.max_events or self.pending_bytes + size > self.max_bytes:
            return False
        now = time.monotonic()
        self._queue.extend((r, now) for r in records)
        self.pending_events += count
        self.pending_bytes += size
        self._queued_bytes += size
        self._arrived.set()
        return True

    async def take(self, max_records: int, max_bytes: int, linger: float) -> Batch | None:
        """The next batch: full, or holding what waited `linger` seconds; None once closed and empty."""
        while True:
            if self._queue:
                full = len(self._queue) >= max_records or self._queued_bytes >= max_bytes
                wait = self._queue[0][1] + linger - time.monotonic()
                if full or wait <= 0 or self.closed:
                    return self._pop(max_records, max_bytes)
            elif self.closed:
                return None
            else:
                wait = None
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), wait)

    def _pop(self, max_records: int, max_bytes: int) -> Batch:
        records: list[Record] = []
        size = 0
        oldest = self._queue[0][1]
        while self._queue and len(records) < max_records:
            record = self._queue[0][0]
            if records and size + len(record.data) > max_bytes:
                break
            self._queue.popleft()
            records.append(record)
            size += len(record.data)
        self._queued_bytes -= size
        return Batch(records, size, oldest)

    def done(self, records: list[Record]) -> None:
        """The sink holds `records` for good: their room is free again."""
        self.pending_events -= sum(r.events for r in records)
        self.pending_bytes -= sum(len(r.data) for r in records)

    def close(self) -> None:
        """No more offers; takers drain what is queued, then get None."""
        self.closed = True
        self._arrived.set()

    def drain_remaining(self) -> list[Record]:
        """Whatever is still queued (after a drain ran out of time), removed from the queue."""
        left = [record for record, _ in self._queue]
        self._queue.clear()
        self._queued_bytes = 0
        return left
