"""Live progress of a run: a small reporter interface, rich on a terminal, plain lines elsewhere.

The controller only calls the `Progress` methods; what a person sees (a live table, log lines for
CI, nothing in tests) is chosen once by `make_progress`. NO_COLOR and CI are respected.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any, Protocol, TextIO


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


def make_progress(stream: TextIO | None = None, environ: dict[str, str] | None = None) -> Progress:
    """Rich on an interactive terminal, plain lines when piped or under CI; colour unless NO_COLOR."""
    out = stream or sys.stderr
    env = os.environ if environ is None else environ
    interactive = hasattr(out, "isatty") and out.isatty() and not env.get("CI") and env.get("TERM") != "dumb"
    if not interactive:
        return PlainProgress(out)
    return RichProgress(out, color="NO_COLOR" not in env)
