"""Start, serve and drain: the collector process from its first log line to its exit.

On SIGTERM (ECS stopping the task) the collector answers new requests with 503, closes its listening
socket, lets running requests finish, delivers everything acknowledged within DRAIN_TIMEOUT_S (kept
under the ECS stop timeout) and only then exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable
from typing import Any

import boto3
from aiohttp import web
from botocore.config import Config

from collector.app import STATE, State, make_app
from collector.buffer import Buffer
from collector.config import Settings
from collector.pump import Pump
from collector.sinks import Sink
from collector.sinks.discard import DiscardSink
from collector.sinks.firehose import FirehoseSink
from collector.sinks.kinesis import KinesisSink
from collector.sinks.s3 import S3Sink
from collector.telemetry import Log, Metrics

REQUESTS_FINISH_S = 5.0  # running requests only queue events: they finish in milliseconds


def aws_client(service: str, settings: Settings) -> Any:
    """A boto3 client whose own retries are off: the sinks retry record by record, with jitter.
    AWS_ENDPOINT_URL (the local target) is honoured by boto3 itself."""
    config = Config(
        retries={"max_attempts": 1, "mode": "standard"},
        connect_timeout=2,
        read_timeout=5,
        max_pool_connections=settings.max_in_flight + 2,
        parameter_validation=False,  # events are checked on arrival; botocore's walk costs ~10 us a record
    )
    return boto3.session.Session().client(service, region_name=settings.region, config=config)


def make_sink(settings: Settings) -> Sink:
    if settings.sink_type == "kinesis" and settings.stream_name:
        client = aws_client("kinesis", settings)
        return KinesisSink(client, settings.stream_name, settings.linger_s, settings.max_in_flight)
    if settings.sink_type == "firehose" and settings.delivery_stream_name:
        client = aws_client("firehose", settings)
        return FirehoseSink(client, settings.delivery_stream_name, settings.linger_s, settings.max_in_flight)
    if settings.sink_type == "s3" and settings.bucket_name:
        client = aws_client("s3", settings)
        return S3Sink(
            client,
            settings.bucket_name,
            settings.bucket_prefix,
            settings.instance_id,
            settings.buffer_bytes,
            settings.interval_s,
        )
    return DiscardSink(settings.linger_s)


async def serve(
    settings: Settings,
    sink: Sink | None = None,
    log: Log | None = None,
    on_ready: Callable[[web.Application, int], None] | None = None,
    stop: asyncio.Event | None = None,
) -> int:
    """Run until SIGTERM/SIGINT (or `stop` is set); returns the exit code, 0 after a complete drain."""
    log = log or Log(settings.log_format)
    metrics = Metrics(settings)
    buffer = Buffer(settings.queue_events, settings.queue_bytes)
    pump = Pump(buffer, sink or make_sink(settings), metrics, log, settings.max_in_flight)
    state = State(settings, buffer, pump, metrics, log)
    app = make_app(state)
    runner = web.AppRunner(
        app,
        auto_decompress=False,  # the collector inflates gzip itself, with a limit
        access_log=None,
        handle_signals=False,
        shutdown_timeout=REQUESTS_FINISH_S,
        max_headers=64,
        max_field_size=8190,
        max_line_size=8190,
        keepalive_timeout=75,  # longer than the load balancer's idle timeout (60 s)
        lingering_time=1.0,  # after a refused body, read on at most this long so the client sees the answer
    )
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port, reuse_address=True, backlog=1024)
    await site.start()
    port = _bound_port(runner, settings.port)
    pump.start()
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):  # not the main thread
            loop.add_signal_handler(signum, stop.set)
    emitter = asyncio.create_task(_emit_metrics(state, settings.metrics_interval_s))
    log(
        "info",
        "collector listening",
        port=port,
        endpoint=settings.endpoint_path,
        sink=pump.sink.name,
        apps=sorted(settings.app_ids),
    )
    if on_ready is not None:
        on_ready(app, port)
    await stop.wait()
    log("info", "draining", queued=buffer.pending_events, timeout_s=settings.drain_timeout_s)
    app[STATE].draining = True
    await runner.cleanup()
    await pump.stop(settings.drain_timeout_s)
    emitter.cancel()
    _emit(state)
    log(
        "info",
        "collector stopped",
        delivered=pump.events,
        undelivered=pump.undelivered,
        accepted=metrics.total_accepted,
    )
    return 0 if pump.undelivered == 0 else 1


def _bound_port(runner: web.AppRunner, asked: int) -> int:
    for address in runner.addresses:
        if isinstance(address, tuple):
            return int(address[1])
    return asked


async def _emit_metrics(state: State, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        _emit(state)


def _emit(state: State) -> None:
    for document in state.metrics.flush(state.buffer.pending_events):
        state.log.emit_raw(_compact(document))


def _compact(document: dict[str, Any]) -> str:
    from collector.events import encode_json

    return encode_json(document)
