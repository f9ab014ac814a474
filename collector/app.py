"""The HTTP side: collect, CORS preflight and health, as one aiohttp application.

aiohttp: one well-kept dependency for server and client, its HTTP parser is llhttp in C, it bounds
header count and size itself and lets the collector own the body (size, gzip and read timeout).
A request gets 202 once its events are in the buffer; 503 with Retry-After when the buffer is full
or the collector is draining.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from collector import events
from collector.buffer import Buffer
from collector.config import Settings
from collector.events import Context, Refused
from collector.pump import Pump
from collector.telemetry import Log, Metrics

PREFLIGHT_MAX_AGE_S = "86400"
ALLOWED_HEADERS = frozenset({"content-type", "content-encoding", "x-requested-with", "x-pipectl-smoke"})
JSON = "application/json"
SINK_FAILING_AFTER_S = 30.0  # the health check fails once the sink has failed for this long


@dataclass
class State:
    settings: Settings
    buffer: Buffer
    pump: Pump
    metrics: Metrics
    log: Log
    draining: bool = False
    started: float = field(default_factory=time.monotonic)


STATE: web.AppKey[State] = web.AppKey("state", State)


def make_app(state: State) -> web.Application:
    settings = state.settings
    app = web.Application(client_max_size=settings.max_body_bytes)
    app[STATE] = state
    app.router.add_post(settings.endpoint_path, collect)
    app.router.add_route("OPTIONS", settings.endpoint_path, preflight)
    app.router.add_get(settings.health_path, health)
    return app


def _cors(state: State, request: web.Request) -> dict[str, str] | None:
    """CORS headers for an allowed Origin, {} for a request without one (apps, servers), None to refuse."""
    origin = request.headers.get("Origin")
    if origin is None:
        return {}
    if origin not in state.settings.cors_origins:
        return None
    return {"Access-Control-Allow-Origin": origin, "Access-Control-Allow-Credentials": "true", "Vary": "Origin"}


def _answer(status: int, body: dict[str, Any], headers: dict[str, str], close: bool = False) -> web.Response:
    response = web.Response(status=status, text=events.encode_json(body), content_type=JSON, headers=headers)
    if close:
        response.force_close()
    return response


async def collect(request: web.Request) -> web.Response:
    state = request.app[STATE]
    settings = state.settings
    trace_id = request.headers.get(settings.trace_header)
    cors = _cors(state, request)
    if cors is None:
        return _refuse(state, Refused("origin_not_allowed", "this origin may not send events"), trace_id, {})
    if state.draining:
        return _busy(state, cors, "draining", trace_id)
    try:
        body = await _read(request, settings)
        text = events.decode(body, request.headers.get("Content-Encoding", ""), settings.max_body_bytes)
        parsed = events.parse(text, request.content_type)
        context = Context(
            ip=events.client_ip(request.headers.get("X-Forwarded-For"), request.remote),
            user_agent=request.headers.get("User-Agent", "")[:1024],
            trace_id=trace_id,
            app_id=request.query.get("app_id"),
        )
        records = events.records(
            parsed,
            context,
            settings.app_ids,
            settings.partition_by,
            settings.max_events_per_request,
            settings.max_event_bytes,
        )
    except Refused as refused:
        return _refuse(state, refused, trace_id, cors)
    count = len(records)
    if not state.buffer.offer(events.aggregate(records, settings.aggregate_bytes)):
        return _busy(state, cors, "queue_full", trace_id, count)
    state.metrics.accept(count)
    return _answer(202, {"accepted": count}, cors)


async def _read(request: web.Request, settings: Settings) -> bytes:
    """The raw body within MAX_BODY_KB and READ_TIMEOUT_S: a slow or huge sender is cut off."""
    if request.content_length is not None and request.content_length > settings.max_body_bytes:
        raise Refused("too_large", f"the body is over {settings.max_body_bytes} bytes")
    try:
        async with asyncio.timeout(settings.read_timeout_s):
            return await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise Refused("too_large", f"the body is over {settings.max_body_bytes} bytes") from None
    except TimeoutError:
        raise Refused("read_timeout", f"the body did not arrive within {settings.read_timeout_s:g}s") from None


def _refuse(state: State, refused: Refused, trace_id: str | None, cors: dict[str, str]) -> web.Response:
    code = refused.status
    state.metrics.reject(refused.reason)
    state.log(
        "warning", "request refused", reason=refused.reason, detail=refused.detail, status=code, trace_id=trace_id
    )
    # After a body that was not read to its end, the connection cannot carry another request.
    close = code in (408, 413)
    return _answer(code, {"error": refused.reason, "detail": refused.detail}, cors, close=close)


def _busy(state: State, cors: dict[str, str], reason: str, trace_id: str | None, count: int = 1) -> web.Response:
    state.metrics.reject(reason, count)
    headers = {**cors, "Retry-After": str(state.settings.retry_after_s)}
    detail = "the collector is shutting down" if reason == "draining" else "the sink is behind; retry later"
    state.log("warning", "request deferred", reason=reason, status=503, trace_id=trace_id)
    return _answer(503, {"error": reason, "detail": detail}, headers, close=reason == "draining")


async def preflight(request: web.Request) -> web.Response:
    """CORS preflight: allowed origins may POST with the content headers a browser asks about."""
    state = request.app[STATE]
    cors = _cors(state, request)
    asked = {h.strip().lower() for h in request.headers.get("Access-Control-Request-Headers", "").split(",") if h}
    method = request.headers.get("Access-Control-Request-Method", "")
    if not cors or method not in ("POST", "") or not asked <= ALLOWED_HEADERS:
        state.metrics.reject("preflight_refused")
        return web.Response(status=403, headers={"Vary": "Origin"})
    headers = {
        **cors,
        "Access-Control-Allow-Methods": "POST, OPTIONS",
        "Access-Control-Allow-Headers": ", ".join(sorted(asked)) or "content-type",
        "Access-Control-Max-Age": PREFLIGHT_MAX_AGE_S,
    }
    return web.Response(status=204, headers=headers)


async def health(request: web.Request) -> web.Response:
    """200 while the collector takes events and its sink keeps up; 503 when draining, full or failing."""
    state = request.app[STATE]
    sink = state.pump.retry.health
    buffer = state.buffer
    full = buffer.pending_events >= buffer.max_events or buffer.pending_bytes >= buffer.max_bytes
    failing = sink.failing_for() > SINK_FAILING_AFTER_S
    problems = [
        name for name, bad in (("draining", state.draining), ("queue_full", full), ("sink_failing", failing)) if bad
    ]
    body = {
        "status": "ok" if not problems else "unhealthy",
        "problems": problems,
        "sink": {
            "type": state.pump.sink.name,
            "consecutive_failures": sink.consecutive_failures,
            "last_error": sink.last_error,
            "batches": state.pump.batches,
            "events": state.pump.events,
            "records": state.pump.records,
            "undelivered": state.pump.undelivered,
        },
        "queue": {"events": buffer.pending_events, "bytes": buffer.pending_bytes, "max_events": buffer.max_events},
        "accepted": state.metrics.total_accepted,
        "rejected": dict(state.metrics.total_rejected),
        "uptime_s": round(time.monotonic() - state.started, 1),
    }
    return _answer(503 if problems else 200, body, {})
