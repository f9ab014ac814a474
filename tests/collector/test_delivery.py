"""What is acknowledged is delivered: whole, once per event id, across throttling and shutdown.

The property test posts hypothesis-made batches in every accepted shape to a collector whose
Kinesis client fails records now and then (the fault-injecting `Throttling` wrapper: moto never
throttles), and reads them back from the local target's stream.
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tests.collector.conftest import REGION, Running, client, running, stream_events
from tests.collector.test_kinesis import Throttling, kinesis_settings, sink_with

ENRICHED = {"app_id", "event_id", "ingest_time", "ip", "user_agent", "trace_id"}
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=8,
)
fields = st.dictionaries(
    st.text(min_size=1, max_size=10).filter(lambda k: k not in ENRICHED | {"events"}), json_values, max_size=5
)
shapes = st.sampled_from(["array", "ndjson", "envelope", "single"])


@pytest.fixture(scope="module")
def stream_collector(local_aws: str) -> Iterator[tuple[Running, str]]:
    name = f"property-{uuid.uuid4().hex[:8]}"
    client("kinesis", local_aws).create_stream(StreamName=name, ShardCount=3)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ENDPOINT_URL", local_aws)
        patch.setenv("AWS_REGION", REGION)
        wrapper: dict[str, Throttling] = {}
        with running(kinesis_settings(name, LINGER_MS="1"), sink_with(wrapper, fail_every=4)) as collector:
            yield collector, name


def body_of(batch: list[dict[str, Any]], shape: str) -> tuple[bytes, str]:
    if shape == "ndjson":
        return "\n".join(json.dumps(e) for e in batch).encode(), "application/x-ndjson"
    if shape == "envelope":
        return json.dumps({"app_id": "shop_web", "events": batch}).encode(), "application/json"
    if shape == "single" and len(batch) == 1:
        return json.dumps(batch[0]).encode(), "application/json"
    return json.dumps(batch).encode(), "application/json"


@hypothesis_settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    batch=st.lists(fields, min_size=1, max_size=40),
    shape=shapes,
    gzipped=st.booleans(),
    app=st.sampled_from(["shop_web", "shop_ios"]),
)
def test_every_accepted_batch_comes_out_whole_once_per_event_id(
    stream_collector: tuple[Running, str], batch: list[dict[str, Any]], shape: str, gzipped: bool, app: str
) -> None:
    collector, name = stream_collector
    tag = uuid.uuid4().hex
    sent = {
        f"{tag}-{i}": {**event, "event_id": f"{tag}-{i}", **({} if shape == "envelope" else {"app_id": app})}
        for i, event in enumerate(batch)
    }
    body, content_type = body_of(list(sent.values()), shape)
    headers = {"Content-Type": content_type} | ({"Content-Encoding": "gzip"} if gzipped else {})
    before = collector.state.pump.events
    answer = requests.post(collector.url, data=gzip.compress(body) if gzipped else body, headers=headers, timeout=10)
    assert answer.status_code == 202, answer.text
    assert answer.json() == {"accepted": len(sent)}
    collector.wait_for(lambda: collector.state.pump.events >= before + len(sent), timeout=10)
    endpoint = os.environ["AWS_ENDPOINT_URL"]
    out = [e for e in stream_events(endpoint, name) if str(e.get("event_id", "")).startswith(tag)]
    assert Counter(e["event_id"] for e in out) == Counter(list(sent))
    for event in out:
        original = sent[event["event_id"]]
        assert {k: v for k, v in event.items() if k not in ENRICHED} == {
            k: v for k, v in original.items() if k not in ENRICHED
        }
        assert event["app_id"] == ("shop_web" if shape == "envelope" else app)


def test_a_drain_that_runs_out_of_time_logs_every_undelivered_event(aws_env: dict[str, str], stream: str) -> None:
    wrapper: dict[str, Throttling] = {}
    collector_cm = running(kinesis_settings(stream, DRAIN_TIMEOUT_S="0.3"), sink_with(wrapper))
    with collector_cm as collector:
        wrapper["client"].refuse_calls = 10**6  # the stream refuses everything from now on
        ids = [f"lost-{i}" for i in range(7)]
        assert collector.post([{"app_id": "shop_web", "event_id": i} for i in ids]).status_code == 202
        collector.wait_for(lambda: collector.state.pump.retry.health.consecutive_failures > 0)
        code = collector.stop()
        log = collector.log.getvalue().splitlines()
    assert code == 1
    undelivered = [json.loads(line)["undelivered"] for line in log if line.startswith('{"undelivered"')]
    assert sorted(e["event_id"] for e in undelivered) == sorted(ids)
    assert any('"message":"events not delivered to the sink"' in line for line in log)


def start_process(env: dict[str, str]) -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen(
        [sys.executable, "-m", "collector"],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert process.stdout is not None
    for line in process.stdout:
        if '"collector listening"' in line:
            return process, int(json.loads(line)["port"])
    raise AssertionError(f"the collector exited with {process.wait()} before listening")


def test_sigterm_delivers_everything_acknowledged_before_exiting(aws_env: dict[str, str], stream: str) -> None:
    env = {
        "SINK_TYPE": "kinesis",
        "STREAM_NAME": stream,
        "APP_IDS": "shop_web",
        "PORT": "0",
        "HOST": "127.0.0.1",
        "LINGER_MS": "400",  # events wait in the buffer: the drain has work to do
        **aws_env,
    }
    process, port = start_process(env)
    acknowledged: list[str] = []
    refused: list[int] = []
    lock = threading.Lock()
    halfway = threading.Event()

    def sender(worker: int) -> None:
        session = requests.Session()
        for n in range(200):
            ids = [f"w{worker}-{n}-{i}" for i in range(10)]
            try:
                answer = session.post(
                    f"http://127.0.0.1:{port}/collect",
                    json=[{"app_id": "shop_web", "event_id": i} for i in ids],
                    timeout=5,
                )
            except requests.ConnectionError:
                return
            with lock:
                if answer.status_code == 202:
                    acknowledged.extend(ids)
                else:
                    refused.append(answer.status_code)
                if len(acknowledged) >= 600:
                    halfway.set()

    threads = [threading.Thread(target=sender, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    assert halfway.wait(30)
    process.send_signal(signal.SIGTERM)
    for thread in threads:
        thread.join(30)
    assert process.wait(30) == 0
    output = process.stdout.read() if process.stdout else ""
    assert '"message":"collector stopped"' in output
    [draining] = [json.loads(line) for line in output.splitlines() if '"message":"draining"' in line]
    assert draining["queued"] > 0  # acknowledged events were still waiting for the sink at SIGTERM
    assert set(refused) <= {503}
    landed = Counter(e["event_id"] for e in stream_events(aws_env["AWS_ENDPOINT_URL"], stream))
    wrong = {i: landed[i] for i in acknowledged if landed[i] != 1}
    assert acknowledged and not wrong, (len(wrong), list(wrong.items())[:5], output[-3000:])
    assert len(acknowledged) < 8000  # the signal came while requests were still being sent


def test_a_bad_setting_stops_the_process_with_exit_code_2() -> None:
    env = {"SINK_TYPE": "kinesis", "STREAM_NAME": "events", "APP_IDS": "shop_web", "PORT": "http"}
    done = subprocess.run(
        [sys.executable, "-m", "collector"], env={**os.environ, **env}, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 2
    assert done.stderr.strip() == "collector: PORT: expected an integer from 0 to 65535, found 'http'"
    assert "Traceback" not in done.stderr
