"""smoke on the local target: the whole collection path, from a POST to the collector to the data bucket.

A batch of sample events, each with its own id, is posted to the pipeline environment's local
collector with the headers a load balancer adds (client address, trace id) and a browser's user
agent. The check then reads the data bucket's raw/ objects (gzip NDJSON, as the sink writes them)
until every event is there, enriched by the collector with ingest time, client IP, user agent and
trace id, or the bounded wait ends; a failure names the event ids still missing.
"""

from __future__ import annotations

import gzip
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from generator.deploy.aws import Aws, error_message
from generator.deploy.smoke import FAILED, OK, SMOKE_HEADER, Check, SmokeOptions

BATCH = 5
ENRICHED = ("ingest_time", "ip", "user_agent", "trace_id")  # what the collector adds to every event
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) pipectl-smoke"
POLL_S = 0.5
SHOWN_IDS = 10


@dataclass(frozen=True)
class Sent:
    """The batch as posted: its ids, and the trace id every event of it must carry."""

    ids: list[str]
    trace_id: str
    body: bytes


def sample_batch(app_id: str, size: int = BATCH) -> Sent:
    run = secrets.token_hex(6)
    ids = [f"smoke-{run}-{i}" for i in range(size)]
    events = [{"event_id": i, "event": "page_view", "properties": {"smoke_test": True}} for i in ids]
    body = json.dumps({"app_id": app_id, "events": events}, separators=(",", ":")).encode()
    return Sent(ids, f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)}", body)


def check_local_collector(
    aws: Aws, region: str, url: str, bucket: str, prefix: str, app_id: str, pipeline: str, env: str, opts: SmokeOptions
) -> Check:
    """POST a batch to the local collector, then find each of its events in s3://bucket/prefix, enriched."""
    from generator.deploy.smoke import _post

    sent = sample_batch(app_id)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Amzn-Trace-Id": sent.trace_id,
        "X-Forwarded-For": "192.0.2.10",
        SMOKE_HEADER: "1",
    }
    post = opts.post or _post
    try:
        status, text = post(url, sent.body, headers, opts.http_timeout)
    except OSError as exc:
        return Check(pipeline, env, "collector", FAILED, f"{url}: no answer ({exc})")
    if not 200 <= status < 300:
        return Check(pipeline, env, "collector", FAILED, f"{url} answered HTTP {status}: {text[:200]}")
    s3 = aws.client("s3", region)

    def read() -> dict[str, dict[str, Any]]:
        return raw_events(lambda **kw: s3.list_objects_v2(**kw), lambda **kw: s3.get_object(**kw), bucket, prefix)

    found = find_events(read, sent, f"s3://{bucket}/{prefix}", pipeline, env, opts.collect_timeout)
    return Check(pipeline, env, "collector", found.result, f"{len(sent.ids)} events posted to {url}; {found.detail}")


def find_events(
    read: Callable[[], dict[str, dict[str, Any]]], sent: Sent, where: str, pipeline: str, env: str, timeout: float
) -> Check:
    """Poll `read` (event id -> event) until every sent event is found enriched, or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            found = read()
        except (ClientError, BotoCoreError) as exc:
            return Check(pipeline, env, "collector", FAILED, f"{where}: {error_message(exc)}")
        missing = [i for i in sent.ids if i not in found]
        bare = [i for i in sent.ids if i in found and not _enriched(found[i], sent.trace_id)]
        if not missing and not bare:
            detail = f"all found in {where} with {', '.join(ENRICHED)}"
            return Check(pipeline, env, "collector", OK, detail)
        if time.monotonic() >= deadline:
            problems = []
            if missing:
                problems.append(f"{len(missing)} of {len(sent.ids)} events not found: {_ids(missing)}")
            if bare:
                problems.append(
                    f"{len(bare)} found without {', '.join(ENRICHED)} (trace id {sent.trace_id}): {_ids(bare)}"
                )
            return Check(pipeline, env, "collector", FAILED, f"{where} after {timeout:g}s: {'; '.join(problems)}")
        time.sleep(POLL_S)


def _ids(ids: list[str]) -> str:
    shown = ", ".join(ids[:SHOWN_IDS])
    return shown + (f" and {len(ids) - SHOWN_IDS} more" if len(ids) > SHOWN_IDS else "")


def _enriched(event: dict[str, Any], trace_id: str) -> bool:
    return all(event.get(key) for key in ENRICHED) and trace_id in str(event.get("trace_id"))


def raw_events(
    list_objects: Callable[..., Any], get_object: Callable[..., Any], bucket: str, prefix: str
) -> dict[str, dict[str, Any]]:
    """Every event under the prefix by event id (gzip or plain NDJSON objects)."""
    events: dict[str, dict[str, Any]] = {}
    token: str | None = None
    while True:
        page = list_objects(Bucket=bucket, Prefix=prefix, **({"ContinuationToken": token} if token else {}))
        for item in page.get("Contents", []):
            body = get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            text = gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body
            for line in text.splitlines():
                if line.strip():
                    event = json.loads(line)
                    if isinstance(event, dict) and isinstance(event.get("event_id"), str):
                        events[event["event_id"]] = event
        token = page.get("NextContinuationToken")
        if not token:
            return events
