"""`pipectl synth`: pipeline files in, build/ templates and manifest.json out."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from generator.cli import context, options
from generator.cli.errors import ExitCode
from generator.cli.output import JsonValue, Output
from generator.manifest_model import entry_data


@dataclass
class SynthResult:
    """`stacks` are the manifest entries, as build/manifest.json holds them."""

    build_dir: str
    stacks: list[dict[str, JsonValue]]


def configure(p: argparse.ArgumentParser) -> None:
    options.source(p)
    options.jobs(p, "synth")
    p.add_argument(
        "--no-cache", action="store_true", help="rebuild every stack, ignoring build/.synth-cache (same output)"
    )
    p.set_defaults(func=run)


def synth(args: argparse.Namespace, out: Output) -> SynthResult:
    builds = context.synth_builds(args, out)
    return SynthResult(args.build_dir, [entry_data(build.entry) for build in builds])


def render(result: SynthResult, out: Output) -> None:
    pipelines = {entry["pipeline"] for entry in result.stacks if entry["pipeline"]}
    out.line(f"synthesized {len(result.stacks)} stacks for {len(pipelines)} pipelines into {result.build_dir}/")
    for entry in result.stacks:
        out.line(f"  {entry['name']!s:<48} {result.build_dir}/{entry['template']}")


def run(args: argparse.Namespace, out: Output) -> ExitCode:
    out.result(synth(args, out), render)
    return ExitCode.OK
