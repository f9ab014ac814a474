"""Kinesis -> S3: each batch becomes one gzip newline-delimited JSON object under raw/YYYY/MM/DD/HH/."""

import base64
import gzip
import json
import logging
import os
from datetime import UTC, datetime
from typing import Any

import boto3

_client: Any = None
log = logging.getLogger()


def _s3() -> Any:
    global _client
    if _client is None:
        _client = boto3.client("s3")
    return _client


def lines(records: list[dict[str, Any]]) -> bytes:
    """One JSON event per line; a record that is not JSON is kept, wrapped, so nothing is lost."""
    out = []
    for record in records:
        data = base64.b64decode(record["kinesis"]["data"])
        for line in data.splitlines():
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except ValueError:
                event = {"unparsed": line.decode("utf-8", "replace")}
            out.append(json.dumps(event, separators=(",", ":"), sort_keys=True))
    return ("\n".join(out) + "\n").encode() if out else b""


def object_key(prefix: str, records: list[dict[str, Any]], now: datetime) -> str:
    """Named by write hour and sequence range, so a retried batch overwrites instead of duplicating."""
    first, last = records[0], records[-1]
    shard = first.get("eventID", "shard").split(":")[0]
    seqs = f"{first['kinesis']['sequenceNumber']}-{last['kinesis']['sequenceNumber']}"
    return f"{prefix}{now:%Y/%m/%d/%H}/{shard}-{seqs}.json.gz"


def write_batch(s3: Any, bucket: str, prefix: str, records: list[dict[str, Any]], now: datetime) -> str | None:
    body = lines(records)
    if not body:
        return None
    key = object_key(prefix, records, now)
    s3.put_object(
        Bucket=bucket,
        Key=key,
        Body=gzip.compress(body, mtime=0),
        ContentType="application/x-ndjson",
        ContentEncoding="gzip",
    )
    return key


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    records = event.get("Records", [])
    key = None
    if records:
        key = write_batch(_s3(), os.environ["BUCKET"], os.environ["RAW_PREFIX"], records, datetime.now(UTC))
    log.info("batch written", extra={"records": len(records), "key": key})
    return {"records": len(records), "key": key}
