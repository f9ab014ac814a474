"""The Image action's commands (held in the delivery template), run as CodeBuild would run them.

There is no Docker daemon on this machine, so `docker` and `aws` are stand-ins on PATH
(tests/fakes/): they record every call, build an image id from the context's files, keep the pushed
tags (immutable, as in the collector's repository) and print digests as docker does. Everything else
is real: scripts/run-buildspec runs the buildspec's bash, `find`/`sha256sum` hash collector/, `jq`
writes image.json, and synth reads that file into the ingestion templates.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from generator.cli import main
from generator.stacks.delivery import CodeCommitSource, DeliverySpec, build_delivery

REPO = Path(__file__).resolve().parents[1]
FAKES = REPO / "tests" / "fakes"
REPOSITORY = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/pipectl/collector"
FIRST, SECOND = "0123456789abcdef0123456789abcdef01234567", "89abcdef0123456789abcdef0123456789abcdef"


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """collector/ as the source artifact holds it, and the Image project's buildspec from the template."""
    folder = tmp_path / "src"
    shutil.copytree(REPO / "collector", folder / "collector", ignore=shutil.ignore_patterns("__pycache__"))
    template = build_delivery(DeliverySpec(CodeCommitSource("pipectl-config"))).to_dict()
    (folder / "held-image.yml").write_text(template["Resources"]["ImageProject"]["Properties"]["Source"]["BuildSpec"])
    return folder


def build(checkout: Path, revision: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("PIPECTL_", "CODEBUILD_"))}
    environment.update(
        PATH=f"{FAKES}{os.pathsep}{environment['PATH']}",
        FAKE_DOCKER_STATE=str(checkout.parent / "docker"),
        PIPECTL_IMAGE_REPOSITORY=REPOSITORY,  # the project's variable: the repository's URI
        PIPECTL_REVISION=revision,  # the pipeline's variable: the commit
        AWS_REGION="eu-west-1",
    )
    return subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts" / "run_buildspec.py"),
            "Image",
            "--buildspec",
            "held-image.yml",
            "--no-venv",
        ],
        cwd=checkout,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def calls(checkout: Path) -> list[list[str]]:
    log = checkout.parent / "docker" / "calls.log"
    found = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    log.unlink(missing_ok=True)
    return found


def image_json(checkout: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((checkout / "image.json").read_text())
    return data


def test_the_first_build_pushes_collector_by_commit_and_writes_its_digest(checkout: Path, tmp_path: Path) -> None:
    done = build(checkout, FIRST)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    made = calls(checkout)
    assert ["aws", "ecr", "get-login-password", "--region", "eu-west-1"] in made
    assert ["login", "--username", "AWS", "--password-stdin", REPOSITORY.split("/")[0]] in made
    [built] = [c for c in made if c[0] == "build"]
    source = image_json(checkout)["source"]
    assert built == ["build", "--pull", "--tag", f"{REPOSITORY}:{source}", "collector"]
    pushed = [c[-1] for c in made if c[0] == "push"]
    assert pushed == [f"{REPOSITORY}:{source}", f"{REPOSITORY}:{FIRST}"]
    image = image_json(checkout)["image"]
    assert image.startswith(f"{REPOSITORY}@sha256:") and len(image.split("@sha256:")[1]) == 64
    assert image_json(checkout)["tag"] == FIRST
    assert f"[run-buildspec] exported PIPECTL_COLLECTOR_IMAGE={image}" in done.stdout

    # The digest flows into what Plan synthesizes: the ingestion task runs exactly that image.
    out = tmp_path / "build"
    pipelines = str(REPO / "pipelines.d")
    code = main(
        ["synth", "--pipelines", pipelines, "--build-dir", str(out), "--collector-image", str(checkout / "image.json")]
    )
    assert code == 0
    template = json.loads((out / "shop" / "prod" / "ingestion.json").read_text())
    assert template["Parameters"]["CollectorImage"]["Default"] == image
    [container] = template["Resources"]["CollectorTaskDefinition"]["Properties"]["ContainerDefinitions"]
    assert container["Image"] == {"Ref": "CollectorImage"}


def test_an_unchanged_collector_is_reused_and_a_rerun_pushes_nothing(checkout: Path) -> None:
    assert build(checkout, FIRST).returncode == 0
    first = image_json(checkout)["image"]
    calls(checkout)
    # Another commit, collector/ as it was: no build, only the new commit's tag on the same image.
    again = build(checkout, SECOND)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    made = calls(checkout)
    assert not [c for c in made if c[0] == "build"]
    assert [c[-1] for c in made if c[0] == "push"] == [f"{REPOSITORY}:{SECOND}"]
    assert image_json(checkout)["image"] == first
    # The same commit once more (a retried or nightly run): the tag exists and is immutable, nothing is pushed.
    rerun = build(checkout, SECOND)
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    assert not [c for c in calls(checkout) if c[0] in ("build", "push")]
    assert image_json(checkout)["image"] == first


def test_a_changed_collector_is_built_again_with_a_new_digest(checkout: Path) -> None:
    assert build(checkout, FIRST).returncode == 0
    first = image_json(checkout)
    with (checkout / "collector" / "config.py").open("a") as changed:
        changed.write("\n# changed\n")
    assert build(checkout, SECOND).returncode == 0
    second = image_json(checkout)
    assert [c[0] for c in calls(checkout)].count("build") == 2
    assert second["source"] != first["source"] and second["image"] != first["image"]


def test_a_build_without_a_commit_id_fails_and_pushes_nothing(checkout: Path) -> None:
    done = build(checkout, "main")
    assert done.returncode == 1
    assert "image: expected the commit id in PIPECTL_REVISION, found 'main'" in done.stderr
    assert not [c for c in calls(checkout) if c[0] in ("build", "push")]
    assert not (checkout / "image.json").exists()
