"""The revision a run deploys: --revision, else the git commit (with `-dirty-<hash>` for local edits), else "local".

Change sets and stack tags carry it, so one name must never stand for two contents: a work tree with
uncommitted changes (tracked edits, or new files git does not ignore) gets a suffix hashed from
exactly those changes. The same edits give the same name; any other edit gives another.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path


def _git(args: list[str], cwd: Path | None) -> bytes:
    return subprocess.run(["git", *args], capture_output=True, cwd=cwd, timeout=30, check=True).stdout


def resolve_revision(explicit: str | None = None, cwd: Path | None = None) -> str:
    """Change sets and tags are named after it, so a reviewer can tell which commit they approve."""
    if explicit:
        return explicit
    try:
        commit = _git(["rev-parse", "--short", "HEAD"], cwd).decode().strip()
        if not commit:
            return "local"
        suffix = _dirty_hash(cwd)
    except (OSError, subprocess.SubprocessError):
        return "local"
    return f"{commit}-dirty-{suffix}" if suffix else commit


def _dirty_hash(cwd: Path | None) -> str:
    """Seven hex digits of the uncommitted content; "" for a clean work tree."""
    diff = _git(["diff", "HEAD", "--binary"], cwd)
    top = Path(_git(["rev-parse", "--show-toplevel"], cwd).decode().strip())
    untracked = [p for p in _git(["ls-files", "--others", "--exclude-standard", "-z"], top).split(b"\0") if p]
    if not diff and not untracked:
        return ""
    digest = hashlib.sha256(diff)
    for name in sorted(untracked):
        digest.update(b"\0" + name + b"\0")
        path = top / name.decode()
        digest.update(path.read_bytes() if path.is_file() else b"")
    return digest.hexdigest()[:7]
