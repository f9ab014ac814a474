"""The collector under test: served in a thread of the test process (so a test can hand it a sink with
injected faults) or as a real subprocess, against the local target's Kinesis and S3 (moto's server)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
import requests
from aiohttp import web

from collector.app import STATE, State
from collector.config import Settings, load_settings
from collector.server import serve
from collector.sinks import Sink
from collector.telemetry import Log
from generator.deploy.local import start_embedded

REGION = "eu-west-1"
APP_IDS = "shop_web,shop_ios"


@pytest.fixture(scope="session")
def local_aws() -> Iterator[str]:
    """The local target's endpoint; each test uses its own stream or bucket, so none resets it."""
    with start_embedded() as local:
        yield local.endpoint


@pytest.fixture
def aws_env(local_aws: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    env = {"AWS_ENDPOINT_URL": local_aws, "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def client(service: str, endpoint: str) -> Any:
    return boto3.client(service, region_name=REGION, endpoint_url=endpoint)


@pytest.fixture
def stream(local_aws: str) -> str:
    name = f"events-{uuid.uuid4().hex[:10]}"
    client("kinesis", local_aws).create_stream(StreamName=name, ShardCount=2)
    return name


@pytest.fixture
def bucket(local_aws: str) -> str:
    name = f"data-{uuid.uuid4().hex[:10]}"
    client("s3", local_aws).create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    return name


def stream_events(endpoint: str, stream_name: str) -> list[dict[str, Any]]:
    """Every event of every record of every shard, from the start: the lines the sink function splits."""
    kinesis = client("kinesis", endpoint)
    out = []
    for shard in kinesis.list_shards(StreamName=stream_name)["Shards"]:
        iterator = kinesis.get_shard_iterator(
            StreamName=stream_name, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            page = kinesis.get_records(ShardIterator=iterator, Limit=10000)
            out += [json.loads(line) for r in page["Records"] for line in r["Data"].splitlines()]
            if not page["Records"]:
                break
            iterator = page.get("NextShardIterator")
    return out


def settings(**env: str) -> Settings:
    base = {
        "SINK_TYPE": "discard",
        "APP_IDS": APP_IDS,
        "PORT": "0",
        "HOST": "127.0.0.1",
        "LINGER_MS": "5",
        "AWS_REGION": REGION,
    }
    return load_settings(base | env)


@dataclass
class Running:
    url: str
    health_url: str
    app: web.Application
    log: io.StringIO
    loop: asyncio.AbstractEventLoop
    stop_event: asyncio.Event
    thread: threading.Thread
    result: dict[str, int]

    @property
    def state(self) -> State:
        return self.app[STATE]

    def post(self, body: Any, **kwargs: Any) -> requests.Response:
        data = body if isinstance(body, bytes | str) else json.dumps(body)
        headers = {"Content-Type": "application/json"} | kwargs.pop("headers", {})
        return requests.post(self.url, data=data, headers=headers, timeout=10, **kwargs)

    def stop(self) -> int:
        if self.thread.is_alive():
            self.loop.call_soon_threadsafe(self.stop_event.set)
            self.thread.join(60)
        return self.result.get("code", -1)

    def wait_delivered(self, count: int, timeout: float = 20.0) -> None:
        """Until the sink has taken `count` records and the buffer is empty, or fail."""
        self.wait_for(lambda: self.state.pump.events >= count and self.state.buffer.pending_events == 0, timeout)

    def wait_for(self, condition: Callable[[], bool], timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.02)
        raise AssertionError(f"not within {timeout}s: the sink took {self.state.pump.events} records")


@contextlib.contextmanager
def running(config: Settings, make_sink: Callable[[Settings], Sink] | None = None) -> Iterator[Running]:
    """Serve the collector on a loopback port in a thread; stopped (drained) on exit."""
    ready = threading.Event()
    holder: dict[str, Any] = {}
    result: dict[str, int] = {}
    log = io.StringIO()
    loop = asyncio.new_event_loop()

    def on_ready(app: web.Application, port: int) -> None:
        holder.update(app=app, port=port)
        ready.set()

    async def main() -> int:
        holder["stop"] = asyncio.Event()
        sink = make_sink(config) if make_sink else None
        return await serve(config, sink=sink, log=Log("json", log), on_ready=on_ready, stop=holder["stop"])

    def target() -> None:
        asyncio.set_event_loop(loop)
        try:
            result["code"] = loop.run_until_complete(main())
        finally:
            ready.set()
            loop.close()

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    if not ready.wait(15) or "port" not in holder:
        raise RuntimeError(f"collector did not start: {log.getvalue()}")
    base = f"http://127.0.0.1:{holder['port']}"
    run = Running(
        base + config.endpoint_path,
        base + config.health_path,
        holder["app"],
        log,
        loop,
        holder["stop"],
        thread,
        result,
    )
    try:
        yield run
    finally:
        run.stop()
