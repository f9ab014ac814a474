"""The local console as a detached process beside the local AWS: started by `pipectl up` and
`pipectl console`, stopped by `pipectl local stop`. Recorded in `<workdir>/.pipectl/console.json`
(address, pid, the local AWS it serves); its log in `console.log`. The password is never written down.
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.deploy.local.console.pool import CONSOLE_USER, generate_password, read_console_stack, set_console_user
from generator.deploy.local.console.server import LOOPBACK, PASSWORD_VARIABLE

START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class ConsoleStarted:
    """Where the console answers and who signs in; `password` only when it was just set (shown once)."""

    url: str
    user: str
    password: str | None
    already_running: bool
    log: str


def state_file(workdir: Path) -> Path:
    return workdir / ".pipectl" / "console.json"


def log_file(workdir: Path) -> Path:
    return workdir / ".pipectl" / "console.log"


def start_console(endpoint: str, region: str, workdir: Path, port: int | None = None) -> ConsoleStarted:
    """Start the console for this local AWS (one that serves it already is kept; one serving an older,
    stopped local AWS is replaced). A new console user password is set when the pool exists."""
    running = console_status(workdir)
    if running is not None and running["endpoint"] == endpoint and port in (None, running["port"]):
        return ConsoleStarted(str(running["url"]), CONSOLE_USER, None, True, str(log_file(workdir)))
    if running is not None:
        stop_console(workdir)
    port = port or _free_port()
    url = f"http://{LOOPBACK}:{port}/"
    password = generate_password()
    state_file(workdir).parent.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable, "-m", "generator.deploy.local.console.server",
        "--endpoint", endpoint, "--region", region, "--port", str(port),
    ]  # fmt: skip
    with log_file(workdir).open("ab") as log:
        process = subprocess.Popen(
            command,
            env={**os.environ, PASSWORD_VARIABLE: password},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=str(Path(__file__).resolve().parents[4]),
        )
    _wait_until_answering(f"{url}health", process, workdir)
    record = {"url": url, "port": port, "pid": process.pid, "endpoint": endpoint, "region": region}
    state_file(workdir).write_text(json.dumps(record, indent=2) + "\n")
    with contextlib.suppress(urllib.error.URLError, OSError):  # the user is set as soon as the pool exists
        urllib.request.urlopen(f"{url}config.json", timeout=10).close()
    return ConsoleStarted(url, CONSOLE_USER, password, False, str(log_file(workdir)))


def new_password(endpoint: str, region: str) -> str:
    """A fresh password for the local console user (the one printed at start is not kept anywhere)."""
    from generator.deploy.local.session import local_session

    session = local_session(endpoint, region)
    found = read_console_stack(session.client("cloudformation"))
    if found is None:
        raise RuntimeError("the pipectl-console stack (with its Cognito user pool) is not deployed on the local target")
    password = generate_password()
    set_console_user(session.client("cognito-idp"), found.pool_id, password)
    return password


def console_status(workdir: Path) -> dict[str, Any] | None:
    """The recorded console if its process is alive; a stale record is removed."""
    try:
        record: dict[str, Any] = json.loads(state_file(workdir).read_text())
        pid = int(record["pid"])
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError):
        state_file(workdir).unlink(missing_ok=True)
        return None
    if not _alive(pid):
        state_file(workdir).unlink(missing_ok=True)
        return None
    return record


def stop_console(workdir: Path) -> bool:
    """Stop the recorded console; False when none was running."""
    record = console_status(workdir)
    if record is None:
        return False
    pid = int(record["pid"])
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    state_file(workdir).unlink(missing_ok=True)
    return True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def _wait_until_answering(url: str, process: subprocess.Popen[bytes], workdir: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the console exited with code {process.returncode}; see {log_file(workdir)}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    process.terminate()
    raise RuntimeError(f"the console did not answer within {START_TIMEOUT_S:.0f}s; see {log_file(workdir)}")


def _alive(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
