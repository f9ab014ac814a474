"""`pipectl run PIPELINE`: run one pipeline environment's processing (the enrich state machine) now.

On AWS the execution is started and followed until it ends (`--no-wait` returns once it started);
on the local target pipectl carries the execution out itself and records its outcome in the local
Step Functions. The local target runs no schedules: this is how processing runs there.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from generator.cli import context, options
from generator.cli.errors import ExitCode, UserError
from generator.cli.output import Output

if TYPE_CHECKING:
    from generator.deploy.run import RunResult


def configure(p: argparse.ArgumentParser) -> None:
    options.target(p)
    p.add_argument("pipeline", help="the pipeline whose processing runs")
    p.add_argument("--env", metavar="ENV", help="its environment (default: the only one deployed)")
    p.add_argument(
        "--no-wait",
        dest="wait",
        action="store_false",
        help="on AWS, return once the execution started (the local target always runs it to the end)",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=900.0,
        metavar="SECONDS",
        help="how long to wait for the execution on AWS (default 900)",
    )
    p.add_argument(
        "--window-end",
        type=_iso_time,
        metavar="TIME",
        help="enrich the window ending at this ISO 8601 time, as a scheduled run does (default: now)",
    )
    p.set_defaults(func=run)


def _iso_time(value: str) -> str:
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO 8601 time like 2026-01-31T12:00:00Z, found {value!r}"
        ) from None
    return value


def execute(args: argparse.Namespace) -> RunResult:
    from generator.deploy.run import RunOptions, run_pipeline

    manifest = context.load_manifest(args)
    if args.pipeline not in manifest.pipelines:
        known = ", ".join(sorted(manifest.pipelines)) or "none"
        raise UserError(f"run: no pipeline named {args.pipeline!r}; expected one of: {known}")
    with context.target(args, manifest) as aws:
        opts = RunOptions(args.wait, args.timeout, args.window_end, Path.cwd())
        return run_pipeline(aws, manifest, args.pipeline, args.env, opts)


def render(result: RunResult, out: Output) -> None:
    out.line(f"execution {result.execution_arn}")
    if result.console_url:
        out.line(f"  console: {result.console_url}")
    out.line(f"  {result.pipeline}/{result.env}: {result.status}", style="bold")
    if result.output is not None:
        out.line(f"  output: {json.dumps(result.output, sort_keys=True)}")
    if result.error or result.cause:
        out.line(f"  error: {result.error or ''} {result.cause or ''}".rstrip())
    if result.log:
        out.line(f"  function log: {result.log}")


def run(args: argparse.Namespace, out: Output) -> ExitCode:
    result = execute(args)
    out.result(result, render)
    return ExitCode.OK if result.ok else ExitCode.FINDINGS
