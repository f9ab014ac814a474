"""The Firehose sink against the local target's Firehose, which delivers to the local S3: the objects under
raw/ hold one event a line. Throttled records are injected (moto's Firehose never throttles)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from collector.config import ConfigError, Settings, load_settings
from collector.server import aws_client
from collector.sinks.firehose import FirehoseSink
from tests.collector.conftest import REGION, client, running, settings


class Throttling:
    """A fault-injecting wrapper of a boto3 Firehose client: the first record of each first call fails."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.calls: list[int] = []

    def put_record_batch(self, DeliveryStreamName: str, Records: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls.append(len(Records))
        if len(self.calls) > 1:
            return dict(self.real.put_record_batch(DeliveryStreamName=DeliveryStreamName, Records=Records))
        sent = self.real.put_record_batch(DeliveryStreamName=DeliveryStreamName, Records=Records[1:])
        failed = {"ErrorCode": "ServiceUnavailableException", "ErrorMessage": "Slow down."}
        return {"FailedPutCount": 1, "RequestResponses": [failed, *sent["RequestResponses"]]}


def test_events_reach_raw_through_firehose_one_a_line_with_throttled_records_retried(
    aws_env: dict[str, str], bucket: str
) -> None:
    endpoint = aws_env["AWS_ENDPOINT_URL"]
    name = f"delivery-{uuid.uuid4().hex[:8]}"
    client("firehose", endpoint).create_delivery_stream(
        DeliveryStreamName=name,
        ExtendedS3DestinationConfiguration={
            "RoleARN": "arn:aws:iam::123456789012:role/firehose",
            "BucketARN": f"arn:aws:s3:::{bucket}",
            "Prefix": "raw/",
        },
    )
    wrapper: dict[str, Throttling] = {}

    def make(config: Settings) -> FirehoseSink:
        wrapper["client"] = Throttling(aws_client("firehose", config))
        return FirehoseSink(wrapper["client"], name, config.linger_s, config.max_in_flight)

    events = [{"app_id": "shop_web", "event_id": f"f{i}", "session_id": f"s{i % 4}"} for i in range(40)]
    with running(settings(SINK_TYPE="firehose", DELIVERY_STREAM_NAME=name, AWS_REGION=REGION), make) as collector:
        assert collector.post(events).status_code == 202
        collector.wait_delivered(40)
    assert len(wrapper["client"].calls) == 2
    s3 = client("s3", endpoint)
    lines = []
    for item in s3.list_objects_v2(Bucket=bucket, Prefix="raw/")["Contents"]:
        lines += s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read().splitlines()
    assert sorted(json.loads(line)["event_id"] for line in lines) == sorted(e["event_id"] for e in events)


def test_a_firehose_collector_needs_its_delivery_stream() -> None:
    with pytest.raises(ConfigError, match=r"^DELIVERY_STREAM_NAME: expected"):
        load_settings({"SINK_TYPE": "firehose", "APP_IDS": "shop_web"})
