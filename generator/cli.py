"""The `pipectl` command: argument parsing and output only; the work happens in spec/stacks/policy/deploy.

Exit codes: 0 success; 1 findings or a failed deployment; 2 invalid input (a pipeline file, a flag,
a plan file); 3 the environment is not usable (no credentials, endpoint unreachable, lock held);
130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console

EXIT_OK, EXIT_FINDINGS, EXIT_INPUT, EXIT_ENV, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


class UserError(Exception):
    """A mistake the user can fix; printed as one line, exit code 2."""


class Output:
    """Where pipectl speaks: colour only on a terminal without NO_COLOR, plain lines elsewhere."""

    def __init__(self, fmt: str = "text") -> None:
        self.format = fmt
        interactive = sys.stdout.isatty() and "NO_COLOR" not in os.environ and not os.environ.get("CI")
        self.out = Console(
            highlight=False, no_color=not interactive, force_terminal=interactive or None, soft_wrap=True
        )
        self.err = Console(stderr=True, highlight=False, no_color=not interactive, soft_wrap=True)
        self.interactive = interactive

    def line(self, text: str = "", style: str | None = None) -> None:
        if self.format == "json":
            return
        self.out.print(text, style=style, markup=False)

    def error(self, text: str) -> None:
        self.err.print(text, style="red", markup=False)

    def json(self, data: Any) -> None:
        sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def _add_source_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--pipelines",
        "-p",
        default="pipelines.d",
        metavar="DIR",
        help="directory of pipeline files (default: pipelines.d)",
    )
    parser.add_argument("--build-dir", default="build", metavar="DIR", help="where synth writes (default: build)")


def _load(args: argparse.Namespace) -> Any:
    from generator.spec.loader import load_directory

    return load_directory(Path(args.pipelines), args.pipelines.rstrip("/"))


def cmd_schema(args: argparse.Namespace, out: Output) -> int:
    from generator.spec.schema import schema_text

    if args.write:
        Path(args.write).write_text(schema_text())
        out.line(f"wrote {args.write}")
    else:
        sys.stdout.write(schema_text())
    return EXIT_OK


def _synth(args: argparse.Namespace, out: Output) -> list[Any]:
    installation = _load(args)
    from generator.stacks.synth import synthesize

    return synthesize(installation, Path(args.build_dir))


def cmd_synth(args: argparse.Namespace, out: Output) -> int:
    builds = _synth(args, out)
    if out.format == "json":
        out.json({"build_dir": args.build_dir, "stacks": [b.entry for b in builds]})
        return EXIT_OK
    pipelines = {b.entry["pipeline"] for b in builds if b.entry["pipeline"]}
    out.line(f"synthesized {len(builds)} stacks for {len(pipelines)} pipelines into {args.build_dir}/")
    for build in builds:
        out.line(f"  {build.entry['name']:<48} {args.build_dir}/{build.entry['template']}")
    return EXIT_OK


def cmd_validate(args: argparse.Namespace, out: Output) -> int:
    from generator.policy.lint import LintJob, lint_templates

    builds = _synth(args, out)
    jobs = [LintJob(b.entry["template"], b.entry["region"]) for b in builds]
    findings = lint_templates(Path(args.build_dir), jobs, workers=args.jobs)
    if out.format == "json":
        out.json({"templates": len(jobs), "findings": [f.__dict__ for f in findings]})
    else:
        for finding in findings:
            out.line(f"{args.build_dir}/{finding}")
        verdict = "no findings" if not findings else f"{len(findings)} finding(s)"
        out.line(f"validated {len(jobs)} templates with cfn-lint and the project rules: {verdict}")
    return EXIT_FINDINGS if findings else EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pipectl",
        description="GitOps for clickstream data pipelines on AWS: pipeline files in, CloudFormation stacks out.",
        epilog="Exit codes: 0 ok, 1 findings or failed deployment, 2 invalid input, 3 environment not usable.",
    )
    parser.add_argument("--output", "-o", choices=("text", "json"), default="text", help="output format")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("schema", help="print the JSON Schema of pipeline files")
    p.add_argument("--write", metavar="FILE", help="write it to FILE instead of standard output")
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser("synth", help="write build/ templates and manifest.json from pipelines.d/")
    _add_source_options(p)
    p.set_defaults(func=cmd_synth)

    p = sub.add_parser("validate", help="check pipeline files, synthesize, and lint every template")
    _add_source_options(p)
    p.add_argument("--jobs", "-j", type=int, default=None, help="parallel lint workers (default: CPU count)")
    p.set_defaults(func=cmd_validate)

    for register in EXTRA_COMMANDS:
        register(sub)
    return parser


# Deploy commands register themselves here (see generator/deploy), keeping this module the only CLI.
EXTRA_COMMANDS: list[Callable[[Any], None]] = []


def main(argv: Sequence[str] | None = None) -> int:
    from generator.spec.errors import SpecErrors

    parser = build_parser()
    args = parser.parse_args(argv)
    out = Output(args.output)
    try:
        code: int = args.func(args, out)
    except SpecErrors as exc:
        for error in exc.errors:
            out.error(str(error))
        out.error(f"{len(exc.errors)} error(s) in pipeline files; nothing was written or deployed")
        return EXIT_INPUT
    except UserError as exc:
        out.error(f"pipectl: {exc}")
        return EXIT_INPUT
    except KeyboardInterrupt:
        out.error("pipectl: interrupted")
        return EXIT_INTERRUPTED
    return code


if __name__ == "__main__":
    sys.exit(main())
