"""Collectors on the local target: specs read from the built templates, collector and sink-driver
processes started against the embedded AWS, and an event posted locally found in the local S3 under raw/."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from generator.deploy.local import EmbeddedAws, LocalSession
from generator.deploy.local.collectors import (
    collector_specs,
    collector_status,
    collector_url,
    start_collectors,
    stop_collectors,
)
from generator.deploy.manifest import Manifest, load_manifest

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Manifest:
    """The example pipelines, synthesized as `pipectl synth` does."""
    build = tmp_path_factory.mktemp("collectors") / "build"
    pipectl = shutil.which("pipectl")
    assert pipectl is not None
    subprocess.run(
        [pipectl, "synth", "--build-dir", str(build)], cwd=REPO, check=True, capture_output=True, timeout=300
    )
    return load_manifest(build)


def test_specs_come_from_the_task_definition_with_imports_resolved(manifest: Manifest) -> None:
    exports = {
        "pipectl-shop-test-storage:StreamName": "shop-stream",
        "pipectl-shop-test-storage:DataBucketName": "shop-data",
        "pipectl-shop-test-processing:DeadLetterQueueName": "shop-dlq",
        "pipectl-mobile-test-storage:DataBucketName": "mobile-data",
    }
    specs = {(s.pipeline, s.env): s for s in collector_specs(manifest, exports)}
    assert set(specs) == {("shop", "test"), ("mobile", "test")}  # the others export nothing: not deployed
    shop = specs["shop", "test"]
    assert shop.variables["APP_IDS"] == "shop_web,shop_ios"
    assert shop.variables["SINK_TYPE"] == "kinesis" and shop.variables["STREAM_NAME"] == "shop-stream"
    assert shop.variables["ENDPOINT_PATH"] == "/collect"
    assert (shop.stream_name, shop.bucket, shop.raw_prefix, shop.dead_letter_queue) == (
        "shop-stream", "shop-data", "raw/", "shop-dlq",
    )  # fmt: skip
    mobile = specs["mobile", "test"]
    assert mobile.variables["SINK_TYPE"] == "s3" and mobile.variables["BUCKET_NAME"] == "mobile-data"
    assert mobile.variables["BUCKET_PREFIX"] == "raw/" and mobile.stream_name is None


def storage_stand_in(session: LocalSession) -> None:
    """The exports the shop pipeline's collector and sink function import, created through the local
    CloudFormation: a stream, a bucket and a dead-letter queue."""
    cloudformation = session.client("cloudformation")
    storage = {
        "Resources": {
            "Stream": {"Type": "AWS::Kinesis::Stream", "Properties": {"ShardCount": 2}},
            "Bucket": {"Type": "AWS::S3::Bucket"},
        },
        "Outputs": {
            "StreamName": {"Value": {"Ref": "Stream"}, "Export": {"Name": "pipectl-shop-test-storage:StreamName"}},
            "DataBucketName": {
                "Value": {"Ref": "Bucket"},
                "Export": {"Name": "pipectl-shop-test-storage:DataBucketName"},
            },
        },
    }
    processing = {
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {
            "DeadLetterQueueName": {
                "Value": {"Fn::GetAtt": ["Queue", "QueueName"]},
                "Export": {"Name": "pipectl-shop-test-processing:DeadLetterQueueName"},
            }
        },
    }
    for name, template in (("pipectl-shop-test-storage", storage), ("pipectl-shop-test-processing", processing)):
        cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(template))


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    stop_collectors(tmp_path)  # never leave processes behind, whatever the test did


def raw_events(session: LocalSession, bucket: str) -> list[dict[str, Any]]:
    s3 = session.client("s3")
    out = []
    for item in s3.list_objects_v2(Bucket=bucket, Prefix="raw/").get("Contents", []):
        body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
        out += [json.loads(line) for line in gzip.decompress(body).splitlines()]
    return out


def test_an_event_posted_locally_lands_in_the_local_s3_under_raw(
    aws: EmbeddedAws, session: LocalSession, manifest: Manifest, workdir: Path
) -> None:
    requests.post(f"{aws.endpoint}/moto-api/reset", timeout=10)  # one account per process: other modules' shop stacks
    storage_stand_in(session)
    [record] = start_collectors(aws.endpoint, manifest, workdir)
    assert (record["pipeline"], record["env"]) == ("shop", "test")
    assert collector_url(workdir, "shop", "test") == record["url"]
    assert record["url"].startswith("http://127.0.0.1:") and record["url"].endswith("/collect")
    assert [r["pid"] for r in start_collectors(aws.endpoint, manifest, workdir)] == [record["pid"]]  # kept

    events = [{"event_id": f"local-{i}", "event": "page_view", "session_id": f"s{i % 3}"} for i in range(25)]
    answer = requests.post(record["url"], json={"app_id": "shop_web", "events": events}, timeout=10)
    assert answer.status_code == 202
    bucket = session.client("cloudformation").list_exports()["Exports"]
    bucket_name = next(e["Value"] for e in bucket if e["Name"].endswith(":DataBucketName"))
    deadline = time.monotonic() + 30
    landed: list[dict[str, Any]] = []
    while time.monotonic() < deadline and len(landed) < len(events):
        time.sleep(0.3)
        landed = raw_events(session, bucket_name)
    assert sorted(e["event_id"] for e in landed) == sorted(e["event_id"] for e in events)
    assert {e["app_id"] for e in landed} == {"shop_web"} and all(e["ingest_time"] for e in landed)
    stream = record["stream_name"]
    checkpoint = json.loads((workdir / ".pipectl" / "collectors" / f"shop-test.{stream}.checkpoint.json").read_text())
    assert checkpoint and all(position for position in checkpoint.values())

    assert stop_collectors(workdir) == 1
    assert collector_status(workdir) == []
    with pytest.raises(requests.ConnectionError):
        requests.get(record["health"], timeout=2)


def test_a_collector_that_fails_to_start_leaves_the_started_ones_recorded_for_stop(
    aws: EmbeddedAws, manifest: Manifest, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """mobile's collector starts; shop's exits on its empty stream name (a real ConfigError, exit 2). The
    error names shop's log, and mobile's stays in collectors.json, so `pipectl local stop` still stops it.
    Only which collectors to run is fixed here (the specs); both processes really start."""
    exports = {
        "pipectl-shop-test-storage:StreamName": "",
        "pipectl-shop-test-storage:DataBucketName": "shop-data",
        "pipectl-mobile-test-storage:DataBucketName": "mobile-data",
    }
    specs = collector_specs(manifest, exports)
    assert [(s.pipeline, s.env) for s in specs] == [("mobile", "test"), ("shop", "test")]
    monkeypatch.setattr("generator.deploy.local.collectors.collector_specs", lambda *_: specs)
    log = workdir / ".pipectl" / "collectors" / "shop-test.log"
    with pytest.raises(RuntimeError, match=rf"^the collector exited with code 2; see {log}$"):
        start_collectors(aws.endpoint, manifest, workdir)
    assert "STREAM_NAME: expected the Kinesis stream's name" in log.read_text()
    [mobile] = collector_status(workdir)
    assert mobile["pipeline"] == "mobile" and requests.get(mobile["health"], timeout=5).ok
    assert stop_collectors(workdir) == 1
    with pytest.raises(requests.ConnectionError):
        requests.get(mobile["health"], timeout=2)
