"""What several commands do on the way to their work: read the pipeline files, synthesize, load the
manifest, open the target and prepare it. Heavy modules are imported inside each function, so that the
parser (and `pipectl --help`) loads none of them, and synth/validate never load boto3."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from generator.cli.errors import UserError
from generator.cli.output import Output

if TYPE_CHECKING:
    from generator.deploy.aws import Aws
    from generator.deploy.manifest import Manifest
    from generator.deploy.progress import Progress
    from generator.deploy.targets import StandIn
    from generator.stacks.synth import StackBuild


def synth_builds(args: argparse.Namespace, out: Output) -> list[StackBuild]:
    """Read pipelines.d (errors exit 2 with file:line:col) and write build/; cache notes go to standard error."""
    from generator.spec.collector_image import read_collector_image, with_collector_image
    from generator.spec.loader import load_directory
    from generator.stacks.cache import CacheReport
    from generator.stacks.synth import synthesize

    given = getattr(args, "collector_image", None)
    image = read_collector_image(given) if given else None
    installation = with_collector_image(load_directory(Path(args.pipelines), args.pipelines.rstrip("/")), image)
    report = CacheReport()
    use_cache = not getattr(args, "no_cache", False)
    builds = synthesize(installation, Path(args.build_dir), use_cache, getattr(args, "jobs", None), report)
    for note in report.notes:
        out.note(note)
    return builds


def load_manifest(args: argparse.Namespace) -> Manifest:
    """build/manifest.json; an `--env` it has no stack of is an error here, before any AWS call."""
    from generator.deploy.manifest import load_manifest

    manifest = load_manifest(Path(args.build_dir))
    env = getattr(args, "env", None)
    envs = sorted({s.env for s in manifest.stacks if s.env})
    if env is not None and env not in envs:
        raise UserError(
            f"--env: no environment named {env!r} in the pipeline files; expected one of: {', '.join(envs)}"
        )
    return manifest


def region(args: argparse.Namespace, manifest: Manifest) -> str:
    """--region, else the console stack's region, else the environment's."""
    if args.region:
        return str(args.region)
    if manifest.console is not None:
        return str(manifest.console.region)
    fallback = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if fallback:
        return fallback
    raise UserError("no region: pass --region, or synthesize a console stack")


@contextmanager
def target(args: argparse.Namespace, manifest: Manifest, keep_running: bool = False) -> Iterator[Aws]:
    from generator.deploy.targets import open_target

    with open_target(
        args.target,
        region(args, manifest),
        args.profile,
        Path.cwd(),
        keep_running=keep_running,
        role_arn=getattr(args, "role_arn", None),
    ) as aws:
        yield aws


@dataclass
class Prepared:
    """The manifest to deploy on this target, and the values stood in for what belongs to a real account."""

    manifest: Manifest
    stand_ins: list[StandIn] = field(default_factory=list)


def for_target(aws: Aws, manifest: Manifest, out: Output, announce: bool = False) -> Prepared:
    """On the local target: refuse what it cannot create, and stand in for what belongs to a real account."""
    if not aws.target.is_local:
        return Prepared(manifest)
    from generator.deploy.targets import check_materialisable, stand_in_networks

    check_materialisable(manifest)
    local, stand_ins = stand_in_networks(aws, manifest)
    if announce and stand_ins:
        names = sorted({s.parameter for s in stand_ins})
        out.line(
            f"local target: {len(stand_ins)} values that belong to a real account are stood in by local ones "
            f"({', '.join(names)}); `pipectl plan --output json` lists each"
        )
    return Prepared(local, stand_ins)


def progress(out: Output, args: argparse.Namespace | None = None) -> Progress:
    """Stack progress on standard error: JSON lines with --log-format json, none under --output json."""
    from generator.deploy.progress import NullProgress, make_progress

    if args is not None and getattr(args, "log_format", "text") == "json":
        made = make_progress(sys.stderr, log_format="json")
    else:
        made = NullProgress() if out.is_json else make_progress(sys.stderr)
    close_progress()  # one live display at a time: an earlier one (bootstrap's) ends here
    _OPEN.append(made)
    out.pause = close_progress
    return made


_OPEN: list[Progress] = []  # closed by `pipectl`'s main when the command ends, however it ends


def close_progress() -> list[str]:
    """Stop every live display (the terminal gets its last complete table and a fresh line); the
    stacks still in flight, for an interrupted run to name."""
    flying: set[str] = set()
    for shown in _OPEN:  # closing is idempotent, and a display closed for output starts again on its next row
        flying.update(getattr(shown, "in_flight", list)())
        shown.close()
    return sorted(flying)


def end_progress() -> list[str]:
    """The command is over: close every display and forget them (main calls this once per command)."""
    flying = close_progress()
    _OPEN.clear()
    return flying


def local_bootstrap(aws: Aws, manifest: Manifest, args: argparse.Namespace, out: Output) -> None:
    """On the local target, plan, apply and up work on a fresh machine: the bootstrap stack is created when absent."""
    if not aws.target.is_local or args.template_bucket:
        return
    from generator.deploy.bootstrap import ensure_bootstrap
    from generator.deploy.revision import resolve_revision

    created = ensure_bootstrap(aws, manifest, resolve_revision(args.revision), progress(out, args), only_absent=True)
    if created and manifest.bootstrap is not None:
        out.line(
            f"local target: created the {manifest.bootstrap.name} stack (template and asset bucket) in "
            f"{', '.join(created)}; on AWS, `pipectl bootstrap` creates it"
        )
