"""What `pip install pipectl` ships: package data found through the package, dependencies as imported.

The wheel test builds the package from a copy of the sources, installs it into a fresh virtualenv (no
system site-packages) and synthesizes the shipped examples from a directory outside the repository;
the output must be the bytes an in-repository synth writes. To stay fast the scratch environment
reads the already-installed third-party libraries through a path file; pipectl itself comes only
from the wheel, which the test checks before it trusts the result.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from importlib import resources
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

from generator.spec.loader import load_directory
from generator.stacks import sources
from generator.stacks.synth import synthesize

REPO = Path(__file__).resolve().parents[1]
SHIPPED = ("pyproject.toml", "setup.py", "README.md", "generator", "templates")
TEMPLATE_FILES = ("processing.asl.json.j2", "dashboard.json.j2", "appsync/schema.graphql")


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared() -> set[str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    requirements = [
        *project["dependencies"],
        *(r for extra in project["optional-dependencies"].values() for r in extra),
    ]
    return {_normalized(re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0]) for requirement in requirements}


def _imported_top_levels() -> dict[str, str]:
    """Third-party top-level modules the package imports -> one file that imports each."""
    found: dict[str, str] = {}
    for path in sorted((REPO / "generator").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top != "generator":
                    found.setdefault(top, str(path.relative_to(REPO)))
    return found


def test_every_third_party_import_is_a_declared_dependency() -> None:
    owners = packages_distributions()
    declared = _declared()
    undeclared = {
        module: where
        for module, where in _imported_top_levels().items()
        if not {_normalized(dist) for dist in owners.get(module, [module])} & declared
    }
    assert not undeclared, f"imported but not declared in pyproject.toml: {undeclared}"


def test_the_templates_are_package_data_found_through_the_package() -> None:
    shipped = resources.files(sources.TEMPLATES_PACKAGE)
    for name in TEMPLATE_FILES:
        assert shipped.joinpath(name).is_file(), name
    assert Path(str(shipped)) == sources.TEMPLATES_DIR
    assert resources.files("generator.policy").joinpath("data/execution_permissions.json").is_file()
    assert resources.files("generator.spec").joinpath("pipeline.schema.json").is_file()


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, f"{' '.join(command)}: {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _tree(root: Path) -> dict[str, bytes]:
    skipped = (".synth-cache", ".lint-cache")
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and not any(part in skipped for part in path.relative_to(root).parts)
    }


@pytest.mark.slow
def test_an_installed_wheel_synthesizes_the_examples_as_the_checkout_does(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    for name in SHIPPED:
        origin = REPO / name
        if origin.is_dir():
            shutil.copytree(origin, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(origin, source / name)
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    wheels = tmp_path / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(source)], tmp_path, env)
    [wheel] = wheels.glob("pipectl-*.whl")

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp_path, env)
    python = venv / "bin" / "python"
    site = Path(
        _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp_path, env).strip()
    )
    # the running environment's libraries, after the venv's own site-packages; path files there are not run,
    # so an editable install of this checkout stays invisible
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)], tmp_path, env
    )

    outside = tmp_path / "work"
    shutil.copytree(REPO / "pipelines.d", outside / "pipelines.d")
    where = _run(
        [str(python), "-c", "import generator.stacks.sources as s; print(s.__file__); print(s.TEMPLATES_DIR)"],
        outside,
        env,
    ).split()
    assert all(Path(path).is_relative_to(site) for path in where), where
    _run([str(venv / "bin" / "pipectl"), "synth"], outside, env)

    checkout = tmp_path / "checkout-build"
    synthesize(load_directory(REPO / "pipelines.d", "pipelines.d"), checkout, use_cache=False)
    installed, expected = _tree(outside / "build"), _tree(checkout)
    assert sorted(installed) == sorted(expected)
    assert [name for name in expected if installed[name] != expected[name]] == []
