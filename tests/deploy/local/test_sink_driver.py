"""The local event source mapping against the local Kinesis: batches, checkpoints, bisection on a
failing batch, retries, and the dead-letter report, with the handler as the test gives it."""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from generator.deploy.local import LocalSession
from generator.deploy.local.sink_driver import Mapping, StreamDriver, sink_handler
from tests.deploy.local.conftest import REGION, unique


def filled_stream(session: LocalSession, count: int) -> str:
    name = unique("driven")
    kinesis = session.client("kinesis")
    kinesis.create_stream(StreamName=name, ShardCount=1)
    for start in range(0, count, 500):
        records = [
            {"Data": json.dumps({"n": n}).encode(), "PartitionKey": "k"} for n in range(start, min(count, start + 500))
        ]
        kinesis.put_records(StreamName=name, Records=records)
    return name


class Recorder:
    """A handler that records what it was handed, failing on any batch holding a poisoned number."""

    def __init__(self, poisoned: frozenset[int] = frozenset()) -> None:
        self.poisoned = poisoned
        self.batches: list[list[int]] = []
        self.failures = 0

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        numbers = [json.loads(base64.b64decode(r["kinesis"]["data"]))["n"] for r in event["Records"]]
        assert context.get_remaining_time_in_millis() > 0
        assert all(r["eventSource"] == "aws:kinesis" and ":" in r["eventID"] for r in event["Records"])
        if self.poisoned & set(numbers):
            self.failures += 1
            raise ValueError("poisoned record")
        self.batches.append(numbers)
        return {"records": len(numbers)}


def driver(
    session: LocalSession, stream: str, handler: Any, checkpoint: Path, reports: list[dict[str, Any]], **options: Any
) -> StreamDriver:
    mapping = Mapping(stream, REGION, window_s=0.0, backoff_s=0.0, **options)
    return StreamDriver(session.client("kinesis"), handler, mapping, checkpoint, reports.append)


def test_batches_are_cut_at_the_batch_size_and_the_checkpoint_resumes(session: LocalSession, tmp_path: Path) -> None:
    stream = filled_stream(session, 2500)
    handler, reports = Recorder(), []  # type: ignore[var-annotated]
    first = driver(session, stream, handler, tmp_path / "checkpoint.json", reports)
    while first.poll(flush=True):
        pass
    assert [len(b) for b in handler.batches] == [1000, 1000, 500]
    assert [n for b in handler.batches for n in b] == list(range(2500))
    kinesis = session.client("kinesis")
    kinesis.put_records(StreamName=stream, Records=[{"Data": json.dumps({"n": 2500}).encode(), "PartitionKey": "k"}])
    again = Recorder()
    resumed = driver(session, stream, again, tmp_path / "checkpoint.json", reports)
    while resumed.poll(flush=True):
        pass
    assert again.batches == [[2500]]  # only what came after the checkpoint
    assert reports == []


def test_a_failing_batch_is_bisected_and_only_the_poisoned_record_is_reported(
    session: LocalSession, tmp_path: Path
) -> None:
    stream = filled_stream(session, 64)
    handler, reports = Recorder(poisoned=frozenset({37})), []  # type: ignore[var-annotated]
    driven = driver(session, stream, handler, tmp_path / "checkpoint.json", reports, max_retries=2)
    while driven.poll(flush=True):
        pass
    assert sorted(n for b in handler.batches for n in b) == [n for n in range(64) if n != 37]
    [report] = reports
    info = report["KinesisBatchInfo"]
    assert info["batchSize"] == 1 and info["startSequenceNumber"] == info["endSequenceNumber"]
    assert report["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert "poisoned record" in report["responseContext"]["error"]
    assert handler.failures == 6 + 3  # the bisections down to one record, then its three attempts
    assert json.loads((tmp_path / "checkpoint.json").read_text())  # the stream moved on past it


def test_the_sink_function_itself_writes_the_batch_under_raw(
    session: LocalSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from generator.deploy.local.session import local_env
    from generator.stacks.functions import sink

    for name, value in local_env(session.endpoint, REGION).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(sink, "_client", None)
    bucket = unique("raw-bucket")
    session.client("s3").create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    for name in ("BUCKET", "RAW_PREFIX"):  # sink_handler sets them for the process, as Lambda does: undo after
        monkeypatch.setenv(name, "")
    handler = sink_handler(bucket, "raw/")
    stream, reports = filled_stream(session, 10), []  # type: ignore[var-annotated]
    driven = driver(session, stream, handler, tmp_path / "checkpoint.json", reports)
    assert driven.poll(flush=True) == 10
    s3 = session.client("s3")
    [item] = s3.list_objects_v2(Bucket=bucket, Prefix="raw/")["Contents"]
    lines = gzip.decompress(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()).splitlines()
    assert [json.loads(line)["n"] for line in lines] == list(range(10))
