"""Errors the controller raises on purpose: each carries a message a person can act on.

The CLI prints `str(error)` and exits non-zero; a traceback means a bug, never a user mistake.
"""

from __future__ import annotations


class DeployError(Exception):
    """Base class: something about the deployment the user must fix or retry."""


class ManifestError(DeployError):
    """build/manifest.json is missing, malformed, or names templates that are not there."""


class PlanError(DeployError):
    """plan.json is missing, malformed, or does not match the manifest it claims to plan."""


class StalePlanError(DeployError):
    """A planned stack moved on since the plan was made: plan again and review the new change sets."""


class WaitTimeout(DeployError):
    """A stack, change set or drift detection did not settle within its timeout."""


class LockTimeout(DeployError):
    """Another run holds the deploy lock and did not release it within --lock-timeout."""


class RefusedError(DeployError):
    """An operation would lose data or bypass a protection and was not explicitly allowed."""


class NotRunnable(DeployError):
    """`pipectl run` names a pipeline, environment or state machine that is not there to run."""
