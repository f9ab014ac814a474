"""The revision a run deploys: --revision, else the git commit, else "local"."""

from __future__ import annotations

import subprocess
from pathlib import Path


def resolve_revision(explicit: str | None = None, cwd: Path | None = None) -> str:
    """Change sets and tags are named after it, so a reviewer can tell which commit they approve."""
    if explicit:
        return explicit
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=cwd, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return "local"
    return done.stdout.strip() or "local"
