"""A detached local AWS that outlives one pipectl command, so state survives between commands.

Its endpoint, pid and start time live in `<workdir>/.pipectl/local.json`; its output in `local.log`.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from generator.deploy.local.server import LOOPBACK, EmbeddedAws, start_embedded
from generator.deploy.local.supervisor import answers, free_port, launch, read_record, recorded, write_record

NAME = "local AWS"
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
    port = free_port(LOOPBACK)
    endpoint = f"http://{LOOPBACK}:{port}"
    command = [
        sys.executable, "-m", "generator.deploy.local.serve",
        "--port", str(port), "--resource-delay", str(resource_delay_s), "--log", str(log_file(workdir).resolve()),
    ]  # fmt: skip
    server = launch(NAME, command, log_file(workdir), answers(f"{endpoint}/moto-api/"), START_TIMEOUT_S)
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    write_record(state_file(workdir), {"endpoint": endpoint, **server.fields(), "started_at": started_at})
    return endpoint


def background_status(workdir: Path) -> dict[str, Any] | None:
    """The recorded server if its process is alive; a stale record is removed and None returned."""
    return read_record(state_file(workdir), NAME, log_file(workdir))


def stop_background(workdir: Path) -> bool:
    """Stop the recorded server; False when none was running."""
    from generator.deploy.local.collectors import stop_collectors
    from generator.deploy.local.console.process import stop_console

    stop_console(workdir)  # it reads the server's state table and user pool
    stop_collectors(workdir)  # first: a collector drains what it acknowledged into the server's sinks
    record = background_status(workdir)
    if record is None:
        return False
    recorded(NAME, record, log_file(workdir)).stop(STOP_TIMEOUT_S)
    state_file(workdir).unlink(missing_ok=True)
    return True


def resolve_endpoint(workdir: Path, resource_delay_s: float = 0.0) -> tuple[str, EmbeddedAws | None]:
    """The background server's endpoint if one runs, else a fresh in-process server the caller stops."""
    record = background_status(workdir)
    if record is not None:
        return str(record["endpoint"]), None
    embedded = start_embedded(resource_delay_s, log_file(workdir).resolve())
    return embedded.endpoint, embedded
