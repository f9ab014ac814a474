"""From a request body to sink records: decode (gzip bounded), parse, check app ids, enrich, encode.

A request is accepted or refused whole: a client that retries a refused request never duplicates
the part that would have passed. Every refusal carries a reason, which is also the metric's name.
"""

from __future__ import annotations

import json
import uuid
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

Reason = Literal[
    "too_large",
    "bad_encoding",
    "bad_content_type",
    "malformed_json",
    "not_an_object",
    "missing_app_id",
    "unknown_app_id",
    "too_many_events",
    "event_too_large",
    "empty",
    "read_timeout",
    "origin_not_allowed",
]
JSON_TYPES = frozenset({"application/json", "text/plain"})  # text/plain: navigator.sendBeacon's default
NDJSON_TYPES = frozenset({"application/x-ndjson", "application/ndjson", "application/jsonl", "application/json-seq"})
ENCODINGS = frozenset({"", "identity", "gzip", "x-gzip"})
STATUS: dict[Reason, int] = {
    "too_large": 413,
    "event_too_large": 413,
    "too_many_events": 413,
    "bad_encoding": 415,
    "bad_content_type": 415,
    "read_timeout": 408,
    "origin_not_allowed": 403,
}
_encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


class Refused(Exception):
    """The request is refused whole, for `reason`; `detail` is safe to show the client."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail

    @property
    def status(self) -> int:
        return STATUS.get(self.reason, 400)


@dataclass(frozen=True, slots=True)
class Record:
    """What the sink writes as one unit: JSON lines of `events` events, and the key that places them."""

    data: bytes
    key: str
    events: int = 1


@dataclass(frozen=True, slots=True)
class Context:
    """What the collector knows about the request, beyond its body."""

    ip: str
    user_agent: str
    trace_id: str | None
    app_id: str | None  # the query string's app_id, the default for events that carry none


def decode(body: bytes, encoding: str, limit: int) -> bytes:
    """The body, gunzipped if it says so, refused once it would pass `limit` bytes (a gzip bomb stops there)."""
    encoding = encoding.strip().lower()
    if encoding not in ENCODINGS:
        raise Refused("bad_encoding", f"Content-Encoding {encoding!r} is not supported; send gzip or none")
    if encoding in ("", "identity"):
        return body
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error:
        raise Refused("bad_encoding", "the body is not valid gzip") from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise Refused("too_large", f"the body inflates to more than {limit} bytes")
    if not inflater.eof:
        raise Refused("bad_encoding", "the gzip body is truncated")
    return out


def parse(text: bytes, content_type: str) -> list[Any]:
    """JSON (one event, an array, or an `{app_id, events: [...]}` envelope) or newline-delimited JSON."""
    if content_type not in JSON_TYPES and content_type not in NDJSON_TYPES:
        raise Refused(
            "bad_content_type",
            f"Content-Type {content_type or '(none)'!r} is not accepted; send application/json or application/x-ndjson",
        )
    try:
        document = text.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused("malformed_json", "the body is not UTF-8") from None
    if not document.strip():
        raise Refused("empty", "the body holds no event")
    if content_type in NDJSON_TYPES:
        return _lines(document)
    try:
        value = json.loads(document)
    except ValueError as exc:
        if "Extra data" in str(exc):  # JSON objects one per line, sent as application/json
            return _lines(document)
        raise Refused("malformed_json", f"the body is not JSON: {exc}") from None
    if isinstance(value, list):
        return value
    if isinstance(value, dict) and isinstance(value.get("events"), list):
        return _envelope(value)
    return [value]


def _lines(document: str) -> list[Any]:
    events = []
    for number, line in enumerate(document.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            events.append(json.loads(line))
        except ValueError as exc:
            raise Refused("malformed_json", f"line {number} is not JSON: {exc}") from None
    return events


def _envelope(value: dict[str, Any]) -> list[Any]:
    """`{app_id, events: [...]}`: every event inherits the envelope's app_id unless it names its own."""
    shared = {k: v for k, v in value.items() if k != "events"}
    return [{**shared, **event} if isinstance(event, dict) else event for event in value["events"]]


def records(
    events: list[Any],
    context: Context,
    app_ids: frozenset[str],
    partition_by: str,
    max_events: int,
    max_event_bytes: int,
    now: datetime | None = None,
) -> list[Record]:
    """Every event checked and enriched with ingest time, client IP, user agent and trace id."""
    if not events:
        raise Refused("empty", "the body holds no event")
    if len(events) > max_events:
        raise Refused("too_many_events", f"{len(events)} events in one request; at most {max_events}")
    ingest_time = (now or datetime.now(UTC)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    out = []
    for index, event in enumerate(events):
        if not isinstance(event, dict):
            raise Refused("not_an_object", f"event {index} is not a JSON object")
        app_id = event.get("app_id", context.app_id)
        if not isinstance(app_id, str) or not app_id:
            raise Refused("missing_app_id", f"event {index} has no app_id")
        if app_id not in app_ids:
            raise Refused("unknown_app_id", f"event {index}: app_id {app_id[:64]!r} is not one of this pipeline's apps")
        event_id = event.get("event_id")
        if not isinstance(event_id, str) or not event_id or len(event_id) > 128:
            event_id = uuid.uuid4().hex
        enriched = {
            **event,
            "app_id": app_id,
            "event_id": event_id,
            "ingest_time": ingest_time,
            "ip": context.ip,
            "user_agent": context.user_agent,
            "trace_id": context.trace_id,
        }
        data = _encoder.encode(enriched).encode("utf-8")
        if len(data) > max_event_bytes:
            raise Refused("event_too_large", f"event {index} is {len(data)} bytes; at most {max_event_bytes}")
        out.append(Record(data, partition_key(enriched, context, partition_by)))
    return out


def aggregate(records: list[Record], max_bytes: int) -> list[Record]:
    """Events of one request that share a partition key, packed into records of up to `max_bytes` as
    newline-delimited JSON (the sink function splits lines): one Kinesis PUT payload unit carries many
    small events, and a shard's 1,000 records/s go ten times as far. Order within a key is kept."""
    if max_bytes <= 0 or len(records) < 2:
        return records
    groups: dict[str, list[Record]] = {}
    for record in records:
        groups.setdefault(record.key, []).append(record)
    out = []
    for key, group in groups.items():
        lines: list[bytes] = []
        size = 0
        for record in group:
            if lines and size + 1 + len(record.data) > max_bytes:
                out.append(Record(b"\n".join(lines), key, len(lines)))
                lines, size = [], 0
            lines.append(record.data)
            size += len(record.data) + (1 if len(lines) > 1 else 0)
        out.append(Record(b"\n".join(lines), key, len(lines)))
    return out


def partition_key(event: Mapping[str, Any], context: Context, partition_by: str) -> str:
    """The session when asked for and present (a session's events stay in order), else the client."""
    if partition_by == "session":
        session = event.get("session_id")
        if isinstance(session, str | int) and str(session):
            return str(session)[:256]
    client = event.get("client_id") or event.get("user_id")
    if isinstance(client, str | int) and str(client):
        return str(client)[:256]
    return context.ip or str(event["event_id"])


def client_ip(forwarded_for: str | None, peer: str | None) -> str:
    """The address the load balancer saw: the last entry of X-Forwarded-For (the one it appended),
    since earlier entries are whatever the client chose to send."""
    if forwarded_for:
        last = forwarded_for.rsplit(",", 1)[-1].strip()
        if last:
            return last[:64]
    return peer or ""


def encode_json(value: Any) -> str:
    return _encoder.encode(value)
