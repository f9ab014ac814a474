"""Where accepted events go: one module per sink type, all behind the `Sink` protocol.

A sink's `write` returns only when every record of the batch is held by AWS, retrying throttled and
failed records with backoff and full jitter; it gives up only when the drain deadline has passed,
and then returns the records it could not deliver so the caller can log them (never a silent drop).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from collector.buffer import Batch
from collector.events import Record

Send = Callable[[list[Record]], Awaitable[list[dict[str, Any]]]]
"""One batch call: the records in, one result per record out (with ErrorCode where that record failed)."""


class Sink(Protocol):
    name: str
    batch_records: int
    batch_bytes: int
    linger_s: float

    async def write(self, batch: Batch, retry: Retry) -> list[Record]:
        """Deliver the batch; returns the records given up on (empty unless the deadline passed)."""
        ...

    def close(self) -> None: ...


@dataclass
class SinkHealth:
    """What the sink's own calls said lately: the health endpoint reads it instead of calling AWS."""

    consecutive_failures: int = 0
    failing_since: float | None = None
    last_success: float | None = None
    last_error: str | None = None

    def succeeded(self) -> None:
        self.consecutive_failures, self.failing_since, self.last_error = 0, None, None
        self.last_success = time.monotonic()

    def failed(self, error: str) -> None:
        self.consecutive_failures += 1
        self.last_error = error[:300]
        if self.failing_since is None:
            self.failing_since = time.monotonic()

    def failing_for(self) -> float:
        return 0.0 if self.failing_since is None else time.monotonic() - self.failing_since


@dataclass
class Retry:
    """Backoff with full jitter (AWS's recommendation), forever until `deadline` (monotonic) is set and passed."""

    base_s: float = 0.05
    cap_s: float = 5.0
    deadline: float | None = None
    health: SinkHealth = field(default_factory=SinkHealth)
    retried_records: int = 0

    def expired(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    async def wait(self, attempt: int) -> bool:
        """Sleep before attempt `attempt + 1`; False when the deadline leaves no time for it."""
        delay = random.uniform(0, min(self.cap_s, self.base_s * 2**attempt))
        if self.deadline is not None:
            left = self.deadline - time.monotonic()
            if left <= 0:
                return False
            delay = min(delay, left)
        await asyncio.sleep(delay)
        return not self.expired()


async def deliver(records: list[Record], retry: Retry, operation: str, send: Send) -> list[Record]:
    """The retry loop the batch APIs share (PutRecords, PutRecordBatch): a failed call resends the whole
    batch, a partly failed one only its failed records, with `retry`'s backoff, until none fail or the
    deadline passes; returns the records given up on. Every outcome is reported to `retry.health`."""
    pending, attempt = records, 0
    while True:
        try:
            results = await send(pending)
        except (ClientError, BotoCoreError) as exc:
            retry.health.failed(f"{operation}: {exc}")
            failed = pending
        else:
            failed = [r for r, out in zip(pending, results, strict=True) if "ErrorCode" in out]
            if failed:
                codes = sorted({out["ErrorCode"] for out in results if "ErrorCode" in out})
                retry.health.failed(f"{operation}: {len(failed)} records failed ({', '.join(codes)})")
            else:
                retry.health.succeeded()
        if not failed:
            return []
        retry.retried_records += len(failed)
        if not await retry.wait(attempt):
            return failed
        pending, attempt = failed, attempt + 1
