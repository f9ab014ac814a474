"""The DAG walker: dependencies first, bounded concurrency, failures stop dependents only."""

from __future__ import annotations

import threading
import time

import pytest

from generator.deploy.graph import CycleError, reversed_graph, subgraph, topological_order, walk

PIPELINE = {
    "console": (),
    "storage": (),
    "ingestion": ("storage",),
    "processing": ("storage",),
    "monitoring": ("ingestion", "processing"),
}


def test_topological_order_puts_dependencies_first_and_is_deterministic() -> None:
    assert topological_order(PIPELINE) == ["console", "storage", "ingestion", "processing", "monitoring"]
    with pytest.raises(CycleError, match="a, b"):
        topological_order({"a": ("b",), "b": ("a",)})


def test_a_node_starts_when_its_own_dependencies_are_done_not_the_whole_level() -> None:
    started: dict[str, float] = {}
    delays = {"a": 0.01, "b": 0.4, "a2": 0.01, "b2": 0.01}

    def work(node: str) -> bool:
        started[node] = time.monotonic()
        time.sleep(delays[node])
        return True

    walk({"a": (), "b": (), "a2": ("a",), "b2": ("b",)}, work, bool, concurrency=4)
    assert started["a2"] < started["b"] + 0.3  # a2 did not wait for slow b


def test_concurrency_is_bounded() -> None:
    running, peak = 0, 0
    guard = threading.Lock()

    def work(node: str) -> bool:
        nonlocal running, peak
        with guard:
            running += 1
            peak = max(peak, running)
        time.sleep(0.05)
        with guard:
            running -= 1
        return True

    result = walk({f"s{i}": () for i in range(10)}, work, bool, concurrency=3)
    assert peak == 3 and len(result.results) == 10


def test_a_failure_skips_its_dependents_transitively_but_never_its_siblings() -> None:
    skipped: list[tuple[str, str]] = []
    result = walk(
        PIPELINE, lambda n: n != "processing", bool, concurrency=2, on_skip=lambda n, c: skipped.append((n, c))
    )
    assert result.results == {"console": True, "storage": True, "ingestion": True, "processing": False}
    assert result.skipped == {"monitoring": "processing"}
    assert skipped == [("monitoring", "processing")]
    chain = walk({"a": (), "b": ("a",), "c": ("b",), "d": ()}, lambda n: n != "a", bool)
    assert chain.skipped == {"b": "a", "c": "a"} and chain.results["d"] is True


def test_an_exception_in_work_is_raised_after_running_nodes_finish() -> None:
    def work(node: str) -> bool:
        if node == "storage":
            raise RuntimeError("bug")
        return True

    with pytest.raises(RuntimeError, match="bug"):
        walk(PIPELINE, work, bool)


def test_reverse_and_sub_graphs_for_deletion() -> None:
    assert reversed_graph(PIPELINE)["storage"] == ("ingestion", "processing")
    assert subgraph(PIPELINE, {"storage", "monitoring"}) == {"storage": (), "monitoring": ("storage",)}
