"""Run one stage of buildspec.yml locally, phase by phase, as CodeBuild would.

The buildspec is read with PyYAML. Variables: the buildspec's `env.variables` are defaults, the
caller's environment overrides them (as a CodeBuild project's and the pipeline's variables do), and
PIPECTL_STAGE is the stage given. Each command runs in its own bash, and what it exported and where
it changed directory carry over to the next command, as in CodeBuild's version 0.2 shell. Phases run
in order install, pre_build, build, post_build: a failed install or pre_build ends the run, a failed
build still runs post_build (with CODEBUILD_BUILD_SUCCEEDING=0). Afterwards the exported variables
are printed and every declared JUnit report is parsed, so a broken report fails here, not in CodeBuild.

By default the commands run in a virtual environment (`.pipectl/buildspec-venv`, sharing the
installed packages) so the install phase's `pip install -e .` changes neither the caller's Python
nor anything outside the checkout; `--no-venv` runs with the current Python, as in a CI container.
"""

from __future__ import annotations

import argparse
import glob
import os
import subprocess
import sys
import tempfile
import venv
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

STAGES = ("Validate", "Image", "Plan", "Apply", "SmokeTest")
PHASES = ("install", "pre_build", "build", "post_build")
VENV = Path(".pipectl") / "buildspec-venv"
SHELL_NOISE = frozenset({"_", "SHLVL", "OLDPWD", "PWD"})


@dataclass
class Run:
    """The state carried from command to command: environment and working directory."""

    env: dict[str, str]
    cwd: Path
    failed: list[str] = field(default_factory=list)


def load_buildspec(path: Path) -> dict[str, Any]:
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(spec, dict) or str(spec.get("version")) != "0.2":
        raise SystemExit(f"{path}: expected a buildspec of version 0.2")
    env = spec.get("env") or {}
    for unsupported in ("parameter-store", "secrets-manager"):
        if unsupported in env:
            raise SystemExit(f"{path}: env.{unsupported} is not run locally; pass the values as variables")
    return spec


def environment(spec: dict[str, Any], stage: str, repo: Path, base: dict[str, str]) -> dict[str, str]:
    """Buildspec defaults < the caller's environment < the stage; plus what CodeBuild itself sets."""
    declared = {str(k): str(v) for k, v in ((spec.get("env") or {}).get("variables") or {}).items()}
    env = {**declared, **base}
    env.update(PIPECTL_STAGE=stage, CODEBUILD_SRC_DIR=str(repo), CODEBUILD_BUILD_SUCCEEDING="1")
    return env


def with_venv(env: dict[str, str], repo: Path) -> dict[str, str]:
    """A virtual environment that sees the installed packages: the install phase stays inside the checkout."""
    folder = repo / VENV
    if not (folder / "bin" / "python3").exists():
        venv.EnvBuilder(system_site_packages=True, with_pip=False, symlinks=True).create(folder)
        _share_pip(folder)
    return {**env, "VIRTUAL_ENV": str(folder), "PATH": f"{folder / 'bin'}{os.pathsep}{env.get('PATH', '')}"}


def _share_pip(folder: Path) -> None:
    """pip comes from the system site packages (creating it anew would need the network)."""
    script = folder / "bin" / "pip"
    script.write_text(f'#!/bin/sh\nexec {folder / "bin" / "python3"} -m pip "$@"\n')
    script.chmod(0o755)


def run_command(run: Run, command: str, where: str) -> int:
    """One command in its own bash; its exported variables and directory carry over to the next."""
    with tempfile.TemporaryDirectory() as scratch:
        state = Path(scratch) / "env"
        script = f"trap '__status=$?; env -0 > {state}; exit $__status' EXIT\ncd {_quote(str(run.cwd))}\n{command}\n"
        lines = command.strip().splitlines() or [""]
        print(f"[run-buildspec] {where}: {lines[0]}{' ...' if len(lines) > 1 else ''}", flush=True)
        status = subprocess.run(["bash", "-c", script], env=run.env, cwd=run.cwd, check=False).returncode
        if state.exists():
            _carry_over(run, state.read_bytes())
    return status


def _carry_over(run: Run, raw: bytes) -> None:
    values = dict(item.split("=", 1) for item in raw.decode(errors="replace").split("\0") if "=" in item)
    run.cwd = Path(values.get("PWD", str(run.cwd)))
    run.env = {k: v for k, v in values.items() if k not in SHELL_NOISE}


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def run_phase(run: Run, spec: dict[str, Any], phase: str) -> bool:
    """The phase's commands until one fails (unless on-failure: CONTINUE), then its finally block."""
    body = (spec.get("phases") or {}).get(phase) or {}
    if phase == "install" and body.get("runtime-versions"):
        print(
            f"[run-buildspec] install: runtime-versions {body['runtime-versions']} are CodeBuild's images; "
            f"using {sys.executable} ({sys.version.split()[0]})",
            flush=True,
        )
    ok = True
    for index, command in enumerate(body.get("commands") or []):
        status = run_command(run, str(command), f"{phase}[{index}]")
        if status != 0:
            run.failed.append(f"{phase}[{index}] exited {status}")
            ok = False
            break
    for index, command in enumerate(body.get("finally") or []):
        if run_command(run, str(command), f"{phase}.finally[{index}]") != 0:
            run.failed.append(f"{phase}.finally[{index}] failed")
            ok = False
    return ok or str(body.get("on-failure", "ABORT")).upper() == "CONTINUE"


def run_stage(spec: dict[str, Any], run: Run) -> bool:
    """install -> pre_build -> build -> post_build, with CodeBuild's rules for what runs after a failure."""
    for phase in ("install", "pre_build"):
        if not run_phase(run, spec, phase):
            return False
    built = run_phase(run, spec, "build")
    if not built:
        run.env["CODEBUILD_BUILD_SUCCEEDING"] = "0"
    post = run_phase(run, spec, "post_build")
    return built and post


def check_reports(spec: dict[str, Any], repo: Path) -> list[str]:
    """Each declared report's files, parsed as CodeBuild would; returns the problems found."""
    problems: list[str] = []
    for name, report in (spec.get("reports") or {}).items():
        base = repo / str(report.get("base-directory", "."))
        patterns = [str(base / pattern) for pattern in report.get("files", [])]
        files = sorted({path for pattern in patterns for path in glob.glob(pattern, recursive=True)})
        if not files:
            print(f"[run-buildspec] report {name}: no files (not produced by this stage)")
            continue
        for path in files:
            try:
                root = ElementTree.parse(path).getroot()
            except ElementTree.ParseError as exc:
                problems.append(f"report {name}: {path} is not valid XML: {exc}")
                continue
            suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
            tests = sum(int(s.get("tests", "0")) for s in suites)
            failures = sum(int(s.get("failures", "0")) + int(s.get("errors", "0")) for s in suites)
            print(f"[run-buildspec] report {name}: {Path(path).relative_to(repo)}: {tests} tests, {failures} failed")
    return problems


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="scripts/run-buildspec", description=__doc__.splitlines()[0])
    parser.add_argument("stage", choices=STAGES)
    parser.add_argument("--buildspec", default="buildspec.yml", help="default: buildspec.yml")
    parser.add_argument("--no-venv", action="store_true", help="install into the current Python (CI containers)")
    args = parser.parse_args(argv)
    repo = Path.cwd()
    spec = load_buildspec(repo / args.buildspec)
    env = environment(spec, args.stage, repo, dict(os.environ))
    run = Run(env if args.no_venv else with_venv(env, repo), repo)
    ok = run_stage(spec, run)
    for name in (spec.get("env") or {}).get("exported-variables") or []:
        print(f"[run-buildspec] exported {name}={run.env.get(name, '')}")
    problems = check_reports(spec, repo)
    for problem in problems:
        print(f"[run-buildspec] {problem}", file=sys.stderr)
    verdict = "succeeded" if ok and not problems else "FAILED: " + "; ".join(run.failed + problems)
    print(f"[run-buildspec] stage {args.stage} {verdict}", flush=True)
    return 0 if ok and not problems else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
