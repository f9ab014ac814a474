"""The Lambda handlers of the processing stack, run against moto's S3: what they write is what they promise."""

from __future__ import annotations

import base64
import gzip
import io
import json
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from generator.stacks import assets
from generator.stacks.functions import enrich, sink

BUCKET = "pipectl-test-data"
REGION = "eu-west-1"
ENV = {"BUCKET": BUCKET, "RAW_PREFIX": "raw/", "ENRICHED_PREFIX": "enriched/"}

CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Mobile/15E148 Safari/604.1"
)
SAFARI_IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/16.6 Mobile/15E148 Safari/604.1"
)
CHROME_ANDROID_PHONE = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Mobile Safari/537.36"
)
CHROME_ANDROID_TABLET = (
    "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)
FIREFOX_LINUX = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"
EDGE_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.80"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto's S3 with the data bucket, and the handlers' environment."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        yield client


def kinesis_record(data: bytes, sequence: str, shard: str = "shardId-000000000001") -> dict[str, Any]:
    return {
        "eventID": f"{shard}:{sequence}",
        "eventSource": "aws:kinesis",
        "kinesis": {"data": base64.b64encode(data).decode(), "sequenceNumber": sequence, "partitionKey": "k"},
    }


def read_lines(s3: Any, key: str) -> list[dict[str, Any]]:
    body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    return [json.loads(line) for line in gzip.decompress(body).decode().splitlines()]


def keys(s3: Any, prefix: str) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])]


@pytest.mark.parametrize("module", [sink, enrich])
def test_the_code_deployed_is_the_module_these_tests_run(module: ModuleType) -> None:
    """The asset packages exactly this module's text as index.py, the handler `index.handler` names."""
    name = Path(str(module.__file__)).stem
    with zipfile.ZipFile(io.BytesIO(assets.function_asset(name).data)) as archive:
        assert archive.namelist() == ["index.py"]
        assert archive.read("index.py") == Path(str(module.__file__)).read_bytes()
    assert callable(module.handler)


@pytest.mark.parametrize(
    ("ua", "browser", "os", "device"),
    [
        (CHROME_WINDOWS, "Chrome", "Windows", "Desktop"),
        (SAFARI_IPHONE, "Safari", "iOS", "Mobile"),
        (SAFARI_IPAD, "Safari", "iOS", "Tablet"),
        (CHROME_ANDROID_PHONE, "Chrome", "Android", "Mobile"),
        (CHROME_ANDROID_TABLET, "Chrome", "Android", "Tablet"),
        (FIREFOX_LINUX, "Firefox", "Linux", "Desktop"),
        (EDGE_MAC, "Edge", "macOS", "Desktop"),
        (GOOGLEBOT, "Other", "Other", "Bot"),
        ("", "Other", "Other", "Other"),
    ],
)
def test_user_agent_families(ua: str, browser: str, os: str, device: str) -> None:
    assert enrich.user_agent(ua) == {"browser": browser, "os": os, "device": device}


@pytest.mark.parametrize(
    ("ip", "anonymised"),
    [
        ("203.0.113.77", "203.0.113.0"),
        (" 198.51.100.1 ", "198.51.100.0"),
        ("2001:db8:abcd:12:1:2:3:4", "2001:db8:abcd::"),
        ("not-an-ip", None),
        ("", None),
    ],
)
def test_ip_addresses_lose_their_host_part(ip: str, anonymised: str | None) -> None:
    assert enrich.anonymise_ip(ip) == anonymised


def test_enrich_applies_only_the_listed_enrichments() -> None:
    event = {
        "event": "page_view",
        "headers": {
            "User-Agent": SAFARI_IPHONE,
            "X-Forwarded-For": "203.0.113.77, 10.0.0.1",
            "CloudFront-Viewer-Country": "de",
            "Referer": "https://www.example.com/shoes?id=1",
        },
    }
    everything = enrich.enrich(event, ["ip-geo", "user-agent", "referer"])
    assert everything["ua"] == {"browser": "Safari", "os": "iOS", "device": "Mobile"}
    assert everything["ip"] == "203.0.113.0"
    assert "x-forwarded-for" not in everything["headers"]
    assert "203.0.113.77" not in json.dumps(everything)
    assert everything["geo"] == {"country": "DE"}
    assert everything["referer_host"] == "www.example.com"
    assert everything["event"] == "page_view"

    only_ua = enrich.enrich(event, ["user-agent"])
    assert "ua" in only_ua
    assert not {"ip", "geo", "referer_host"} & only_ua.keys()
    assert enrich.enrich(event, []) == event


def test_enrich_reads_top_level_fields_and_tolerates_missing_ones() -> None:
    out = enrich.enrich({"ip": "198.51.100.9", "user_agent": FIREFOX_LINUX}, ["ip-geo", "user-agent", "referer"])
    assert out["ip"] == "198.51.100.0"
    assert out["ua"]["browser"] == "Firefox"
    assert out["referer_host"] is None
    assert "geo" not in out
    assert enrich.enrich({}, ["ip-geo"])["ip"] is None


def test_sink_writes_a_batch_as_one_gzip_ndjson_object_under_raw(s3: Any) -> None:
    records = [
        kinesis_record(b'{"event": "page_view", "n": 1}', "100"),
        kinesis_record(b'{"event": "click", "n": 2}\n{"event": "click", "n": 3}\n', "101"),
        kinesis_record(b"not json", "102"),
    ]
    before = datetime.now(UTC)
    result = sink.handler({"Records": records}, None)
    assert result["records"] == 3
    written = keys(s3, "raw/")
    assert written == [result["key"]]
    assert written[0].startswith(f"raw/{before:%Y/%m/%d/%H}/") or written[0].startswith(
        f"raw/{before + timedelta(hours=1):%Y/%m/%d/%H}/"
    )
    assert written[0].endswith("shardId-000000000001-100-102.json.gz")
    assert read_lines(s3, written[0]) == [
        {"event": "page_view", "n": 1},
        {"event": "click", "n": 2},
        {"event": "click", "n": 3},
        {"unparsed": "not json"},
    ]


def test_a_retried_sink_batch_overwrites_instead_of_duplicating(s3: Any) -> None:
    records = [kinesis_record(b'{"n": 1}', "7"), kinesis_record(b'{"n": 2}', "8")]
    now = datetime(2024, 5, 1, 10, 30, tzinfo=UTC)
    first = sink.write_batch(s3, BUCKET, "raw/", records, now)
    second = sink.write_batch(s3, BUCKET, "raw/", records, now)
    assert first == second == "raw/2024/05/01/10/shardId-000000000001-7-8.json.gz"
    assert keys(s3, "raw/") == [first]


def test_an_empty_sink_batch_writes_nothing(s3: Any) -> None:
    assert sink.handler({"Records": []}, None) == {"records": 0, "key": None}
    assert sink.handler({"Records": [kinesis_record(b"\n\n", "1")]}, None)["key"] is None
    assert keys(s3, "") == []


def _put_raw(s3: Any, key: str, events: list[dict[str, Any]]) -> None:
    body = gzip.compress("".join(json.dumps(e) + "\n" for e in events).encode())
    s3.put_object(Bucket=BUCKET, Key=key, Body=body)


def test_enrich_handler_enriches_the_objects_of_its_window(s3: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENRICHMENTS", "ip-geo,user-agent")
    now = datetime.now(UTC)
    hour = f"{now:%Y/%m/%d/%H}"
    _put_raw(s3, f"raw/{hour}/a.json.gz", [{"ip": "203.0.113.5", "user_agent": CHROME_WINDOWS}])
    _put_raw(s3, f"raw/{hour}/b.json.gz", [{"ip": "2001:db8::1"}, {"ip": "198.51.100.200"}])
    s3.put_object(Bucket=BUCKET, Key=f"other/{hour}/c.json", Body=b'{"ip": "1.1.1.1"}\n')

    window_end = (now + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    result = enrich.handler({"window_end": window_end, "window_minutes": 60}, None)

    assert result["objects"] == 2
    assert result["events"] == 3
    assert sorted(keys(s3, "enriched/")) == [f"enriched/{hour}/a.json.gz", f"enriched/{hour}/b.json.gz"]
    first = read_lines(s3, f"enriched/{hour}/a.json.gz")
    assert first == [
        {
            "ip": "203.0.113.0",
            "user_agent": CHROME_WINDOWS,
            "ua": {"browser": "Chrome", "os": "Windows", "device": "Desktop"},
        }
    ]
    assert [e["ip"] for e in read_lines(s3, f"enriched/{hour}/b.json.gz")] == ["2001:db8::", "198.51.100.0"]


def test_enrich_handler_skips_objects_written_outside_its_window(s3: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENRICHMENTS", "user-agent")
    now = datetime.now(UTC)
    _put_raw(s3, f"raw/{now:%Y/%m/%d/%H}/late.json.gz", [{"user_agent": GOOGLEBOT}])
    window_end = (now - timedelta(minutes=1)).isoformat()
    result = enrich.handler({"window_end": window_end, "window_minutes": 30}, None)
    assert result["objects"] == 0
    assert keys(s3, "enriched/") == []
    assert result["window_start"] == (now - timedelta(minutes=31)).isoformat()
