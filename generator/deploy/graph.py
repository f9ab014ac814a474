"""The stack dependency graph and the walker that runs work along it with bounded concurrency.

A node starts as soon as its own dependencies have succeeded; a failed node stops the nodes that
depend on it (directly or not), reported as skipped, and never its siblings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")
Graph = Mapping[str, tuple[str, ...]]  # node -> the nodes it depends on


class CycleError(ValueError):
    pass


def topological_order(graph: Graph) -> list[str]:
    """Dependencies first; ties broken by name so the order is deterministic."""
    remaining = {node: set(deps) & set(graph) for node, deps in graph.items()}
    order: list[str] = []
    while remaining:
        ready = sorted(node for node, deps in remaining.items() if not deps)
        if not ready:
            raise CycleError(f"dependency cycle between stacks: {', '.join(sorted(remaining))}")
        for node in ready:
            order.append(node)
            del remaining[node]
        for deps in remaining.values():
            deps.difference_update(ready)
    return order


def reversed_graph(graph: Graph) -> dict[str, tuple[str, ...]]:
    """Dependents become dependencies: the order in which stacks can be deleted."""
    out: dict[str, list[str]] = {node: [] for node in graph}
    for node, deps in graph.items():
        for dep in deps:
            if dep in out:
                out[dep].append(node)
    return {node: tuple(sorted(deps)) for node, deps in out.items()}


def subgraph(graph: Graph, nodes: set[str]) -> dict[str, tuple[str, ...]]:
    """The graph restricted to `nodes`, keeping orderings that ran through nodes left out."""
    out: dict[str, tuple[str, ...]] = {}
    for node in nodes:
        found: set[str] = set()
        stack = list(graph.get(node, ()))
        seen: set[str] = set()
        while stack:
            dep = stack.pop()
            if dep in seen:
                continue
            seen.add(dep)
            if dep in nodes:
                found.add(dep)
            else:
                stack.extend(graph.get(dep, ()))
        out[node] = tuple(sorted(found))
    return out


@dataclass
class WalkResult(Generic[T]):
    """What each node returned, and which nodes were skipped because of which failed dependency."""

    results: dict[str, T] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)


def walk(
    graph: Graph,
    work: Callable[[str], T],
    succeeded: Callable[[T], bool],
    concurrency: int = 4,
    on_skip: Callable[[str, str], None] | None = None,
) -> WalkResult[T]:
    """Run `work` on every node, dependencies first, at most `concurrency` at a time.

    An exception from `work` is a bug in the caller, not a failed node: it is re-raised after the
    running nodes finish. Callers turn expected failures into a result that `succeeded` rejects.
    """
    order = topological_order(graph)
    result: WalkResult[T] = WalkResult()
    pending = set(order)
    running: dict[Future[T], str] = {}
    failed: set[str] = set()
    error: BaseException | None = None
    pool = ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="pipectl")
    try:
        while pending or running:
            for node in [n for n in order if n in pending]:
                blocker = next((d for d in graph[node] if d in failed or d in result.skipped), None)
                if blocker is not None:
                    pending.discard(node)
                    cause = result.skipped.get(blocker, blocker)
                    result.skipped[node] = cause
                    if on_skip:
                        on_skip(node, cause)
                elif (
                    error is None
                    and len(running) < max(1, concurrency)
                    and all(d in result.results and d not in failed for d in graph[node] if d in graph)
                ):
                    pending.discard(node)
                    running[pool.submit(work, node)] = node
            if not running:
                if pending and error is None:
                    continue  # skips above may have unblocked more skips
                break
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                node = running.pop(future)
                exc = future.exception()
                if exc is not None:
                    error = error or exc
                    failed.add(node)
                    continue
                value = future.result()
                result.results[node] = value
                if not succeeded(value):
                    failed.add(node)
    except BaseException:
        # Ctrl-C: start nothing more and do not wait for the running nodes (each may wait minutes for
        # CloudFormation); the caller says what is still in flight.
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    if error is not None:
        raise error
    return result
