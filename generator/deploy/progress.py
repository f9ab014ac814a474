"""Live progress of a run: a small reporter interface, rich on a terminal, plain lines elsewhere.

The controller only calls the `Progress` methods; what a person sees (a live table, log lines for
CI, JSON lines for a log pipeline, nothing in tests) is chosen once by `make_progress`. NO_COLOR and
CI are respected.

`log_format="json"` writes one JSON object per line: one per stack operation when it ends

    {"time": "2026-01-31T10:00:04.120Z", "event": "stack", "stack": "pipectl-shop-prod-storage",
     "pipeline": "shop", "env": "prod", "kind": "storage", "action": "update", "result": "done",
     "detail": "UPDATE_COMPLETE", "started": "2026-01-31T10:00:01.003Z", "duration_s": 3.117}

and one per note (`"event": "note"`, the message in `detail`, `stack` and the rest null when the note
is about the whole run). Control-plane stacks have pipeline and env `_control`.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal, Protocol, TextIO

from generator.contract import CONTROL_ENV, CONTROL_PIPELINE, PIPELINE_KINDS, STACK_PREFIX

LogFormat = Literal["text", "json"]
CONTROL = CONTROL_PIPELINE  # pipeline and env of the control-plane stacks (console, delivery)


class Progress(Protocol):
    def start(self, stack: str, action: str) -> None:
        """Work on `stack` begins (`action`: create, update, delete, recover...)."""

    def note(self, stack: str | None, message: str) -> None:
        """Something a person should read: a recovery done, a wait, an explanation."""

    def finish(self, stack: str, result: str, detail: str = "") -> None:
        """Work on `stack` ended with `result` (done, failed, skipped, refused...)."""

    def close(self) -> None:
        """The run is over: stop live displays."""


class NullProgress:
    """Collects everything, shows nothing: for tests and library callers."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._lock = threading.Lock()

    def _add(self, line: str) -> None:
        with self._lock:
            self.lines.append(line)

    def start(self, stack: str, action: str) -> None:
        self._add(f"{stack}: {action}")

    def note(self, stack: str | None, message: str) -> None:
        self._add(f"{stack}: {message}" if stack else message)

    def finish(self, stack: str, result: str, detail: str = "") -> None:
        self._add(f"{stack}: {result}" + (f" ({detail})" if detail else ""))

    def close(self) -> None:
        return None


class PlainProgress(NullProgress):
    """One line per event, flushed at once: readable in CI logs and pipes."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self._stream = stream

    def _add(self, line: str) -> None:
        super()._add(line)
        with self._lock:
            self._stream.write(line + "\n")
            self._stream.flush()


class RichProgress(NullProgress):
    """A live table of stacks and their state, with notes printed above it."""

    def __init__(self, stream: TextIO, color: bool) -> None:
        super().__init__()
        from rich.console import Console
        from rich.live import Live

        self._console = Console(file=stream, no_color=not color)
        self._rows: dict[str, tuple[str, str]] = {}
        self._live = Live(self._table(), console=self._console, refresh_per_second=4, transient=False)
        self._live.start()

    def _table(self) -> Any:
        from rich.table import Table

        table = Table(show_header=True, header_style="bold", box=None)
        table.add_column("stack")
        table.add_column("state")
        table.add_column("detail", overflow="fold")
        styles = {"done": "green", "failed": "red", "skipped": "yellow", "refused": "red"}
        for stack, (state, detail) in sorted(self._rows.items()):
            table.add_row(stack, f"[{styles.get(state, 'cyan')}]{state}[/]", detail)
        return table

    def _set(self, stack: str, state: str, detail: str) -> None:
        with self._lock:
            self._rows[stack] = (state, detail)
            self._live.update(self._table())

    def start(self, stack: str, action: str) -> None:
        super().start(stack, action)
        self._set(stack, action, "")

    def note(self, stack: str | None, message: str) -> None:
        NullProgress.note(self, stack, message)
        self._console.print(f"{stack}: {message}" if stack else message, markup=False, highlight=False)

    def finish(self, stack: str, result: str, detail: str = "") -> None:
        super().finish(stack, result, detail)
        self._set(stack, result, detail)

    def close(self) -> None:
        self._live.stop()


def stack_identity(stack: str) -> tuple[str | None, str | None, str | None]:
    """(pipeline, env, kind) from a stack name `pipectl-<pipeline>-<env>-<kind>`; environments have no
    hyphen, so the name splits from the right. Other pipectl stacks are the control plane's."""
    parts = stack.removeprefix(STACK_PREFIX).rsplit("-", 2)
    if stack.startswith(STACK_PREFIX) and len(parts) == 3 and parts[2] in PIPELINE_KINDS:
        return parts[0], parts[1], parts[2]
    if stack.startswith(STACK_PREFIX):
        return CONTROL_PIPELINE, CONTROL_ENV, stack.removeprefix(STACK_PREFIX)
    return None, None, None


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonProgress(NullProgress):
    """JSON lines for log pipelines (CloudWatch Logs, CI log search): one object per stack operation
    when it ends, one per note; the shape is in the module docstring."""

    def __init__(self, stream: TextIO, clock: Callable[[], float] = time.time) -> None:
        super().__init__()
        self._stream = stream
        self._clock = clock
        self._started: dict[str, tuple[str, float]] = {}

    def _emit(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, separators=(", ", ": "))
        with self._lock:
            self._stream.write(line + "\n")
            self._stream.flush()

    def start(self, stack: str, action: str) -> None:
        super().start(stack, action)
        with self._lock:
            self._started[stack] = (action, self._clock())

    def note(self, stack: str | None, message: str) -> None:
        super().note(stack, message)
        pipeline, env, kind = stack_identity(stack) if stack else (None, None, None)
        self._emit(
            {
                "time": _iso(self._clock()),
                "event": "note",
                "stack": stack,
                "pipeline": pipeline,
                "env": env,
                "kind": kind,
                "action": None,
                "result": None,
                "detail": message,
            }
        )

    def finish(self, stack: str, result: str, detail: str = "") -> None:
        super().finish(stack, result, detail)
        now = self._clock()
        with self._lock:
            action, started = self._started.pop(stack, (None, None))
        pipeline, env, kind = stack_identity(stack)
        self._emit(
            {
                "time": _iso(now),
                "event": "stack",
                "stack": stack,
                "pipeline": pipeline,
                "env": env,
                "kind": kind,
                "action": action,
                "result": result,
                "detail": detail,
                "started": _iso(started) if started is not None else None,
                "duration_s": round(now - started, 3) if started is not None else None,
            }
        )


def make_progress(
    stream: TextIO | None = None, environ: dict[str, str] | None = None, log_format: LogFormat = "text"
) -> Progress:
    """JSON lines when `log_format` is json; else rich on an interactive terminal, plain lines when piped
    or under CI; colour unless NO_COLOR."""
    out = stream or sys.stderr
    if log_format == "json":
        return JsonProgress(out)
    env = os.environ if environ is None else environ
    interactive = hasattr(out, "isatty") and out.isatty() and not env.get("CI") and env.get("TERM") != "dumb"
    if not interactive:
        return PlainProgress(out)
    return RichProgress(out, color="NO_COLOR" not in env)
