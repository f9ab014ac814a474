"""Hostile and broken requests: each gets the right status, none crashes the collector, and the
collector still serves the next honest request."""

from __future__ import annotations

import gzip
import socket
import time
from collections.abc import Iterator

import pytest
import requests

from tests.collector.conftest import Running, running, settings

GOOD = {"app_id": "shop_web", "page": "/"}


@pytest.fixture(scope="module")
def collector() -> Iterator[Running]:
    config = settings(MAX_BODY_KB="64", READ_TIMEOUT_S="0.5", CORS_ORIGINS="https://shop.example.com")
    with running(config) as serving:
        yield serving


def still_serves(collector: Running) -> None:
    assert collector.post(GOOD).status_code == 202
    assert requests.get(collector.health_url, timeout=5).status_code == 200


def raw(collector: Running, data: bytes, read_timeout: float = 5.0) -> bytes:
    """Send bytes on a fresh connection; the collector's answer, whatever it is."""
    host, port = collector.url.split("//")[1].split("/")[0].split(":")
    with socket.create_connection((host, int(port)), timeout=read_timeout) as conn:
        conn.sendall(data)
        chunks = []
        try:
            while chunk := conn.recv(65536):
                chunks.append(chunk)
        except (TimeoutError, ConnectionResetError):
            pass
    return b"".join(chunks)


@pytest.mark.parametrize(
    ("body", "headers", "status", "reason"),
    [
        (b'{"app_id": "shop_web"', {}, 400, "malformed_json"),
        (b"[1, 2]", {}, 400, "not_an_object"),
        (b'{"app_id": "nobody"}', {}, 400, "unknown_app_id"),
        (b'{"page": "/"}', {}, 400, "missing_app_id"),
        (b'{"app_id": "shop_web"}', {"Content-Type": "application/xml"}, 415, "bad_content_type"),
        (b'{"app_id": "shop_web"}', {"Content-Type": "multipart/form-data; boundary=x"}, 415, "bad_content_type"),
        (b'{"app_id": "shop_web"}', {"Content-Encoding": "deflate"}, 415, "bad_encoding"),
        (b"x" * 70_000, {}, 413, "too_large"),
        (
            gzip.compress(b"[" + b'{"app_id":"shop_web"},' * 100_000 + b"{}]"),
            {"Content-Encoding": "gzip"},
            413,
            "too_large",
        ),
        (b'{"app_id": "shop_web"}', {"Origin": "https://evil.example.com"}, 403, "origin_not_allowed"),
    ],
)
def test_bad_requests_get_their_status_and_are_counted(
    collector: Running, body: bytes, headers: dict[str, str], status: int, reason: str
) -> None:
    before = collector.state.metrics.total_rejected[reason]
    answer = collector.post(body, headers=headers)
    assert answer.status_code == status
    assert answer.json()["error"] == reason
    assert collector.state.metrics.total_rejected[reason] == before + 1
    still_serves(collector)


def test_a_gzip_bomb_is_refused_without_inflating_it(collector: Running) -> None:
    bomb = gzip.compress(b"\0" * 50_000_000)  # 50 MB of zeros, about 50 kB on the wire
    small_bomb = gzip.compress(b" " * 20_000_000)
    assert len(small_bomb) < 64 * 1024
    answer = collector.post(small_bomb, headers={"Content-Encoding": "gzip"})
    assert answer.status_code == 413
    assert collector.post(bomb, headers={"Content-Encoding": "gzip"}).status_code == 413
    still_serves(collector)


def test_a_chunked_body_over_the_limit_is_refused(collector: Running) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(100):
            yield b" " * 1024

    answer = requests.post(collector.url, data=chunks(), headers={"Content-Type": "application/json"}, timeout=10)
    assert answer.status_code == 413
    still_serves(collector)


def test_a_slow_client_is_cut_off_with_408(collector: Running) -> None:
    head = (
        b'POST /collect HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"app_id": '
    )
    started = time.monotonic()
    answer = raw(collector, head)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert time.monotonic() - started < 3
    still_serves(collector)


def test_a_header_flood_is_refused(collector: Running) -> None:
    many = b"".join(b"X-Flood-%d: x\r\n" % i for i in range(500))
    answer = raw(collector, b"POST /collect HTTP/1.1\r\nHost: x\r\n" + many + b"Content-Length: 0\r\n\r\n")
    assert answer.split(b" ", 2)[1] in (b"400", b"431"), answer[:200]
    huge = b"X-Huge: " + b"a" * 100_000 + b"\r\n"
    answer = raw(collector, b"POST /collect HTTP/1.1\r\nHost: x\r\n" + huge + b"Content-Length: 0\r\n\r\n")
    assert answer.split(b" ", 2)[1] in (b"400", b"431"), answer[:200]
    still_serves(collector)


def test_garbage_instead_of_http_is_refused(collector: Running) -> None:
    answer = raw(collector, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(256)) + b"\r\n\r\n")
    assert answer == b"" or answer.split(b" ", 2)[1] == b"400", answer[:200]
    still_serves(collector)


def test_other_paths_and_methods_are_not_served(collector: Running) -> None:
    base = collector.url.rsplit("/", 1)[0]
    assert requests.post(base + "/admin", json=GOOD, timeout=5).status_code == 404
    assert requests.get(collector.url, timeout=5).status_code == 405
    still_serves(collector)


def test_cors_preflight_allows_only_the_pipelines_origins(collector: Running) -> None:
    allowed = requests.options(
        collector.url,
        headers={
            "Origin": "https://shop.example.com",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Content-Type, Content-Encoding",
        },
        timeout=5,
    )
    assert allowed.status_code == 204
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://shop.example.com"
    assert "POST" in allowed.headers["Access-Control-Allow-Methods"]
    assert allowed.headers["Access-Control-Allow-Headers"] == "content-encoding, content-type"
    for headers in (
        {"Origin": "https://evil.example.com", "Access-Control-Request-Method": "POST"},
        {"Origin": "https://shop.example.com", "Access-Control-Request-Method": "DELETE"},
        {
            "Origin": "https://shop.example.com",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Authorization",
        },
    ):
        refused = requests.options(collector.url, headers=headers, timeout=5)
        assert refused.status_code == 403 and "Access-Control-Allow-Origin" not in refused.headers
    posted = collector.post(GOOD, headers={"Origin": "https://shop.example.com"})
    assert posted.status_code == 202 and posted.headers["Access-Control-Allow-Origin"] == "https://shop.example.com"


def test_refusals_are_logged_with_the_trace_id(collector: Running) -> None:
    trace = "Root=1-67891233-abcdef012345678912345678"
    assert collector.post({"app_id": "nobody"}, headers={"X-Amzn-Trace-Id": trace}).status_code == 400
    lines = [line for line in collector.log.getvalue().splitlines() if trace in line]
    assert lines and '"reason":"unknown_app_id"' in lines[-1] and '"level":"warning"' in lines[-1]
