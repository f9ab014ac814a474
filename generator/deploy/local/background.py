"""A detached local AWS that outlives one pipectl command, so state survives between commands.

Its endpoint, pid and start time live in `<workdir>/.pipectl/local.json`; its output in `local.log`.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from generator.deploy.local.server import LOOPBACK, EmbeddedAws, start_embedded

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0


def state_file(workdir: Path) -> Path:
    return workdir / ".pipectl" / "local.json"


def log_file(workdir: Path) -> Path:
    return workdir / ".pipectl" / "local.log"


def start_background(workdir: Path, resource_delay_s: float = 0.0) -> str:
    """Start the server as a detached process (or reuse a running one) and return its endpoint."""
    running = background_status(workdir)
    if running is not None:
        return str(running["endpoint"])
    port = _free_port()
    endpoint = f"http://{LOOPBACK}:{port}"
    state_file(workdir).parent.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable, "-m", "generator.deploy.local.serve",
        "--port", str(port), "--resource-delay", str(resource_delay_s), "--log", str(log_file(workdir).resolve()),
    ]  # fmt: skip
    with log_file(workdir).open("ab") as log:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=_package_root(),
        )
    _wait_until_answering(endpoint, process, workdir)
    record = {
        "endpoint": endpoint,
        "pid": process.pid,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    state_file(workdir).write_text(json.dumps(record, indent=2) + "\n")
    return endpoint


def background_status(workdir: Path) -> dict[str, Any] | None:
    """The recorded server if its process is alive; a stale record is removed and None returned."""
    path = state_file(workdir)
    try:
        record: dict[str, Any] = json.loads(path.read_text())
        pid = int(record["pid"])
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError):
        path.unlink(missing_ok=True)
        return None
    if not _alive(pid):
        path.unlink(missing_ok=True)
        return None
    return record


def stop_background(workdir: Path) -> bool:
    """Stop the recorded server; False when none was running."""
    from generator.deploy.local.collectors import stop_collectors
    from generator.deploy.local.console.process import stop_console

    stop_console(workdir)  # it reads the server's state table and user pool
    stop_collectors(workdir)  # first: a collector drains what it acknowledged into the server's sinks
    record = background_status(workdir)
    if record is None:
        return False
    pid = int(record["pid"])
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)
    state_file(workdir).unlink(missing_ok=True)
    return True


def resolve_endpoint(workdir: Path, resource_delay_s: float = 0.0) -> tuple[str, EmbeddedAws | None]:
    """The background server's endpoint if one runs, else a fresh in-process server the caller stops."""
    record = background_status(workdir)
    if record is not None:
        return str(record["endpoint"]), None
    embedded = start_embedded(resource_delay_s, log_file(workdir).resolve())
    return embedded.endpoint, embedded


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def _package_root() -> str:
    """The directory holding the `generator` package, so `-m` finds it from any working directory."""
    return str(Path(__file__).resolve().parents[3])


def _wait_until_answering(endpoint: str, process: subprocess.Popen[bytes], workdir: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"local AWS exited with code {process.returncode}; see {log_file(workdir)}")
        if _answers(endpoint):
            return
        time.sleep(0.1)
    process.terminate()
    raise RuntimeError(f"local AWS did not answer within {START_TIMEOUT_S:.0f}s; see {log_file(workdir)}")


def _answers(endpoint: str) -> bool:
    try:
        with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1):
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def _alive(pid: int) -> bool:
    _reap(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _reap(pid: int) -> None:
    """When this process started the server, collect its exit status so it stops looking alive."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
