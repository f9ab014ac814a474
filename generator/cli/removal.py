"""What prune and destroy share: their options, and how a removal is shown and judged."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from generator.cli import options
from generator.cli.errors import ExitCode
from generator.cli.output import TEXT_ONLY, Output

if TYPE_CHECKING:
    from generator.deploy.teardown import Removal, RemovalOptions, RemovalResult


@dataclass
class RemovalReport:
    """Whether anything was deleted, whether every stack went as asked, and each stack's outcome."""

    executed: bool
    ok: bool
    stacks: list[Removal]
    held: bool = field(default=False, metadata=TEXT_ONLY)
    needs: list[str] = field(default_factory=list, metadata=TEXT_ONLY)

    @classmethod
    def of(cls, result: RemovalResult) -> RemovalReport:
        return cls(result.executed, result.ok, result.stacks, result.held, result.needs)


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--yes", action="store_true", help="really delete (default: only list)")
    parser.add_argument(
        "--delete-data",
        action="store_true",
        help="also allow deleting stacks whose data is not retained (deletion: delete)",
    )
    parser.add_argument("--disable-protection", action="store_true", help="turn termination protection off first")
    options.locking(parser)


def removal_options(args: argparse.Namespace) -> RemovalOptions:
    from generator.deploy.teardown import RemovalOptions

    return RemovalOptions(
        yes=args.yes,
        delete_data=args.delete_data,
        disable_protection=args.disable_protection,
        lock_timeout=args.lock_timeout,
    )


def render(result: RemovalReport, out: Output) -> None:
    from generator.deploy.teardown import RemovalOutcome

    for r in result.stacks:
        kept = f"; keeps {', '.join(r.retained)}" if r.retained else ""
        lost = f"; DELETES DATA {', '.join(r.data_deleted)}" if r.data_deleted else ""
        out.line(f"  {r.result:<8} {r.name}{kept}{lost}{(': ' + r.detail) if r.detail else ''}")
    if not result.stacks:
        out.line("nothing to remove")
    elif result.held:
        refused = sum(1 for r in result.stacks if r.result == RemovalOutcome.REFUSED)
        out.line(
            f"nothing was deleted: {refused} of {len(result.stacks)} stacks refused; all of them go or none do. "
            f"To delete them, run again with --yes {' '.join(result.needs)}"
        )
    elif not result.executed:
        out.line("nothing was deleted: run again with --yes to delete these stacks (retained data stays)")


def finish(result: RemovalResult, out: Output) -> ExitCode:
    """Show the result; a held set (one stack refused, none deleted) or a failed deletion exits 1."""
    out.result(RemovalReport.of(result), render)
    return ExitCode.FINDINGS if result.held or (result.executed and not result.ok) else ExitCode.OK
