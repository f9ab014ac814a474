"""`pipectl schema`: the JSON Schema of pipeline files, for editors and CI."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from generator.cli.errors import ExitCode
from generator.cli.output import Output

# The committed schema is the models' export (a test keeps them equal): printing it skips pydantic.
SHIPPED = Path(__file__).resolve().parents[1] / "spec" / "pipeline.schema.json"


def configure(p: argparse.ArgumentParser) -> None:
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
