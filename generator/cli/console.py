"""`pipectl console`: serve the web console of the running local target on a loopback port and print
its address and how to sign in (`pipectl up` starts it too; `pipectl local stop` stops it)."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from generator.cli.errors import ExitCode, UserError
from generator.cli.output import Output

if TYPE_CHECKING:
    from generator.deploy.manifest import Manifest


@dataclass
class ConsoleResult:
    """The console's address and user; `password` is shown once, when it was just set."""

    url: str
    user: str
    password: str | None
    already_running: bool
    log: str
    issuer: str | None = None
    """With OIDC sign-in: the provider users sign in at (there is no local console user then)."""


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", type=int, default=None, help="loopback port to serve on (default: a free one)")
    p.add_argument("--region", help="the console stack's region (default: the one in build/manifest.json)")
    p.add_argument("--build-dir", default="build", metavar="DIR", help="synth output (default: build)")
    p.add_argument(
        "--new-password",
        action="store_true",
        help="give the local console user a new password and print it (the one printed at start is not kept)",
    )
    p.set_defaults(func=run)


def console_region(args: argparse.Namespace) -> str:
    if args.region:
        return str(args.region)
    from generator.deploy.manifest import load_manifest

    try:
        manifest = load_manifest(Path(args.build_dir))
    except Exception as exc:
        raise UserError(f"--region: not given, and {args.build_dir}/manifest.json could not be read ({exc})") from exc
    if manifest.console is None:
        raise UserError(f"--region: not given, and {args.build_dir}/manifest.json has no console stack")
    return str(manifest.console.region)


def console_issuer(build_dir: Path) -> str | None:
    """The OpenID Connect issuer the synthesized console stack signs in with; None with Cognito or no build."""
    from generator.deploy.errors import ManifestError
    from generator.deploy.manifest import load_manifest

    try:
        return issuer_of(load_manifest(build_dir))
    except (ManifestError, OSError, ValueError):  # no readable build: the console serves all the same
        return None


def issuer_of(manifest: Manifest) -> str | None:
    """The console template's `OidcIssuer` output, as synth wrote it."""
    if manifest.console is None:
        return None
    outputs = json.loads(manifest.template_body(manifest.console)).get("Outputs") or {}
    issuer = (outputs.get("OidcIssuer") or {}).get("Value")
    return issuer if isinstance(issuer, str) else None


def serve_console(
    endpoint: str, region: str, workdir: Path, port: int | None = None, issuer: str | None = None
) -> ConsoleResult:
    """Start (or find) the local console; what `up` and `console` both print. With OIDC nobody signs
    in with the local console user, so no password is shown."""
    from generator.deploy.local.console.process import start_console

    started = start_console(endpoint, region, workdir, port)
    password = None if issuer else started.password
    return ConsoleResult(started.url, started.user, password, started.already_running, started.log, issuer)


def render(result: ConsoleResult, out: Output) -> None:
    state = "already running" if result.already_running else "running"
    out.line(f"console {state} at {result.url}")
    if result.issuer:
        out.line(
            f"  sign in at {result.issuer} (OpenID Connect; the provider must accept {result.url} as redirect URI)"
        )
    elif result.password:
        out.line(f"  sign in as {result.user} with password {result.password} (shown once; local target only)")
    else:
        out.line(
            f"  sign in as {result.user} with the password printed when it started; "
            "`pipectl console --new-password` sets a new one"
        )


def run(args: argparse.Namespace, out: Output) -> ExitCode:
    if args.port is not None and not 1024 <= args.port <= 65535:
        raise UserError(f"--port: expected a port from 1024 to 65535, found {args.port}")
    from generator.deploy.local import background_status

    workdir = Path.cwd()
    running = background_status(workdir)
    if running is None:
        out.error("pipectl: the local AWS is not running here: `pipectl up` starts it (and the console)")
        return ExitCode.ENV
    region = console_region(args)
    endpoint = str(running["endpoint"])
    try:
        result = serve_console(endpoint, region, workdir, args.port, console_issuer(Path(args.build_dir)))
        if args.new_password:
            from generator.deploy.local.console.process import new_password

            result.password = new_password(endpoint, region)
    except (RuntimeError, OSError) as exc:
        out.error(f"pipectl: the console did not start: {exc}")
        return ExitCode.ENV
    out.result(result, render)
    return ExitCode.OK
