"""The S3 sink against the local target's S3: gzip NDJSON objects under raw/YYYY/MM/DD/HH/, flushed by
size or age, in the layout the processing stack's enrich function lists and reads."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from collector.config import Settings
from generator.stacks.functions import enrich
from tests.collector.conftest import client, running, settings


def s3_settings(bucket: str, **env: str) -> Settings:
    return settings(SINK_TYPE="s3", BUCKET_NAME=bucket, BUCKET_PREFIX="raw/", **env)


def objects(endpoint: str, bucket: str) -> dict[str, list[dict[str, Any]]]:
    s3 = client("s3", endpoint)
    out = {}
    for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
        got = s3.get_object(Bucket=bucket, Key=item["Key"])
        if item["Key"].startswith("raw/"):  # what the collector wrote (enriched/ is the enrich function's)
            assert got["ContentEncoding"] == "gzip" and got["ContentType"] == "application/x-ndjson"
        lines = gzip.decompress(got["Body"].read()).decode().splitlines()
        out[item["Key"]] = [json.loads(line) for line in lines]
    return out


def events(start: int, size: int) -> list[dict[str, Any]]:
    return [{"app_id": "shop_ios", "event_id": f"e{start + i}", "pad": "p" * 100} for i in range(size)]


def test_objects_are_written_by_age_under_the_hourly_raw_layout(aws_env: dict[str, str], bucket: str) -> None:
    endpoint = aws_env["AWS_ENDPOINT_URL"]
    with running(s3_settings(bucket, INTERVAL_S="0.2")) as collector:
        assert collector.post(events(0, 5)).status_code == 202
        collector.wait_delivered(5, timeout=10)
    written = objects(endpoint, bucket)
    [(key, lines)] = written.items()
    hour = datetime.now(UTC)
    assert key.startswith(f"raw/{hour:%Y/%m/%d/%H}/collector-") and key.endswith(".json.gz")
    assert [e["event_id"] for e in lines] == [f"e{i}" for i in range(5)]


def test_objects_are_written_by_size_before_their_age(aws_env: dict[str, str], bucket: str) -> None:
    endpoint = aws_env["AWS_ENDPOINT_URL"]
    with running(s3_settings(bucket, BUFFER_MB="1", INTERVAL_S="600")) as collector:
        for start in range(0, 6000, 500):  # about 1.6 MB of events
            assert collector.post(events(start, 500)).status_code == 202
        # A full object leaves without waiting its age; the rest waits (or the drain at shutdown).
        collector.wait_for(lambda: collector.state.pump.batches >= 1, timeout=10)
        assert 0 < collector.state.pump.events < 6000
    written = objects(endpoint, bucket)
    assert len(written) >= 2  # the rest was written by the drain at shutdown
    ids = Counter(e["event_id"] for lines in written.values() for e in lines)
    assert ids == Counter(f"e{i}" for i in range(6000))


def test_the_enrich_function_reads_what_the_collector_wrote(aws_env: dict[str, str], bucket: str) -> None:
    endpoint = aws_env["AWS_ENDPOINT_URL"]
    agent = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) Mobile/15E148 Safari/604.1"
    with running(s3_settings(bucket, INTERVAL_S="0.1")) as collector:
        answer = collector.post(
            events(0, 3), headers={"User-Agent": agent, "X-Forwarded-For": "198.51.100.1, 203.0.113.77"}
        )
        assert answer.status_code == 202
        collector.wait_delivered(3)
    env = {"BUCKET": bucket, "RAW_PREFIX": "raw/", "ENRICHED_PREFIX": "enriched/", "ENRICHMENTS": "user-agent,ip-geo"}
    now = datetime.now(UTC)
    done = enrich.process_window(client("s3", endpoint), env, now - timedelta(minutes=5), now + timedelta(minutes=1))
    assert done == {"objects": 1, "events": 3}
    enriched = [e for key, lines in objects(endpoint, bucket).items() if key.startswith("enriched/") for e in lines]
    assert {e["ip"] for e in enriched} == {"203.0.113.0"}
    assert {e["ua"]["os"] for e in enriched} == {"iOS"}
