"""Batching, retries and back-pressure of the Kinesis sink against the local target's Kinesis.

moto's Kinesis never throttles, so throttling is injected: `Throttling` wraps the real client and
marks chosen records of a real PutRecords answer as failed (after writing only the others), or
refuses whole calls, exactly as Kinesis answers when a shard is over its limits.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from typing import Any

from botocore.exceptions import ClientError

from collector.config import Settings
from collector.server import aws_client
from collector.sinks.kinesis import KinesisSink
from tests.collector.conftest import running, settings, stream_events

THROTTLED = "ProvisionedThroughputExceededException"


class Throttling:
    """A fault-injecting wrapper of a boto3 Kinesis client (see the module docstring)."""

    def __init__(self, real: Any, fail_every: int = 0, refuse_calls: int = 0) -> None:
        self.real = real
        self.fail_every = fail_every  # every n-th record of a call fails, once per record
        self.refuse_calls = refuse_calls  # the first n calls fail whole
        self.calls: list[int] = []
        self.failed_once: set[bytes] = set()
        self.gate = threading.Event()
        self.gate.set()

    def put_records(self, StreamName: str, Records: list[dict[str, Any]]) -> dict[str, Any]:
        self.gate.wait(30)
        self.calls.append(len(Records))
        if self.refuse_calls:
            self.refuse_calls -= 1
            raise ClientError({"Error": {"Code": THROTTLED, "Message": "Rate exceeded"}}, "PutRecords")
        fail = {
            i
            for i, r in enumerate(Records)
            if self.fail_every and i % self.fail_every == 0 and r["Data"] not in self.failed_once
        }
        self.failed_once |= {Records[i]["Data"] for i in fail}
        sent = [r for i, r in enumerate(Records) if i not in fail]
        answers = iter(self.real.put_records(StreamName=StreamName, Records=sent)["Records"] if sent else [])
        out = [
            {"ErrorCode": THROTTLED, "ErrorMessage": "Rate exceeded"} if i in fail else next(answers)
            for i in range(len(Records))
        ]
        return {"FailedRecordCount": len(fail), "Records": out}


def kinesis_settings(stream: str, **env: str) -> Settings:
    return settings(SINK_TYPE="kinesis", STREAM_NAME=stream, **env)


def sink_with(wrapper: dict[str, Throttling], **options: int) -> Any:
    def make(config: Settings) -> KinesisSink:
        wrapper["client"] = Throttling(aws_client("kinesis", config), **options)
        return KinesisSink(wrapper["client"], config.stream_name or "", config.linger_s, config.max_in_flight)

    return make


def batch(start: int, size: int = 10) -> list[dict[str, Any]]:
    return [
        {"app_id": "shop_web", "event_id": f"e{start + i}", "session_id": f"s{(start + i) % 7}"} for i in range(size)
    ]


def test_batches_fill_toward_500_records_when_events_arrive_faster_than_the_linger(
    aws_env: dict[str, str], stream: str
) -> None:
    wrapper: dict[str, Throttling] = {}
    config = kinesis_settings(stream, LINGER_MS="2000", AGGREGATE_KB="0")  # one event per record
    with running(config, sink_with(wrapper)) as collector:
        for start in range(0, 1200, 100):
            assert collector.post(batch(start, 100)).status_code == 202
        collector.wait_delivered(1200)
    assert wrapper["client"].calls[:2] == [500, 500]
    assert sum(wrapper["client"].calls) == 1200
    ids = Counter(e["event_id"] for e in stream_events(aws_env["AWS_ENDPOINT_URL"], stream))
    assert ids == Counter(f"e{i}" for i in range(1200))


def test_a_partial_batch_leaves_after_the_linger(aws_env: dict[str, str], stream: str) -> None:
    wrapper: dict[str, Throttling] = {}
    with running(kinesis_settings(stream, LINGER_MS="100"), sink_with(wrapper)) as collector:
        started = time.monotonic()
        assert collector.post(batch(0, 3)).status_code == 202
        collector.wait_delivered(3, timeout=5)
        assert 0.09 <= time.monotonic() - started < 3
    assert wrapper["client"].calls == [3]


def test_throttled_records_are_retried_alone_until_all_land_once(aws_env: dict[str, str], stream: str) -> None:
    wrapper: dict[str, Throttling] = {}
    with running(kinesis_settings(stream), sink_with(wrapper, fail_every=3, refuse_calls=2)) as collector:
        for start in range(0, 300, 10):
            assert collector.post(batch(start)).status_code == 202
        collector.wait_delivered(300)
        assert collector.state.metrics.retried + collector.state.pump.retry.retried_records > 0
    client = wrapper["client"]
    assert len(client.calls) > 3  # two refused calls, then retries of the throttled records
    ids = Counter(e["event_id"] for e in stream_events(aws_env["AWS_ENDPOINT_URL"], stream))
    assert ids == Counter(f"e{i}" for i in range(300))


def test_a_sink_that_cannot_keep_up_answers_503_with_retry_after_and_loses_nothing(
    aws_env: dict[str, str], stream: str
) -> None:
    wrapper: dict[str, Throttling] = {}
    with running(kinesis_settings(stream, QUEUE_EVENTS="50"), sink_with(wrapper)) as collector:
        wrapper["client"].gate.clear()  # the stream stops answering
        answers = [collector.post(batch(start)) for start in range(0, 100, 10)]
        codes = [a.status_code for a in answers]
        assert codes[:5] == [202] * 5 and set(codes[5:]) == {503}
        assert all(a.headers["Retry-After"] == "1" for a in answers[5:])
        assert json.loads(collector.post(batch(999)).text)["error"] == "queue_full"
        wrapper["client"].gate.set()
        collector.wait_delivered(50)
        assert collector.post(batch(500)).status_code == 202
        collector.wait_delivered(60)
        assert collector.state.metrics.total_rejected["queue_full"] == 60
    ids = {e["event_id"] for e in stream_events(aws_env["AWS_ENDPOINT_URL"], stream)}
    assert ids == {f"e{i}" for i in [*range(50), *range(500, 510)]}


def test_health_reports_a_full_queue_and_recovers(aws_env: dict[str, str], stream: str) -> None:
    import requests

    wrapper: dict[str, Throttling] = {}
    with running(kinesis_settings(stream, QUEUE_EVENTS="10"), sink_with(wrapper)) as collector:
        assert requests.get(collector.health_url, timeout=5).status_code == 200
        wrapper["client"].gate.clear()
        assert collector.post(batch(0)).status_code == 202
        unhealthy = requests.get(collector.health_url, timeout=5)
        assert unhealthy.status_code == 503 and unhealthy.json()["problems"] == ["queue_full"]
        wrapper["client"].gate.set()
        collector.wait_delivered(10)
        healthy = requests.get(collector.health_url, timeout=5).json()
        assert healthy["status"] == "ok" and healthy["sink"]["events"] == 10
