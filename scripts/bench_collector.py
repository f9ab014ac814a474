"""Collector benchmark on loopback: one core for the collector, requests of 10 events, the local
Kinesis (moto's server, pipectl's local target) as the sink; then the same run with a sink that
discards, so the collector's own cost per event shows apart from the sink's.

Figures, each measured in this one run (targets in brackets):
1. Saturation (closed loop, many connections): events/s accepted and delivered to the sink [>= 10,000/s],
   PutRecords batch fill [>= 80 %], collector CPU microseconds per event.
2. Half of the 10,000 events/s target (open loop, fixed schedule, latency from the scheduled send time
   so a stall is not hidden): p50/p99 latency [p99 < 50 ms].
3. The collector's peak resident memory (VmHWM) [< 150 MB].

The collector is pinned to CPU 0; the local AWS (at lower priority) and this load generator share the
other core. Load is bounded in count and time and sent only to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
REGION = "eu-west-1"
TARGET_RATE = 10_000
EVENTS_PER_REQUEST = 10
BATCH_LIMIT = 500


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def pinned(cpu: int, niceness: int = 0) -> Any:
    def pin() -> None:
        if hasattr(os, "sched_setaffinity") and cpu < (os.cpu_count() or 1):
            os.sched_setaffinity(0, {cpu})
        os.nice(niceness)

    return pin


def wait_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer in {timeout}s")


def health(port: int) -> dict[str, Any]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as answer:
            return dict(json.loads(answer.read()))
    except urllib.error.HTTPError as exc:
        return dict(json.loads(exc.read()))


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def bodies(count: int = 200) -> list[bytes]:
    """Requests of 10 page views each, ~250 bytes per event, each request from one of many sessions."""
    out = []
    for n in range(count):
        session = f"s-{random.randrange(5000)}"
        events = [
            {
                "app_id": "shop_web",
                "event": "page_view",
                "session_id": session,
                "ts": "2026-03-01T12:00:00.000Z",
                "properties": {"path": f"/products/{n * 10 + i}", "referrer": "https://www.example.com/search?q=shoes"},
            }
            for i in range(EVENTS_PER_REQUEST)
        ]
        out.append(json.dumps(events, separators=(",", ":")).encode())
    return out


def request_bytes(port: int, body: bytes) -> bytes:
    head = (
        f"POST /collect HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nX-Forwarded-For: 203.0.113.{len(body) % 250}\r\n"
        "User-Agent: bench-collector\r\n\r\n"
    )
    return head.encode() + body


@dataclass
class Tally:
    ok: int = 0
    busy: int = 0
    other: int = 0
    latencies: list[float] | None = None


async def exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, payload: bytes) -> int:
    writer.write(payload)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    await reader.readexactly(length)
    return status


def count(tally: Tally, status: int) -> None:
    if status == 202:
        tally.ok += 1
    elif status == 503:
        tally.busy += 1
    else:
        tally.other += 1


async def closed_loop(port: int, payloads: list[bytes], connections: int, seconds: float) -> Tally:
    """Each connection sends its next request as soon as the last is answered."""
    tally = Tally()
    stop = time.monotonic() + seconds

    async def worker(index: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        n = index
        while time.monotonic() < stop:
            count(tally, await exchange(reader, writer, payloads[n % len(payloads)]))
            n += connections
        writer.close()

    await asyncio.gather(*(worker(i) for i in range(connections)))
    return tally


async def open_loop(port: int, payloads: list[bytes], rate: float, seconds: float, connections: int) -> Tally:
    """Requests on a fixed schedule; latency counts from the scheduled time, queueing included."""
    tally = Tally(latencies=[])
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
    total = int(rate * seconds)
    start = time.monotonic() + 0.1

    async def scheduler() -> None:
        for n in range(total):
            due = start + n / rate
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            queue.put_nowait((due, payloads[n % len(payloads)]))
        for _ in range(connections):
            queue.put_nowait((0.0, b""))

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while True:
            due, payload = await queue.get()
            if not payload:
                break
            status = await exchange(reader, writer, payload)
            count(tally, status)
            assert tally.latencies is not None
            tally.latencies.append(time.monotonic() - due)
        writer.close()

    await asyncio.gather(scheduler(), *(worker() for _ in range(connections)))
    return tally


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else float("nan")


def start_collector(port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "collector"],
        env={**os.environ, **env, "PORT": str(port), "HOST": "127.0.0.1", "APP_IDS": "shop_web,shop_ios"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=pinned(0),
        cwd=REPO,
    )
    wait_http(f"http://127.0.0.1:{port}/health")
    return process


def wait_drained(port: int, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        state = health(port)
        if state["queue"]["events"] == 0 or time.monotonic() > deadline:
            return state
        time.sleep(0.1)


def run(label: str, env: dict[str, str], args: argparse.Namespace) -> dict[str, float]:
    port = free_port()
    process = start_collector(port, env)
    payloads = [request_bytes(port, body) for body in bodies()]
    try:
        asyncio.run(closed_loop(port, payloads, args.connections, 1.0))  # warm-up
        wait_drained(port)
        before, cpu_before, started = health(port), cpu_seconds(process.pid), time.monotonic()
        tally = asyncio.run(closed_loop(port, payloads, args.connections, args.seconds))
        accepted_s = time.monotonic() - started
        after = wait_drained(port)
        delivered_s = time.monotonic() - started
        cpu = cpu_seconds(process.pid) - cpu_before
        accepted = tally.ok * EVENTS_PER_REQUEST
        delivered = after["sink"]["events"] - before["sink"]["events"]
        records = after["sink"]["records"] - before["sink"]["records"]
        batches = after["sink"]["batches"] - before["sink"]["batches"]
        half = asyncio.run(open_loop(port, payloads, TARGET_RATE / 2 / EVENTS_PER_REQUEST, args.seconds, 64))
        wait_drained(port)
        figures = {
            "accepted_per_s": accepted / accepted_s,
            "delivered_per_s": delivered / delivered_s,
            "busy": float(tally.busy),
            "other": float(tally.other + half.other),
            "fill": 100.0 * records / (batches * BATCH_LIMIT) if batches else float("nan"),
            "events_per_record": delivered / max(records, 1),
            "cpu_us_per_event": 1e6 * cpu / max(delivered, 1),
            "p50_ms": 1000 * percentile(half.latencies or [], 50),
            "p99_ms": 1000 * percentile(half.latencies or [], 99),
            "half_busy": float(half.busy),
            "rss_mb": peak_rss_mb(process.pid),
        }
    finally:
        process.terminate()
        process.wait(60)
    f = figures
    print(f"\n{label}")
    print(f"  saturation, {args.connections} connections, {args.seconds:g} s, requests of {EVENTS_PER_REQUEST} events:")
    print(
        f"    accepted          {f['accepted_per_s']:>10,.0f} events/s  (503: {f['busy']:.0f}, other: {f['other']:.0f})"
    )
    print(f"    delivered to sink   {f['delivered_per_s']:>10,.0f} events/s   (until the queue was empty again)")
    packed = f"{f['events_per_record']:.1f} events a record"
    print(f"    batch fill          {f['fill']:>10.1f} % of {BATCH_LIMIT} records ({packed})")
    capacity = 1e6 / f["cpu_us_per_event"]
    print(
        f"    collector CPU       {f['cpu_us_per_event']:>10.1f} us per event = {capacity:,.0f} events per CPU second"
    )
    half = f"p50 {f['p50_ms']:.1f} ms, p99 {f['p99_ms']:.1f} ms (503: {f['half_busy']:.0f})"
    print(f"  open loop at {TARGET_RATE // 2:,} events/s: {half}")
    print(f"  peak resident memory  {f['rss_mb']:>8.1f} MB")
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each measured phase (at most 60)")
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    args.seconds = min(args.seconds, 60.0)
    sys.path.insert(0, str(REPO))
    import boto3

    moto_port = free_port()
    endpoint = f"http://127.0.0.1:{moto_port}"
    log = Path(os.environ.get("TMPDIR", "/tmp")) / "bench-collector-local-aws.log"
    server = subprocess.Popen(
        [sys.executable, "-m", "generator.deploy.local.serve", "--port", str(moto_port), "--log", str(log)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        # The local AWS yields its core to the load generator: a generator starved by the sink's server
        # would count its own lateness as the collector's latency.
        preexec_fn=pinned(1, niceness=10),
        cwd=REPO,
    )
    os.sched_setaffinity(0, {1}) if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1 else None
    try:
        wait_http(f"{endpoint}/moto-api/")
        credentials = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": REGION}
        kinesis = boto3.client(
            "kinesis",
            endpoint_url=endpoint,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        kinesis.create_stream(StreamName="bench", ShardCount=4)
        print(f"load average {os.getloadavg()[0]:.2f}; collector on CPU 0, local AWS and load generator on CPU 1")
        common = {**credentials, "LOG_FORMAT": "json"}
        sink = run(
            "sink: local Kinesis (moto server)",
            {**common, "SINK_TYPE": "kinesis", "STREAM_NAME": "bench", "AWS_ENDPOINT_URL": endpoint},
            args,
        )
        discard = run("sink: discard (the collector alone)", {**common, "SINK_TYPE": "discard"}, args)
    finally:
        server.terminate()
        server.wait(30)
    sustained = min(sink["accepted_per_s"], sink["delivered_per_s"])
    checks = [
        (
            "sustained to the local Kinesis",
            f"{sustained:,.0f} events/s",
            f">= {TARGET_RATE:,}",
            sustained >= TARGET_RATE,
        ),
        (f"p99 at {TARGET_RATE // 2:,} events/s", f"{sink['p99_ms']:.1f} ms", "< 50 ms", sink["p99_ms"] < 50),
        ("batch fill at saturation", f"{sink['fill']:.1f} %", ">= 80 %", sink["fill"] >= 80),
        ("peak resident memory", f"{sink['rss_mb']:.1f} MB", "< 150 MB", sink["rss_mb"] < 150),
    ]
    print(
        f"\nsummary (load average now {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs: other work slows every figure)"
    )
    for name, value, target, met in checks:
        print(f"  {name:<32} {value:>16}   target {target:<10} {'met' if met else 'MISSED'}")
    own, total = discard["cpu_us_per_event"], sink["cpu_us_per_event"]
    print(f"  collector CPU per event: {total:.1f} us with the Kinesis sink, {own:.1f} us discarding")
    print(
        f"  (the sink's share {total - own:.1f} us); discarding, it accepted {discard['accepted_per_s']:,.0f} events/s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
