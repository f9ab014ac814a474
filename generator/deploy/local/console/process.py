"""The local console as a detached process beside the local AWS: started by `pipectl up` and
`pipectl console`, stopped by `pipectl local stop`. Recorded in `<workdir>/.pipectl/console.json`
(address, pid, the local AWS it serves); its log in `console.log`. The password is never written down.
"""

from __future__ import annotations

import contextlib
import os
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.deploy.local.console.pool import CONSOLE_USER, generate_password, read_console_stack, set_console_user
from generator.deploy.local.console.server import LOOPBACK, PASSWORD_VARIABLE
from generator.deploy.local.supervisor import answers, free_port, launch, read_record, recorded, write_record

NAME = "the console"
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
    port = port or free_port(LOOPBACK)
    url = f"http://{LOOPBACK}:{port}/"
    password = generate_password()
    command = [
        sys.executable, "-m", "generator.deploy.local.console.server",
        "--endpoint", endpoint, "--region", region, "--port", str(port),
    ]  # fmt: skip
    env = {**os.environ, PASSWORD_VARIABLE: password}
    console = launch(NAME, command, log_file(workdir), answers(f"{url}health", any_status=False), START_TIMEOUT_S, env)
    record = {"url": url, "port": port, **console.fields(), "endpoint": endpoint, "region": region}
    write_record(state_file(workdir), record)
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
    return read_record(state_file(workdir), NAME, log_file(workdir))


def stop_console(workdir: Path) -> bool:
    """Stop the recorded console; False when none was running."""
    record = console_status(workdir)
    if record is None:
        return False
    recorded(NAME, record, log_file(workdir)).stop(STOP_TIMEOUT_S)
    state_file(workdir).unlink(missing_ok=True)
    return True
