"""Synth units built in worker processes when there are enough of them to pay for the workers.

Workers are forked after the stack builders are imported, so they start in milliseconds and share the
parent's loaded modules. Results come back in unit order, and an error is raised for the first failing
unit in that order, exactly as a one-process build would raise it: same output, same errors.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

from generator.stacks.synth import StackBuild, Unit, build_unit, import_builders

MIN_UNITS = 8
"""Below this a pool costs more than it saves (measured: forking two workers ~15 ms; a unit ~20 ms)."""

_PENDING: list[Unit] = []


def _build_pending(index: int) -> list[StackBuild]:
    return build_unit(_PENDING[index])


def worker_count(units: int, workers: int | None = None) -> int:
    """How many processes to build `units` units with: 1 unless a pool pays, never more than the CPUs."""
    if units < MIN_UNITS or "fork" not in multiprocessing.get_all_start_methods():
        return 1
    return max(1, min(workers or os.cpu_count() or 1, units // (MIN_UNITS // 2)))


def build_units(units: list[Unit], workers: int | None = None) -> list[list[StackBuild]]:
    """Each unit's StackBuilds, in the order given."""
    count = worker_count(len(units), workers)
    if count <= 1:
        return [build_unit(unit) for unit in units]
    global _PENDING
    import_builders()  # import before forking, so that no worker imports them again
    from generator.stacks import console  # noqa: F401
    from generator.stacks.common import compile_templates

    compile_templates()

    _PENDING = units
    try:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=count, mp_context=context) as pool:
            chunk = max(1, len(units) // (count * 16))  # small chunks: no worker idles through a long tail
            return list(pool.map(_build_pending, range(len(units)), chunksize=chunk))
    finally:
        _PENDING = []
