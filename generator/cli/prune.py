"""`pipectl prune`: list (and with --yes delete) stacks of pipelines whose file is gone; retained data stays."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from generator.cli import context, options, removal
from generator.cli.errors import ExitCode
from generator.cli.output import Output

if TYPE_CHECKING:
    from generator.deploy.teardown import RemovalResult


def configure(p: argparse.ArgumentParser) -> None:
    options.target(p)
    options.pipelines(p, "pipeline files; stacks of pipelines not in it are pruned")
    removal.add_options(p)
    p.set_defaults(func=run)


def prune(args: argparse.Namespace, out: Output) -> RemovalResult:
    from generator.deploy.prune import prune as remove_orphans

    # What is gone is what pipelines.d no longer holds, not what an older build/ says.
    context.synth_builds(args, out)
    manifest = context.load_manifest(args)
    with context.target(args, manifest) as aws:
        return remove_orphans(aws, manifest, removal.removal_options(args), context.progress(out, args))


def run(args: argparse.Namespace, out: Output) -> ExitCode:
    return removal.finish(prune(args, out), out)
