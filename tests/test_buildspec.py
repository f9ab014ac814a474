"""buildspec.yml is tested by running it: scripts/run-buildspec runs a stage's phases as CodeBuild would.

The Validate stage's own command runs the whole test suite - this test included - so the test sets
PIPECTL_BUILDSPEC_SKIP_TESTS=1, which skips only that one command (pytest); everything else of the
stage (install, ruff, mypy, `pipectl validate` with cfn-lint, synth, the JUnit report) runs for real in
a temporary copy of the checkout (the files git tracks or would track), so nothing here touches the
working tree or the installed package. The Plan stage runs against the embedded local AWS. The
runner's own rules (variables, exports, phase order after a failure) are checked with small buildspecs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def run(stage: str, cwd: Path, *extra: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("PIPECTL_", "CODEBUILD_"))}
    return subprocess.run(
        [str(cwd / "scripts" / "run-buildspec"), stage, *extra],
        cwd=cwd,
        env={**environment, **env},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The files of a clean checkout: tracked ones and new ones git would track, nothing ignored."""
    target = tmp_path_factory.mktemp("checkout")
    listed = (
        subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=REPO,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            (target / name).write_bytes(source.read_bytes())
            (target / name).chmod(source.stat().st_mode)
    return target


def test_validate_runs_green_on_a_clean_checkout(checkout: Path) -> None:
    done = run("Validate", checkout, PIPECTL_BUILDSPEC_SKIP_TESTS="1")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert "tests skipped: PIPECTL_BUILDSPEC_SKIP_TESTS=1" in done.stdout
    assert "[run-buildspec] stage Validate succeeded" in done.stdout
    assert (checkout / "build" / "manifest.json").is_file()
    suite = ElementTree.parse(checkout / "reports" / "cfn-lint.xml").getroot().find("testsuite")
    assert suite is not None and int(suite.get("tests", "0")) >= 25 and suite.get("failures") == "0"
    # The install phase went into the checkout's own virtual environment, not into this Python.
    installed = subprocess.run(
        [sys.executable, "-c", "import generator; print(generator.__file__)"],
        cwd="/",
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert not installed.startswith(str(checkout))


def test_plan_exports_what_the_approval_reads(checkout: Path) -> None:
    done = run("Plan", checkout)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    exported = dict(
        line.removeprefix("[run-buildspec] exported ").split("=", 1)
        for line in done.stdout.splitlines()
        if line.startswith("[run-buildspec] exported ")
    )
    # A first plan creates prod stacks and the console: a person must approve it.
    assert exported["PIPECTL_APPROVAL"] == "required"
    assert "Changes outside test: " in exported["PIPECTL_PLAN_SUMMARY"]
    assert len(exported["PIPECTL_PLAN_SUMMARY"]) <= 500
    assert exported["PIPECTL_PLAN_LINK"].startswith("https://eu-west-1.console.aws.amazon.com/cloudformation/")
    assert (checkout / "build" / "plan" / "plan.json").is_file()


def write_buildspec(folder: Path, text: str) -> Path:
    (folder / "scripts").mkdir(parents=True, exist_ok=True)
    for name in ("run-buildspec", "run_buildspec.py"):
        (folder / "scripts" / name).write_bytes((REPO / "scripts" / name).read_bytes())
        (folder / "scripts" / name).chmod((REPO / "scripts" / name).stat().st_mode)
    (folder / "buildspec.yml").write_text(text)
    return folder


RULES = """version: 0.2
env:
  variables:
    GREETING: from-buildspec
    KEPT: default
  exported-variables: [RESULT]
phases:
  install:
    commands:
      - export FROM_INSTALL=1
      - mkdir -p sub && cd sub
  pre_build:
    commands:
      - test "$FROM_INSTALL" = 1 && test "$(basename "$PWD")" = sub
  build:
    commands:
      - echo "stage=$PIPECTL_STAGE greeting=$GREETING kept=$KEPT"
      - |
        set -e
        false
        echo "never printed"
      - echo "not reached"
  post_build:
    commands:
      - export RESULT="post_build ran, succeeding=$CODEBUILD_BUILD_SUCCEEDING"
"""


def test_variables_exports_and_directories_carry_over_and_post_build_follows_a_failed_build(tmp_path: Path) -> None:
    folder = write_buildspec(tmp_path, RULES)
    done = run("Plan", folder, "--no-venv", GREETING="from-project")
    assert done.returncode == 1
    assert "stage=Plan greeting=from-project kept=default" in done.stdout
    assert "never printed" not in done.stdout and "not reached" not in done.stdout
    assert "exported RESULT=post_build ran, succeeding=0" in done.stdout
    assert "FAILED: build[1] exited 1" in done.stdout


def test_a_failed_install_ends_the_run(tmp_path: Path) -> None:
    folder = write_buildspec(tmp_path, RULES.replace("export FROM_INSTALL=1", "exit 3"))
    done = run("Validate", folder, "--no-venv")
    assert done.returncode == 1
    assert "FAILED: install[0] exited 3" in done.stdout
    assert "build[0]" not in done.stdout and "post_build" not in done.stdout


def test_a_broken_junit_report_fails_the_run(tmp_path: Path) -> None:
    folder = write_buildspec(
        tmp_path,
        """version: 0.2
phases:
  build:
    commands:
      - mkdir -p reports && echo "<testsuite" > reports/broken.xml
reports:
  tests:
    files: [broken.xml]
    base-directory: reports
    file-format: JUNITXML
""",
    )
    done = run("Validate", folder, "--no-venv")
    assert done.returncode == 1 and "is not valid XML" in done.stderr


def held_buildspec(folder: Path, stage: str) -> Path:
    """The buildspec the delivery template holds for `stage`, pinned to this checkout's pipectl."""
    from generator.stacks.delivery import CodeCommitSource, DeliverySpec, build_delivery

    spec = DeliverySpec(CodeCommitSource("pipectl-config"), pipectl_requirement=f"pipectl @ file://{REPO}")
    project = build_delivery(spec).to_dict()["Resources"][f"{stage}Project"]["Properties"]
    path = folder / f"held-{stage.lower()}.yml"
    path.write_text(project["Source"]["BuildSpec"])
    return path


@pytest.mark.slow
def test_apply_runs_the_commands_the_delivery_template_holds_not_a_pushed_buildspec(
    checkout: Path, tmp_path: Path
) -> None:
    # One local AWS for the stages, as one account serves them: Plan's change sets are there for Apply.
    pipectl = str(Path(sys.executable).parent / "pipectl")
    subprocess.run([pipectl, "local", "start"], cwd=checkout, check=True, capture_output=True, timeout=120)
    marker = tmp_path / "pushed-apply-ran"
    pushed = (checkout / "buildspec.yml").read_text()
    tampered = pushed.replace("pipectl apply --plan", f"touch {marker}; pipectl apply --plan")
    assert tampered != pushed
    held = held_buildspec(tmp_path, "Apply")
    try:
        planned = run("Plan", checkout)
        assert planned.returncode == 0, planned.stdout[-4000:] + planned.stderr[-4000:]
        (checkout / "buildspec.yml").write_text(tampered)
        # A pushed buildspec that says no approval is needed, for a plan that creates prod stacks: refused.
        skipped = run("Apply", checkout, "--buildspec", str(held), PIPECTL_TARGET="local",
                      PIPECTL_APPROVAL="not-required", TMPDIR=str(tmp_path))  # fmt: skip
        assert skipped.returncode == 1, skipped.stdout[-4000:] + skipped.stderr[-4000:]
        assert "approval was skipped, but the plan changes stacks outside the nightly environment" in skipped.stderr
        assert "pipectl-console" in skipped.stderr
        done = run("Apply", checkout, "--buildspec", str(held), PIPECTL_TARGET="local",
                   PIPECTL_APPROVAL="required", TMPDIR=str(tmp_path))  # fmt: skip
        assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
        assert f"{tmp_path}/pipectl-held/bin/pipectl" in done.stdout or "pipectl-held/bin/pipectl" in done.stdout
        assert not marker.exists(), "the pushed buildspec's Apply commands ran"
        # The control: CodeBuild running the pushed buildspec would have run the modification.
        control = run("Apply", checkout, PIPECTL_TARGET="local")
        assert marker.exists(), control.stdout[-2000:]
    finally:
        (checkout / "buildspec.yml").write_text(pushed)
        subprocess.run([pipectl, "local", "stop"], cwd=checkout, check=False, capture_output=True, timeout=120)
