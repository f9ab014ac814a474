"""`pipectl schema`: the JSON Schema of pipeline files, for editors and CI."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from generator.cli.errors import ExitCode
from generator.cli.options import command
from generator.cli.output import Output

if TYPE_CHECKING:
    from generator.cli.options import Subcommands

# The committed schema is the models' export (a test keeps them equal): printing it skips pydantic.
SHIPPED = Path(__file__).resolve().parents[1] / "spec" / "pipeline.schema.json"


def register(sub: Subcommands) -> None:
    p = command(sub, "schema", "print the JSON Schema of pipeline files")
    p.add_argument("--write", metavar="FILE", help="write it to FILE instead of standard output")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, out: Output) -> ExitCode:
    if args.write:
        from generator.spec.schema import schema_text

        Path(args.write).write_text(schema_text())
        out.line(f"wrote {args.write}")
        return ExitCode.OK
    if SHIPPED.is_file():
        sys.stdout.write(SHIPPED.read_text(encoding="utf-8"))
    else:
        from generator.spec.schema import schema_text

        sys.stdout.write(schema_text())
    return ExitCode.OK
