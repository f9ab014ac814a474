"""The collector's settings, read once from the environment the ingestion stack's task definition sets.

Names match that task definition (SINK_TYPE, ENDPOINT_PATH, APP_IDS, ...); the rest have defaults
sized for one Fargate task. A bad value stops the process before it listens, naming the variable.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, cast

SinkType = Literal["kinesis", "firehose", "s3", "discard"]
PartitionBy = Literal["session", "client"]
SINK_TYPES: tuple[SinkType, ...] = ("kinesis", "firehose", "s3", "discard")
MB = 1024 * 1024


class ConfigError(ValueError):
    """A setting the collector cannot start with; the message names the variable and the value."""


@dataclass(frozen=True)
class Settings:
    sink_type: SinkType
    app_ids: frozenset[str]
    endpoint_path: str = "/collect"
    health_path: str = "/health"
    host: str = "0.0.0.0"
    port: int = 8080
    cors_origins: frozenset[str] = frozenset()
    trace_header: str = "X-Amzn-Trace-Id"
    log_format: Literal["json", "text"] = "json"
    region: str | None = None
    stream_name: str | None = None
    delivery_stream_name: str | None = None
    bucket_name: str | None = None
    bucket_prefix: str = "raw/"
    buffer_bytes: int = 10 * MB
    interval_s: float = 60.0
    max_body_bytes: int = 1 * MB
    max_event_bytes: int = 1000 * 1024  # a Kinesis record is at most 1 MiB, partition key included
    max_events_per_request: int = 1000
    aggregate_bytes: int = 25 * 1024  # one Kinesis PUT payload unit
    queue_events: int = 100_000
    queue_bytes: int = 64 * MB
    linger_s: float = 0.5
    max_in_flight: int = 4
    partition_by: PartitionBy = "session"
    drain_timeout_s: float = 25.0
    read_timeout_s: float = 10.0
    retry_after_s: int = 1
    metrics_interval_s: float = 60.0
    metrics_namespace: str = "pipectl/collector"
    pipeline: str | None = None
    environment: str | None = None
    instance_id: str = field(default_factory=lambda: f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}")


def _text(env: Mapping[str, str], name: str, default: str | None = None) -> str | None:
    value = env.get(name, "").strip()
    return value or default


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = _text(env, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}: expected an integer from {low} to {high}, found {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name}: expected an integer from {low} to {high}, found {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = _text(env, name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}: expected a number from {low:g} to {high:g}, found {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name}: expected a number from {low:g} to {high:g}, found {value:g}")
    return value


def _list(env: Mapping[str, str], name: str) -> frozenset[str]:
    return frozenset(item.strip() for item in env.get(name, "").split(",") if item.strip())


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...], default: str | None) -> str:
    value = _text(env, name, default)
    if value not in choices:
        raise ConfigError(f"{name}: expected one of {', '.join(choices)}, found {value!r}")
    return value


def _path(env: Mapping[str, str], name: str, default: str) -> str:
    value = _text(env, name, default) or default
    if not value.startswith("/"):
        raise ConfigError(f"{name}: expected a path starting with '/', found {value!r}")
    return value


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Settings from `env` (default: this process's environment); raises ConfigError naming the variable."""
    env = os.environ if env is None else env
    sink = cast(SinkType, _choice(env, "SINK_TYPE", SINK_TYPES, None))
    app_ids = _list(env, "APP_IDS")
    if not app_ids:
        raise ConfigError("APP_IDS: expected a comma-separated list of app ids, found nothing")
    stream, bucket = _text(env, "STREAM_NAME"), _text(env, "BUCKET_NAME")
    if sink == "kinesis" and stream is None:
        raise ConfigError("STREAM_NAME: expected the Kinesis stream's name (SINK_TYPE=kinesis), found nothing")
    delivery = _text(env, "DELIVERY_STREAM_NAME")
    if sink == "firehose" and delivery is None:
        raise ConfigError(
            "DELIVERY_STREAM_NAME: expected the Firehose delivery stream (SINK_TYPE=firehose), found nothing"
        )
    if sink == "s3" and bucket is None:
        raise ConfigError("BUCKET_NAME: expected the data bucket's name (SINK_TYPE=s3), found nothing")
    prefix = _text(env, "BUCKET_PREFIX", "raw/") or "raw/"
    return Settings(
        sink_type=sink,
        app_ids=app_ids,
        endpoint_path=_path(env, "ENDPOINT_PATH", "/collect"),
        health_path=_path(env, "HEALTH_PATH", "/health"),
        host=_text(env, "HOST", "0.0.0.0") or "0.0.0.0",
        port=_int(env, "PORT", 8080, 0, 65535),
        cors_origins=_list(env, "CORS_ORIGINS"),
        trace_header=_text(env, "TRACE_HEADER", "X-Amzn-Trace-Id") or "X-Amzn-Trace-Id",
        log_format=cast(Literal["json", "text"], _choice(env, "LOG_FORMAT", ("json", "text"), "json")),
        region=_text(env, "AWS_REGION") or _text(env, "AWS_DEFAULT_REGION"),
        stream_name=stream,
        delivery_stream_name=delivery,
        bucket_name=bucket,
        bucket_prefix=prefix if prefix.endswith("/") else prefix + "/",
        buffer_bytes=_int(env, "BUFFER_MB", 10, 1, 128) * MB,
        interval_s=_float(env, "INTERVAL_S", 60.0, 0.1, 900.0),
        max_body_bytes=_int(env, "MAX_BODY_KB", 1024, 1, 10 * 1024) * 1024,
        max_event_bytes=_int(env, "MAX_EVENT_KB", 1000, 1, 1000) * 1024,
        max_events_per_request=_int(env, "MAX_EVENTS_PER_REQUEST", 1000, 1, 100_000),
        aggregate_bytes=_int(env, "AGGREGATE_KB", 25, 0, 1000) * 1024,
        queue_events=_int(env, "QUEUE_EVENTS", 100_000, 1, 10_000_000),
        queue_bytes=_int(env, "QUEUE_MB", 64, 1, 4096) * MB,
        # A batch leaves full, or when its oldest event has waited this long: the client has its 202
        # already, so waiting costs delivery delay only, and fuller PutRecords calls cost less.
        linger_s=_float(env, "LINGER_MS", 500.0, 0.0, 10_000.0) / 1000,
        max_in_flight=_int(env, "MAX_IN_FLIGHT", 4, 1, 64),
        partition_by=cast(PartitionBy, _choice(env, "PARTITION_BY", ("session", "client"), "session")),
        drain_timeout_s=_float(env, "DRAIN_TIMEOUT_S", 25.0, 0.0, 3600.0),
        read_timeout_s=_float(env, "READ_TIMEOUT_S", 10.0, 0.01, 600.0),
        retry_after_s=_int(env, "RETRY_AFTER_S", 1, 1, 3600),
        metrics_interval_s=_float(env, "METRICS_INTERVAL_S", 60.0, 0.1, 3600.0),
        metrics_namespace=_text(env, "METRICS_NAMESPACE", "pipectl/collector") or "pipectl/collector",
        pipeline=_text(env, "PIPELINE"),
        environment=_text(env, "ENVIRONMENT"),
    )
