"""Synth units built in worker processes when there are enough of them to pay for the workers.

Workers are forked after the stack builders are imported, so they start in milliseconds and share the
parent's loaded modules. Results come back in unit order, and an error is raised for the first failing
unit in that order, exactly as a one-process build would raise it: same output, same errors.

A worker also writes what it built: each template, and the unit's synth-cache entry, beside its final
path (`generator.stacks.writing.stage_file`). The parent renames them into place once every unit is
built, so writing is spread over the workers too, and a failed synth still leaves build/ as it was.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import secrets
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from generator.stacks import cache
from generator.stacks.synth import StackBuild, Unit, build_unit, import_builders, to_record
from generator.stacks.writing import Move, discard, stage_file

MIN_UNITS = 8
"""Below this a pool costs more than it saves (measured: forking two workers ~15 ms; a unit ~20 ms)."""


@dataclass(frozen=True)
class Stage:
    """Where built units are written: the build directory, each unit's synth-cache key, and this run's
    token, which names the files it stages (so a failed run removes its own and no other's)."""

    build_dir: Path
    keys: Mapping[str, str]
    token: str = field(default_factory=lambda: f"{os.getpid()}-{secrets.token_hex(4)}")
    existed: bool = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "existed", self.build_dir.is_dir())

    def discard(self) -> None:
        """Remove what this run staged (see `writing.discard`)."""
        discard(self.build_dir, self.token, keep_root=self.existed)


Built = tuple[list[StackBuild], list[Move]]

_PENDING: list[Unit] = []
_STAGE: Stage | None = None


def _build(unit: Unit, stage: Stage | None) -> Built:
    builds = build_unit(unit)
    if stage is None:
        return builds, []
    records = [to_record(build) for build in builds]
    files = [(stage.build_dir / build.entry.template, build.text) for build in builds]
    files.append((cache.entry_path(stage.build_dir, unit.id), cache.entry_text(unit.id, stage.keys[unit.id], records)))
    moves = [stage_file(path, text, stage.token) for path, text in files]
    return builds, [move for move in moves if move is not None]


def _build_pending(index: int) -> Built:
    return _build(_PENDING[index], _STAGE)


def worker_count(units: int, workers: int | None = None) -> int:
    """How many processes to build `units` units with: 1 unless a pool pays, never more than the CPUs."""
    if units < MIN_UNITS or "fork" not in multiprocessing.get_all_start_methods():
        return 1
    return max(1, min(workers or os.cpu_count() or 1, units // (MIN_UNITS // 2)))


def build_units(units: list[Unit], workers: int | None = None) -> list[list[StackBuild]]:
    """Each unit's StackBuilds, in the order given; nothing written."""
    return [builds for builds, _ in _run(units, workers, None)]


def build_and_stage(
    units: list[Unit], stage: Stage, workers: int | None = None
) -> tuple[list[list[StackBuild]], list[Move]]:
    """Each unit's StackBuilds, in the order given, and the files staged for them (templates and cache
    entries) for `writing.commit`. If a unit fails, what the others staged is removed before the error."""
    try:
        results = _run(units, workers, stage)
    except BaseException:
        stage.discard()
        raise
    return [builds for builds, _ in results], [move for _, moves in results for move in moves]


def _run(units: list[Unit], workers: int | None, stage: Stage | None) -> list[Built]:
    count = worker_count(len(units), workers)
    if count <= 1:
        return [_build(unit, stage) for unit in units]
    global _PENDING, _STAGE
    import_builders()  # import before forking, so that no worker imports them again
    from generator.stacks import console  # noqa: F401
    from generator.stacks.common import compile_templates

    compile_templates()

    _PENDING, _STAGE = units, stage
    # Objects that exist before the fork never become garbage in a worker: frozen, the collector skips
    # them (about a tenth of a worker's time) and leaves their pages shared with this process.
    gc.freeze()
    try:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=count, mp_context=context) as pool:
            chunk = max(1, len(units) // (count * 16))  # small chunks: no worker idles through a long tail
            return list(pool.map(_build_pending, range(len(units)), chunksize=chunk))
    finally:
        gc.unfreeze()
        _PENDING, _STAGE = [], None
