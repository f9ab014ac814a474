"""The detached processes of the local target (local AWS, collectors, console), supervised in one place.

A process outlives the pipectl command that started it, so it is found again through a JSON record
under `<workdir>/.pipectl/`. A recorded pid alone is not enough: after a crash or a reboot the
system may give it to an unrelated process, which must never be reported as ours nor signalled.
Each record therefore also keeps the operating system's start time of the process (`pid_start`).

- `launch(name, command, log, ready, timeout_s)`: a detached process writing to `log`, returned once
  `ready()` holds; `NotReady`, naming the log, when it exits first or never gets ready.
- `Supervised.running()` / `Supervised.stop(grace_s)`: alive and still the process we started;
  SIGTERM, then SIGKILL once the grace period is over.
- `read_record(path, name, log)`: the record of a running process; a stale or unreadable one is removed.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LOOPBACK = "127.0.0.1"
POLL_S = 0.05
READY_POLL_S = 0.1
KILL_WAIT_S = 5.0
PROC_SELF = Path("/proc/self/stat")  # where it exists, /proc/<pid>/stat tells when each process started


class NotReady(RuntimeError):
    """A started process exited or never answered; the message names its log."""


@dataclass(frozen=True)
class Supervised:
    """One detached process pipectl started: enough to tell it still runs and to stop it."""

    name: str  # how messages call it: "local AWS", "the console", "the collector"
    pid: int
    log: Path
    start: str | None  # the system's start time of `pid`; None in records written before it was kept

    def running(self) -> bool:
        """Alive, and not another process that was given the same pid since."""
        if self.pid <= 0:
            return False
        with contextlib.suppress(ChildProcessError):  # our own child: collect its exit status
            os.waitpid(self.pid, os.WNOHANG)
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass  # someone else's process: only the start time can tell
        if self.start is None:
            return True
        now = process_start(self.pid)
        if now is None:  # gone since (Linux), or a system that does not say: the pid alone decides
            return not PROC_SELF.exists()
        return now == self.start

    def stop(self, grace_s: float) -> bool:
        """SIGTERM, then SIGKILL after `grace_s`; False when it was no longer running."""
        if not self.running():
            return False
        self._signal(signal.SIGTERM)
        if not self._ended_within(grace_s):
            self._signal(signal.SIGKILL)
            self._ended_within(KILL_WAIT_S)  # so that its port and files are free when stop returns
        return True

    def fields(self, key: str = "pid") -> dict[str, Any]:
        """What a record keeps of it, under `key` (a record may hold several processes)."""
        return {key: self.pid, f"{key}_start": self.start}

    def _ended_within(self, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while self.running():
            if time.monotonic() >= deadline:
                return False
            time.sleep(POLL_S)
        return True

    def _signal(self, signum: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):  # it ended between the check and the signal
            os.kill(self.pid, signum)


def recorded(name: str, record: Mapping[str, Any], log: Path, key: str = "pid") -> Supervised:
    """The process a record names under `key`; ValueError, KeyError or TypeError when it names none."""
    if not isinstance(record, Mapping):
        raise TypeError(f"a record is an object, found {type(record).__name__}")
    start = record.get(f"{key}_start")
    return Supervised(name, int(record[key]), log, None if start is None else str(start))


def process_start(pid: int) -> str | None:
    """When the system started `pid` (clock ticks since boot on Linux, `ps` elsewhere); None if unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None if PROC_SELF.exists() else _ps_start(pid)
    fields = stat.rsplit(")", 1)[-1].split()  # the command name before it may hold spaces
    return fields[19] if len(fields) > 19 else None


def _ps_start(pid: int) -> str | None:
    try:
        found = subprocess.run(
            ["ps", "-o", "lstart=", "-p", str(pid)], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return found.stdout.strip() or None


def launch(
    name: str,
    command: list[str],
    log: Path,
    ready: Callable[[], bool],
    timeout_s: float,
    env: Mapping[str, str] | None = None,
) -> Supervised:
    """Start `command` in a session of its own (it outlives this command), its output appended to `log`,
    and wait until `ready()`; a process that is not ready in time is stopped."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        process = subprocess.Popen(
            command,
            env=None if env is None else dict(env),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=package_root(),
        )
    supervised = Supervised(name, process.pid, log, process_start(process.pid))
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise NotReady(f"{name} exited with code {process.returncode}; see {log}")
        if ready():
            return supervised
        time.sleep(READY_POLL_S)
    supervised.stop(grace_s=5.0)
    raise NotReady(f"{name} did not answer within {timeout_s:.0f}s; see {log}")


def answers(url: str, any_status: bool = True) -> Callable[[], bool]:
    """A readiness check: `url` answers over HTTP (with any status, or only a successful one)."""

    def check() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return True
        except urllib.error.HTTPError:
            return any_status
        except OSError:
            return False

    return check


def free_port(host: str = LOOPBACK) -> int:
    """A port nothing listens on now, for a process about to be started."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def package_root() -> str:
    """The directory holding the `generator` package, so `-m` finds it from any working directory."""
    return str(Path(__file__).resolve().parents[3])


def read_record(path: Path, name: str, log: Path) -> dict[str, Any] | None:
    """The record in `path` if its process still runs; a stale or unreadable record is removed."""
    try:
        record: dict[str, Any] = json.loads(path.read_text())
        process = recorded(name, record, log)
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError):
        path.unlink(missing_ok=True)
        return None
    if not process.running():
        path.unlink(missing_ok=True)
        return None
    return record


def write_record(path: Path, record: Any, sort_keys: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2, sort_keys=sort_keys) + "\n")
