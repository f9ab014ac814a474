"""Exit codes, and the one place that maps an error pipectl explains to its exit code.

0 success; 1 findings or a failed deployment; 2 invalid input (a pipeline file, a flag, a plan file);
3 the environment is not usable (no credentials, endpoint unreachable, lock held, no writable template
bucket); 130 interrupted.
"""

from __future__ import annotations

import sys
from enum import IntEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from generator.cli.output import JsonValue, Output
    from generator.spec.errors import SpecError


NO_CREDENTIALS = (
    "--target aws needs credentials: pass --profile NAME (a profile in ~/.aws/config), or set "
    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (with AWS_SESSION_TOKEN for temporary ones), or for IAM "
    "Identity Center run `aws sso login --profile NAME` and pass --profile NAME; --target local needs none"
)


class ExitCode(IntEnum):
    OK = 0
    FINDINGS = 1
    INPUT = 2
    ENV = 3
    INTERRUPTED = 130


class UserError(Exception):
    """A mistake the user can fix; printed as one line, exit code 2."""


def exit_code(exc: Exception, out: Output) -> ExitCode | None:
    """Explain `exc` on standard error and return its exit code; None for a bug, which is re-raised.

    Error classes are looked up only among modules the command imported: a command that never loaded
    botocore or the controller cannot have raised their errors, and `--help` loads neither.
    """
    from generator.spec.errors import SpecErrors

    if isinstance(exc, SpecErrors):
        if out.is_json:  # a script reads the findings where it reads every result: one document on stdout
            out.json({"errors": [_located(error) for error in exc.errors]})
        for error in exc.errors:
            out.error(str(error))
        out.error(f"{len(exc.errors)} error(s) in pipeline files; nothing was written or deployed")
        return ExitCode.INPUT
    if isinstance(exc, UserError):
        out.error(f"pipectl: {exc}")
        return ExitCode.INPUT
    assets = sys.modules.get("generator.stacks.assets")
    if assets is not None and isinstance(exc, assets.AssetError):
        out.error(str(exc))
        out.error("an asset could not be built; nothing was written, uploaded or deployed")
        return ExitCode.INPUT
    if "generator.deploy.errors" in sys.modules:
        code = _deploy_error(exc, out)
        if code is not None:
            return code
    if "botocore.exceptions" in sys.modules:
        from botocore import exceptions

        environment = (
            exceptions.NoCredentialsError,
            exceptions.NoRegionError,
            exceptions.EndpointConnectionError,
            exceptions.ProfileNotFound,
        )
        if isinstance(exc, exceptions.NoCredentialsError):
            out.error(f"pipectl: {exc}. {NO_CREDENTIALS}")
            return ExitCode.ENV
        sso = tuple(
            getattr(exceptions, name)
            for name in ("SSOTokenLoadError", "UnauthorizedSSOTokenError", "TokenRetrievalError")
            if hasattr(exceptions, name)
        )
        if sso and isinstance(exc, sso):
            out.error(
                f"pipectl: {exc}. The SSO session has expired or never started: run `aws sso login --profile NAME`"
            )
            return ExitCode.ENV
        if isinstance(exc, environment):
            out.error(f"pipectl: {exc}")
            return ExitCode.ENV
    return None


def _located(error: SpecError) -> JsonValue:
    loc = error.location
    return {"file": str(loc.file), "line": loc.line, "col": loc.col, "path": error.path, "message": error.message}


def _deploy_error(exc: Exception, out: Output) -> ExitCode | None:
    from generator.deploy import errors

    if not isinstance(exc, errors.DeployError):
        return None
    out.error(f"pipectl: {exc}")
    unusable = (
        ("generator.deploy.targets", "UnsupportedLocally"),
        ("generator.deploy.uploads", "TemplateBucketError"),
    )
    if isinstance(exc, errors.LockTimeout) or _raised_by(exc, *unusable):
        return ExitCode.ENV
    if isinstance(
        exc, (errors.ManifestError, errors.StalePlanError, errors.PlanError, errors.RefusedError, errors.NotRunnable)
    ):
        return ExitCode.INPUT
    return ExitCode.FINDINGS


def _raised_by(exc: Exception, *classes: tuple[str, str]) -> bool:
    """Whether `exc` is one of the named classes, looked at only in modules already imported."""
    for module_name, class_name in classes:
        module = sys.modules.get(module_name)
        if module is not None and isinstance(exc, getattr(module, class_name)):
            return True
    return False
