"""Revisions: the commit, and a content hash when the work tree has uncommitted changes."""

from __future__ import annotations

import subprocess
from pathlib import Path

from generator.deploy.revision import resolve_revision


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_a_dirty_work_tree_gets_a_suffix_that_follows_its_content(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    (tmp_path / "shop.yaml").write_text("a: 1\n")
    git(tmp_path, "add", ".")
    git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "one")
    commit = git(tmp_path, "rev-parse", "--short", "HEAD")
    assert resolve_revision(None, cwd=tmp_path) == commit

    (tmp_path / "shop.yaml").write_text("a: 2\n")
    first = resolve_revision(None, cwd=tmp_path)
    assert first.startswith(f"{commit}-dirty-") and len(first) == len(commit) + 14
    assert resolve_revision(None, cwd=tmp_path) == first  # the same content, the same name
    (tmp_path / "shop.yaml").write_text("a: 3\n")
    assert resolve_revision(None, cwd=tmp_path) not in (first, commit)

    (tmp_path / "shop.yaml").write_text("a: 1\n")
    (tmp_path / "new.yaml").write_text("b: 1\n")  # an untracked file is content too
    untracked = resolve_revision(None, cwd=tmp_path)
    assert untracked.startswith(f"{commit}-dirty-")
    (tmp_path / ".gitignore").write_text("new.yaml\n.gitignore\n")  # ignored files are not
    assert resolve_revision(None, cwd=tmp_path) == commit
