"""`pipectl local`: start, show or stop the embedded local AWS (moto's server on a loopback port)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from generator.cli.errors import ExitCode
from generator.cli.output import Output

LocalAction = Literal["start", "status", "stop"]


@dataclass
class LocalStarted:
    running: bool
    endpoint: str
    already_running: bool


@dataclass
class LocalStopped:
    running: bool
    stopped: bool  # False: it was not running


@dataclass
class LocalStatus:
    """The server's record while it runs (endpoint, process id, start time), nothing else when it does not."""

    running: bool
    endpoint: str | None = None
    pid: int | None = None
    started_at: str | None = None


LocalResult = LocalStarted | LocalStopped | LocalStatus


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=("start", "status", "stop"))
    p.add_argument(
        "--resource-delay",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="simulate provisioning time per resource (for benchmarks and kill tests; default 0)",
    )
    p.set_defaults(func=run)


def local(action: LocalAction, workdir: Path, resource_delay: float = 0.0) -> LocalResult:
    from generator.deploy.local import background_status, start_background, stop_background

    running = background_status(workdir)
    if action == "start":
        endpoint = str(running["endpoint"]) if running else start_background(workdir, resource_delay)
        return LocalStarted(True, endpoint, running is not None)
    if action == "stop":
        return LocalStopped(False, stop_background(workdir))
    if running is None:
        return LocalStatus(False)
    started = running.get("started_at")
    return LocalStatus(True, str(running["endpoint"]), int(running["pid"]), str(started) if started else None)


def render(result: LocalResult, out: Output) -> None:
    if isinstance(result, LocalStarted):
        out.line(
            f"local AWS {'already running' if result.already_running else 'started'} at {result.endpoint} "
            f"(AWS_ENDPOINT_URL={result.endpoint}; credentials: any)"
        )
    elif isinstance(result, LocalStopped):
        out.line(
            "local AWS stopped: its state went with it (stacks, buckets, the state table); "
            "the next `pipectl up` or `plan` starts from an empty account"
            if result.stopped
            else "local AWS was not running"
        )
    elif result.running:
        out.line(f"local AWS running at {result.endpoint} (pid {result.pid})")
    else:
        out.line("local AWS is not running")


def run(args: argparse.Namespace, out: Output) -> ExitCode:
    """`local status` exits 1 when nothing runs, so a script can test it (`pipectl local status || ...`)."""
    result = local(args.action, Path.cwd(), args.resource_delay)
    out.result(result, render)
    stopped = isinstance(result, LocalStatus) and not result.running
    return ExitCode.FINDINGS if stopped else ExitCode.OK
