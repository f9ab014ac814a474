"""The deploy lock in the state table: exclusive, named holder on timeout, expiring lease, heartbeat."""

from __future__ import annotations

import itertools
import threading
import time

import pytest

from generator.deploy.apply import ApplyOptions, apply_now, apply_plan
from generator.deploy.aws import Aws
from generator.deploy.deployed import read_deployed
from generator.deploy.errors import LockTimeout
from generator.deploy.plan import make_plan
from generator.deploy.state import Lock, StateStore, find_state_table
from tests.deploy.conftest import Build, new_aws


@pytest.fixture
def store(aws: Aws, build: Build) -> StateStore:
    build.console()
    assert apply_now(aws, build.write(), "boot")[1].ok
    table = find_state_table(read_deployed(aws, ("eu-west-1",)))
    assert table is not None
    return StateStore(aws, table)


def test_concurrent_holders_never_overlap(store: StateStore, moto_url: str) -> None:
    spans: list[tuple[float, float]] = []
    guard = threading.Lock()

    def run(i: int) -> None:
        own = StateStore(new_aws(moto_url), store.table)
        lock = Lock(own, f"worker-{i}", f"run-{i}", lease=60, poll=0.02)
        lock.acquire(timeout=30)
        with lock:
            start = time.monotonic()
            time.sleep(0.05)
            end = time.monotonic()
        with guard:
            spans.append((start, end))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    spans.sort()
    assert len(spans) == 4
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in itertools.pairwise(spans))


def test_a_second_apply_waits_then_fails_naming_the_holder(aws: Aws, store: StateStore, build: Build) -> None:
    build.pipeline("shop", kinds=("storage",))
    manifest = build.write()
    plan = make_plan(aws, manifest, "two")
    holder = Lock(store, "arn:aws:iam::123456789012:user/alice", "run-alice", lease=60)
    holder.acquire(timeout=1)
    try:
        started = time.monotonic()
        with pytest.raises(LockTimeout, match=r"user/alice \(run run-alice"):
            apply_plan(aws, manifest, plan, options=ApplyOptions(lock_timeout=0.5, lock_poll=0.1))
        assert time.monotonic() - started >= 0.5
    finally:
        holder.release()
    assert read_deployed(aws, ("eu-west-1",))["pipectl-shop-test-storage"].status == "REVIEW_IN_PROGRESS"
    assert apply_plan(aws, manifest, plan).ok  # once released, the same plan applies


def test_a_lock_left_by_a_killed_run_is_taken_over_when_its_lease_expires(store: StateStore) -> None:
    store.put(
        {
            "pk": "LOCK",
            "sk": "deploy",
            "owner": "killed",
            "run_id": "old",
            "acquired_at": "then",
            "expires_at": int(time.time()) - 1,
        }
    )
    lock = Lock(store, "me", "new", lease=60)
    lock.acquire(timeout=0)
    with lock:
        assert store.get("LOCK", "deploy")["run_id"] == "new"  # type: ignore[index]
    assert store.get("LOCK", "deploy") is None


def test_a_live_lock_is_not_taken_over(store: StateStore) -> None:
    store.put(
        {
            "pk": "LOCK",
            "sk": "deploy",
            "owner": "busy",
            "run_id": "other",
            "acquired_at": "now",
            "expires_at": int(time.time()) + 600,
        }
    )
    with pytest.raises(LockTimeout, match="busy"):
        Lock(store, "me", "new", poll=0.01).acquire(timeout=0.05)
    assert store.get("LOCK", "deploy")["run_id"] == "other"  # type: ignore[index]


def test_the_heartbeat_renews_the_lease(store: StateStore) -> None:
    lock = Lock(store, "me", "beat", lease=60, heartbeat=0.05)
    lock.acquire(timeout=1)
    with lock:
        first = store.get("LOCK", "deploy")["expires_at"]  # type: ignore[index]
        time.sleep(1.2)
        assert store.get("LOCK", "deploy")["expires_at"] > first  # type: ignore[index]
        assert not lock.lost


def test_applies_of_two_plans_run_one_after_the_other(aws: Aws, store: StateStore, build: Build, moto_url: str) -> None:
    build.pipeline("shop", kinds=("storage",))
    build.pipeline("web", kinds=("storage",))
    manifest = build.write()
    plan = make_plan(aws, manifest, "two")
    holder = Lock(store, "someone", "run-x", lease=60)
    holder.acquire(timeout=1)
    results = []
    waiting = threading.Thread(
        target=lambda: results.append(
            apply_plan(new_aws(moto_url), manifest, plan, options=ApplyOptions(lock_timeout=20, lock_poll=0.05))
        )
    )
    waiting.start()
    time.sleep(0.3)
    assert read_deployed(aws, ("eu-west-1",))["pipectl-shop-test-storage"].status == "REVIEW_IN_PROGRESS"
    holder.release()
    waiting.join(timeout=30)
    assert results and results[0].ok
