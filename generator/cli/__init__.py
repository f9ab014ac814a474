"""The `pipectl` command: argument parsing and rendering only; the work happens in spec/stacks/policy/deploy.

One module per command, each with `configure` (its options) and `run` (its work, returning the exit
code); shared options live in `options`, rendering in `output`, exit codes in `errors`. Only the
module of the command being run is imported, and it imports its heavy libraries inside functions:
`pipectl --help` loads no command module at all, `pipectl schema` only its own.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NamedTuple

from generator.cli.errors import ExitCode, UserError, exit_code
from generator.cli.output import FORMATS, Output

if TYPE_CHECKING:
    from types import ModuleType

__all__ = ["COMMANDS", "ExitCode", "UserError", "build_parser", "main"]


class Command(NamedTuple):
    """What `pipectl --help` lists: the line beside the name; `description` heads the command's own --help."""

    help: str
    description: str | None = None


def _deploy(help_text: str) -> Command:
    return Command(help_text, help_text)


# In the order `pipectl --help` lists them; the module is generator/cli/<name>.py.
COMMANDS: dict[str, Command] = {
    "schema": Command("print the JSON Schema of pipeline files"),
    "synth": Command("write build/ templates and manifest.json from pipelines.d/"),
    "validate": Command("check pipeline files, synthesize, and lint every template"),
    "graph": Command("print the stack dependency graph as Mermaid or DOT (--format dot), all or one --pipeline"),
    "plan": _deploy("synthesize, then create change sets for the stacks that changed; write plan.json/.md"),
    "apply": _deploy("execute a reviewed plan's change sets along the dependency graph"),
    "up": _deploy("validate, plan, apply and show status (starts the local AWS when --target local)"),
    "status": _deploy("what is deployed, in sync or not, with endpoints and dashboards"),
    "drift": _deploy("compare deployed stacks with their templates (CloudFormation drift detection)"),
    "prune": _deploy("list (and with --yes delete) stacks of pipelines whose file is gone; retained data stays"),
    "destroy": _deploy("list (and with --yes delete) the stacks of one pipeline; retained data stays"),
    "bootstrap": _deploy(
        "create or update the control plane: the pipectl-bootstrap (template and asset bucket, per region), "
        "pipectl-console and pipectl-delivery (CodePipeline) stacks"
    ),
    "run": _deploy(
        "run a pipeline's processing (the enrich state machine) now; on the local target, how it runs at all"
    ),
    "smoke": _deploy("check deployed pipelines: collector answers, state machine runs, dashboard exists"),
    "local": Command(
        "the embedded local AWS: start, status, stop",
        "Run the embedded local AWS (moto's server on a loopback port) in the background.",
    ),
}


def _version() -> str:
    """The installed distribution's version: what bootstrap pins and what a bug report needs."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pipectl")
    except PackageNotFoundError:
        return "unknown (not installed)"


def command_module(name: str) -> ModuleType:
    return importlib.import_module(f"generator.cli.{name}")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """Every command's parser, or with `only`, that command's complete and the others' names and help alone."""
    parser = argparse.ArgumentParser(
        prog="pipectl",
        description="GitOps for clickstream data pipelines on AWS: pipeline files in, CloudFormation stacks out.",
        epilog="Exit codes: 0 ok, 1 findings or failed deployment, 2 invalid input, 3 environment not usable, "
        "130 interrupted.",
    )
    parser.add_argument("--output", "-o", choices=FORMATS, default="text", help="output format")
    parser.add_argument("--version", action="version", version=f"pipectl {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, command in COMMANDS.items():
        command_parser = sub.add_parser(name, help=command.help, description=command.description)
        if only is None or name == only:
            configure: Callable[[argparse.ArgumentParser], None] = command_module(name).configure
            configure(command_parser)
            # `pipectl plan --output json` as well as `pipectl --output json plan`
            command_parser.add_argument(
                "--output",
                "-o",
                choices=FORMATS,
                default=argparse.SUPPRESS,
                help="output format (text, or json for scripts)",
            )
    return parser


def chosen_command(argv: Sequence[str]) -> str | None:
    """The command named on the command line: the first word that is not pipectl's own option or its value."""
    words = iter(argv)
    for word in words:
        if word in ("--output", "-o"):
            next(words, None)
        elif word == "--" or not word.startswith("-"):
            return word if word in COMMANDS else None
    return None


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(only=chosen_command(arguments) or "").parse_args(arguments)
    out = Output(args.output)
    try:
        code: ExitCode = args.func(args, out)
    except KeyboardInterrupt:
        _interrupted(out)
        return ExitCode.INTERRUPTED
    except Exception as exc:
        _close_progress()
        handled = exit_code(exc, out)
        if handled is None:
            raise
        return handled
    _close_progress()
    return code


def _close_progress() -> list[str]:
    context = sys.modules.get("generator.cli.context")
    return context.end_progress() if context is not None else []


def _interrupted(out: Output) -> None:
    """Ctrl-C answers at once: what is still in flight, and that the next run resumes it.

    Stack operations already sent go on in CloudFormation whatever pipectl does; waiting for their
    threads would only keep the user waiting, so once the lock is released (the exception has
    unwound through it) the process ends without joining them.
    """
    import os
    import threading

    flying = _close_progress()
    out.error("pipectl: interrupted")
    if flying:
        out.error(
            f"pipectl: still in flight, and CloudFormation carries on with them: {', '.join(flying)}. "
            "The next `pipectl apply --auto-approve` or `pipectl up` waits for them to settle and resumes; "
            "`pipectl status` shows where they are"
        )
    if threading.active_count() > 1:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(ExitCode.INTERRUPTED)
