"""Parsing, decoding and enrichment of request bodies: pure functions, no server."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime

import pytest

from collector import events
from collector.events import Context, Refused

APPS = frozenset({"shop_web", "shop_ios"})
CONTEXT = Context(ip="203.0.113.9", user_agent="Mozilla/5.0", trace_id="Root=1-abc-def", app_id=None)
NOW = datetime(2026, 3, 1, 12, 30, 45, 123000, tzinfo=UTC)


def records(evs: list[object], context: Context = CONTEXT, **kwargs: object) -> list[events.Record]:
    options = {"partition_by": "session", "max_events": 100, "max_event_bytes": 10_000} | kwargs
    return events.records(evs, context, APPS, now=NOW, **options)  # type: ignore[arg-type]


def refused(call: object) -> Refused:
    with pytest.raises(Refused) as info:
        call()  # type: ignore[operator]
    return info.value


@pytest.mark.parametrize(
    ("body", "content_type", "count"),
    [
        (b'{"app_id": "shop_web"}', "application/json", 1),
        (b'[{"app_id": "shop_web"}, {"app_id": "shop_ios"}]', "application/json", 2),
        (b'{"app_id": "shop_web"}\n\n{"app_id": "shop_ios"}\n', "application/x-ndjson", 2),
        (b'{"app_id": "shop_web"}\n{"app_id": "shop_ios"}', "application/json", 2),
        (b'{"app_id": "shop_web", "events": [{"e": 1}, {"e": 2}, {"e": 3}]}', "text/plain", 3),
    ],
)
def test_every_accepted_shape_parses_to_its_events(body: bytes, content_type: str, count: int) -> None:
    assert len(events.parse(body, content_type)) == count


def test_an_envelope_lends_its_app_id_to_events_without_one() -> None:
    parsed = events.parse(
        b'{"app_id": "shop_web", "events": [{"e": 1}, {"e": 2, "app_id": "shop_ios"}]}', "application/json"
    )
    assert [e["app_id"] for e in parsed] == ["shop_web", "shop_ios"]


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (b'{"app_id": ', "application/json", "malformed_json"),
        (b'{"a": 1}\nnot json', "application/x-ndjson", "malformed_json"),
        (b"\xff\xfe", "application/json", "malformed_json"),
        (b"   ", "application/json", "empty"),
        (b'{"app_id": "shop_web"}', "application/xml", "bad_content_type"),
        (b'{"app_id": "shop_web"}', "", "bad_content_type"),
    ],
)
def test_a_bad_body_is_refused_with_its_reason(body: bytes, content_type: str, reason: str) -> None:
    assert refused(lambda: events.parse(body, content_type)).reason == reason


def test_gzip_bodies_inflate_and_bombs_stop_at_the_limit() -> None:
    text = b'{"app_id": "shop_web"}'
    assert events.decode(gzip.compress(text), "gzip", 1000) == text
    bomb = gzip.compress(b"\0" * 50_000_000)  # 50 MB of zeros in about 50 kB
    assert len(bomb) < 100_000
    error = refused(lambda: events.decode(bomb, "gzip", 1_000_000))
    assert (error.reason, error.status) == ("too_large", 413)
    assert refused(lambda: events.decode(b"not gzip", "gzip", 1000)).reason == "bad_encoding"
    assert refused(lambda: events.decode(gzip.compress(text)[:-12], "gzip", 1000)).reason == "bad_encoding"
    assert refused(lambda: events.decode(text, "br", 1000)).status == 415


def test_events_are_enriched_by_the_server_not_the_client() -> None:
    [record] = records([{"app_id": "shop_web", "ip": "1.2.3.4", "ingest_time": "then", "page": "/"}])
    event = json.loads(record.data)
    assert event["ip"] == "203.0.113.9"
    assert event["ingest_time"] == "2026-03-01T12:30:45.123Z"
    assert event["user_agent"] == "Mozilla/5.0"
    assert event["trace_id"] == "Root=1-abc-def"
    assert event["page"] == "/"
    assert len(event["event_id"]) == 32 and record.events == 1


def test_a_client_event_id_is_kept() -> None:
    [record] = records([{"app_id": "shop_web", "event_id": "e-1"}])
    assert json.loads(record.data)["event_id"] == "e-1"


def test_one_bad_event_refuses_the_whole_request() -> None:
    assert refused(lambda: records([{"app_id": "shop_web"}, {"app_id": "other"}])).reason == "unknown_app_id"
    assert refused(lambda: records([{"app_id": "shop_web"}, {"e": 1}])).reason == "missing_app_id"
    assert refused(lambda: records([{"app_id": "shop_web"}, [1]])).reason == "not_an_object"
    assert refused(lambda: records([])).reason == "empty"
    assert refused(lambda: records([{"app_id": "shop_web"}] * 3, max_events=2)).status == 413
    big = {"app_id": "shop_web", "blob": "x" * 20_000}
    assert refused(lambda: records([big])).reason == "event_too_large"


def test_the_query_string_app_id_is_the_default() -> None:
    context = Context(ip="203.0.113.9", user_agent="", trace_id=None, app_id="shop_ios")
    [record] = records([{"e": 1}], context)
    assert json.loads(record.data)["app_id"] == "shop_ios"


def test_partition_keys_follow_the_session_else_the_client() -> None:
    session, client, anonymous = records(
        [
            {"app_id": "shop_web", "session_id": "s-1"},
            {"app_id": "shop_web", "client_id": "c-9"},
            {"app_id": "shop_web"},
        ]
    )
    assert (session.key, client.key, anonymous.key) == ("s-1", "c-9", "203.0.113.9")
    [by_client] = records([{"app_id": "shop_web", "session_id": "s-1"}], partition_by="client")
    assert by_client.key == "203.0.113.9"


def test_the_client_ip_is_the_one_the_load_balancer_appended() -> None:
    assert events.client_ip("198.51.100.7, 203.0.113.9", "10.0.0.5") == "203.0.113.9"
    assert events.client_ip("203.0.113.9", "10.0.0.5") == "203.0.113.9"
    assert events.client_ip(None, "10.0.0.5") == "10.0.0.5"
    assert events.client_ip(" , ", None) == ""


def test_events_sharing_a_key_are_packed_into_records_up_to_the_limit() -> None:
    evs = [{"app_id": "shop_web", "session_id": "a" if i % 3 else "b", "n": i} for i in range(12)]
    single = records(evs)
    packed = events.aggregate(single, 700)
    assert sum(r.events for r in packed) == 12 and len(packed) < 12
    assert all(len(r.data) <= 700 for r in packed)
    for key in ("a", "b"):
        lines = [json.loads(line) for r in packed if r.key == key for line in r.data.split(b"\n")]
        assert [e["n"] for e in lines] == [json.loads(r.data)["n"] for r in single if r.key == key]
    assert events.aggregate(single, 0) == single
    big = events.aggregate(records([{"app_id": "shop_web", "blob": "x" * 2000}] * 2), 700)
    assert [r.events for r in big] == [1, 1]  # an event over the limit travels alone
