"""What synthesized output depends on besides the pipeline file: pipectl's generator code, `templates/`
and the libraries that build and render templates.

Their fingerprint is part of every synth cache key, so a changed builder, policy, rule, template or
library version can never be answered with a template built by the old one. Computed once per run.
"""

from __future__ import annotations

import hashlib
import sys
from importlib import metadata, resources
from pathlib import Path

import generator

TEMPLATES_PACKAGE = "generator.templates"
PACKAGE = Path(generator.__file__).resolve().parent
TEMPLATES_DIR = Path(str(resources.files(TEMPLATES_PACKAGE)))
"""Jinja2 templates (ASL, AppSync, dashboards), package data: the repository's templates/ in a checkout or an
editable install, `generator/templates/` in an installed wheel. The stack builders render them from here."""
GENERATOR_PARTS = ("spec", "stacks", "policy")
"""Sub-packages whose code (and data files) shape templates; the controller and the CLI do not."""
FUNCTIONS_DIR = PACKAGE / "stacks" / "functions"
"""Lambda handler sources, packaged as assets (`generator.stacks.assets.FUNCTIONS_DIR`)."""
LIBRARIES = ("troposphere", "awacs", "jinja2", "pydantic", "cfn-lint")
"""Libraries whose version can change a template (cfn-lint ships the resource schemas pipectl reads)."""


def _files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")


def source_files(templates_dir: Path | None = None) -> list[Path]:
    """Every file whose bytes go into the fingerprint: the generator's code, its data, and templates/."""
    roots = [p for p in sorted(PACKAGE.glob("*.py")) if p.name != "cli.py"]
    roots += [PACKAGE / part for part in GENERATOR_PARTS]
    roots.append(templates_dir or TEMPLATES_DIR)
    return [path for root in roots for path in _files(root)]


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "absent"


def functions_dir() -> Path:
    """Where the asset builder reads Lambda sources: its module's setting once that module is loaded.

    Only a loaded module can have had its folder changed, so a run that has not imported it (every
    unit cached) reads the shipped folder, as the builder would.
    """
    assets = sys.modules.get("generator.stacks.assets")
    folder = getattr(assets, "FUNCTIONS_DIR", None) if assets is not None else None
    return folder if isinstance(folder, Path) else FUNCTIONS_DIR


def fingerprint(templates_dir: Path | None = None) -> str:
    """sha256 over the generator's files (name and bytes), Lambda sources, library and Python versions."""
    templates = templates_dir or TEMPLATES_DIR
    digest = hashlib.sha256(f"python {sys.version_info[:2]}\n".encode())
    for name in LIBRARIES:
        digest.update(f"{name} {_version(name)}\n".encode())
    # templates/ is named the same wherever it lives (the repository, or inside an installed package)
    named = [
        (path, Path("templates") / path.relative_to(templates))
        if path.is_relative_to(templates)
        else (path, path.relative_to(PACKAGE.parent))
        for path in source_files(templates)
    ]
    functions = functions_dir()
    named += [(path, Path("functions") / path.relative_to(functions)) for path in _files(functions)]
    for path, where in named:
        data = path.read_bytes()
        digest.update(f"{where.as_posix()} {len(data)}\n".encode())
        digest.update(data)
    return digest.hexdigest()
