"""`pipectl destroy`: list (and with --yes delete) the stacks of one pipeline; retained data stays."""

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
    p.add_argument("pipeline", help="the pipeline to destroy")
    p.add_argument("--env", help="only this environment")
    removal.add_options(p)
    p.set_defaults(func=run)


def destroy(args: argparse.Namespace, out: Output) -> RemovalResult:
    from generator.deploy.destroy import destroy as remove_pipeline

    manifest = context.load_manifest(args)
    with context.target(args, manifest) as aws:
        options_ = removal.removal_options(args)
        return remove_pipeline(aws, manifest, args.pipeline, args.env, options_, context.progress(out, args))


def run(args: argparse.Namespace, out: Output) -> ExitCode:
    return removal.finish(destroy(args, out), out)
