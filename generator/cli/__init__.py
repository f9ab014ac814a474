"""The `pipectl` command: argument parsing and rendering only; the work happens in spec/stacks/policy/deploy.

One module per command, each with `register` (its parser) and `run` (its work, returning the exit
code); shared options live in `options`, rendering in `output`, exit codes in `errors`. Command
modules import their heavy libraries inside functions, so `pipectl --help` loads none of them.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from generator.cli import (
    apply,
    bootstrap,
    destroy,
    drift,
    local,
    options,
    plan,
    prune,
    schema,
    smoke,
    status,
    synth,
    up,
    validate,
)
from generator.cli.errors import ExitCode, UserError, exit_code
from generator.cli.output import Output

__all__ = ["ExitCode", "UserError", "build_parser", "main"]

# In the order `pipectl --help` lists them.
COMMANDS = (schema, synth, validate, plan, apply, up, status, drift, prune, destroy, bootstrap, smoke, local)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pipectl",
        description="GitOps for clickstream data pipelines on AWS: pipeline files in, CloudFormation stacks out.",
        epilog="Exit codes: 0 ok, 1 findings or failed deployment, 2 invalid input, 3 environment not usable, "
        "130 interrupted.",
    )
    parser.add_argument("--output", "-o", choices=("text", "json"), default="text", help="output format")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.register(sub)
    for command_parser in sub.choices.values():
        options.output(command_parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    out = Output(args.output)
    try:
        code: ExitCode = args.func(args, out)
    except KeyboardInterrupt:
        out.error("pipectl: interrupted")
        return ExitCode.INTERRUPTED
    except Exception as exc:
        handled = exit_code(exc, out)
        if handled is None:
            raise
        return handled
    return code
