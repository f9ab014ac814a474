"""Structured logs and CloudWatch embedded-metric-format (EMF) lines, both one JSON object per line.

The awslogs driver ships stdout to the collector's log group; CloudWatch turns each EMF line into
metrics with no API call from the collector, so metrics cost nothing on the request path.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from typing import Any, TextIO

from collector.config import Settings

EMF_MAX_VALUES = 100


class Log:
    """One line per record: JSON objects (`LOG_FORMAT=json`) or `key=value` text for a terminal."""

    def __init__(self, fmt: str = "json", stream: TextIO | None = None) -> None:
        self.fmt = fmt
        self.stream = stream or sys.stdout

    def __call__(self, level: str, message: str, **fields: Any) -> None:
        record = {"time": _now_iso(), "level": level, "message": message, **fields}
        if self.fmt == "json":
            line = json.dumps(record, separators=(",", ":"), default=str)
        else:
            line = " ".join([record["time"], level.upper(), message, *(f"{k}={v}" for k, v in fields.items())])
        self.stream.write(line + "\n")
        self.stream.flush()

    def emit_raw(self, line: str) -> None:
        self.stream.write(line + "\n")
        self.stream.flush()


def _now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + f".{int(time.time() * 1000) % 1000:03d}Z"


class Metrics:
    """Counters and samples since the last flush; `flush()` returns one EMF document and resets them."""

    def __init__(self, settings: Settings) -> None:
        self.namespace = settings.metrics_namespace
        dimensions = {"Service": "collector", "Sink": settings.sink_type}
        if settings.pipeline:
            dimensions["Pipeline"] = settings.pipeline
        if settings.environment:
            dimensions["Environment"] = settings.environment
        self.dimensions = dimensions
        self.accepted = 0
        self.rejected: Counter[str] = Counter()
        self.batch_fill: list[float] = []  # percent of the sink's batch limit
        self.sink_latency_ms: list[float] = []
        self.retried = 0
        self.undelivered = 0
        # Totals since start, for /health and tests; never reset.
        self.total_accepted = 0
        self.total_rejected: Counter[str] = Counter()

    def accept(self, events: int) -> None:
        self.accepted += events
        self.total_accepted += events

    def reject(self, reason: str, events: int = 1) -> None:
        self.rejected[reason] += events
        self.total_rejected[reason] += events

    def flush(self, queue_depth: int) -> list[dict[str, Any]]:
        """EMF documents for this interval, then reset: counters in the first, and samples in chunks
        of at most 100 values per metric, EMF's limit."""
        counts: dict[str, float] = {
            "EventsAccepted": self.accepted,
            "EventsRejected": sum(self.rejected.values()),
            "QueueDepth": queue_depth,
            "RecordsRetried": self.retried,
            "EventsUndelivered": self.undelivered,
        }
        counts |= {f"EventsRejected_{reason}": n for reason, n in sorted(self.rejected.items())}
        documents = [self._document(dict.fromkeys(counts, "Count"), dict(counts))]
        samples = {"BatchFill": ("Percent", self.batch_fill), "SinkLatency": ("Milliseconds", self.sink_latency_ms)}
        longest = max(len(self.batch_fill), len(self.sink_latency_ms))
        for start in range(0, longest, EMF_MAX_VALUES):
            chunk = {name: values[start : start + EMF_MAX_VALUES] for name, (_, values) in samples.items()}
            chunk = {name: values for name, values in chunk.items() if values}
            documents.append(self._document({name: samples[name][0] for name in chunk}, chunk))
        self.accepted, self.retried, self.undelivered = 0, 0, 0
        self.rejected = Counter()
        self.batch_fill, self.sink_latency_ms = [], []
        return documents

    def _document(self, units: dict[str, str], values: dict[str, Any]) -> dict[str, Any]:
        return {
            "_aws": {
                "Timestamp": int(time.time() * 1000),
                "CloudWatchMetrics": [
                    {
                        "Namespace": self.namespace,
                        "Dimensions": [sorted(self.dimensions)],
                        "Metrics": [{"Name": name, "Unit": unit} for name, unit in units.items()],
                    }
                ],
            },
            **self.dimensions,
            **values,
        }
