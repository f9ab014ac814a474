"""The collector image: pinned when a file names one, else the digest synth is given, else none at all.

Synth writes the ingestion template's CollectorImage parameter with the given image as its default
(`--collector-image REF` or the image build's image.json); without one the parameter has no default and
plan refuses the manifest before any AWS call, naming the stacks and what to pass.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from generator.cli import main
from generator.deploy.manifest import load_manifest
from generator.deploy.parameters import UnsetParameter, check_parameters
from tests.spec.conftest import CERT

DIGEST = "sha256:" + "ab" * 32
BUILT = f"210987654321.dkr.ecr.us-east-2.amazonaws.com/pipectl/collector@{DIGEST}"

SHOP = f"""owner: data@example.com
region: eu-west-1
apps: [{{id: web, platform: web}}]
ingestion:
  domain: {{name: c.example.com, certificate_arn: "{CERT}"}}
environments: {{prod: {{}}}}
"""


def write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def synth(tmp_path: Path, files: dict[str, str], *extra: str) -> tuple[int, Path]:
    pipelines = write(tmp_path / "pipelines.d", files)
    build = tmp_path / "build"
    code = main(["synth", "--pipelines", str(pipelines), "--build-dir", str(build), *extra])
    return code, build


def ingestion(build: Path, name: str = "shop") -> dict[str, Any]:
    data: dict[str, Any] = json.loads((build / name / "prod" / "ingestion.json").read_text())
    return data


def pull_scope(template: dict[str, Any]) -> list[Any] | None:
    policy = template["Resources"]["CollectorExecutionRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    pulls = [s["Resource"] for s in policy["Statement"] if s["Sid"] == "PullCollectorImage"]
    return pulls[0] if pulls else None


def test_the_task_runs_the_given_digest_and_may_pull_from_its_repository_only(tmp_path: Path) -> None:
    code, build = synth(tmp_path, {"shop.yaml": SHOP}, "--collector-image", BUILT)
    assert code == 0
    template = ingestion(build)
    assert template["Parameters"]["CollectorImage"]["Default"] == BUILT
    [container] = template["Resources"]["CollectorTaskDefinition"]["Properties"]["ContainerDefinitions"]
    assert container["Image"] == {"Ref": "CollectorImage"}
    assert pull_scope(template) == [
        {"Fn::Sub": "arn:${AWS::Partition}:ecr:us-east-2:210987654321:repository/pipectl/collector"}
    ]
    assert load_manifest(build)["pipectl-shop-prod-ingestion"].parameters["CollectorImage"] == BUILT


def test_the_image_build_s_image_json_is_read_as_the_digest(tmp_path: Path) -> None:
    image_json = tmp_path / "image.json"
    image_json.write_text(json.dumps({"image": BUILT, "tag": "0123abc", "source": "source-1"}))
    code, build = synth(tmp_path, {"shop.yaml": SHOP}, "--collector-image", str(image_json))
    assert code == 0
    assert ingestion(build)["Parameters"]["CollectorImage"]["Default"] == BUILT


def test_a_pipeline_s_own_pinned_image_wins_and_a_foreign_registry_needs_no_ecr_grant(tmp_path: Path) -> None:
    own = SHOP.replace("ingestion:\n", "ingestion:\n  image: ghcr.io/team/collector:2.1.0\n")
    other = SHOP.replace("c.example.com", "d.example.com")
    code, build = synth(tmp_path, {"shop.yaml": own, "other.yaml": other}, "--collector-image", BUILT)
    assert code == 0
    assert ingestion(build)["Parameters"]["CollectorImage"]["Default"] == "ghcr.io/team/collector:2.1.0"
    assert pull_scope(ingestion(build)) is None
    assert ingestion(build, "other")["Parameters"]["CollectorImage"]["Default"] == BUILT


def test_without_an_image_the_parameter_waits_and_plan_refuses_the_manifest(tmp_path: Path) -> None:
    code, build = synth(tmp_path, {"shop.yaml": SHOP})
    assert code == 0
    template = ingestion(build)
    assert "Default" not in template["Parameters"]["CollectorImage"]
    assert pull_scope(template) == [
        {"Fn::Sub": "arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/pipectl/collector"}
    ]
    manifest = load_manifest(build)
    with pytest.raises(UnsetParameter) as refused:
        check_parameters(manifest, manifest.stacks)
    assert str(refused.value) == (
        "nothing was planned:\n  pipectl-shop-prod-ingestion: parameter CollectorImage: expected the collector "
        "image the delivery pipeline built (`--collector-image REPOSITORY@sha256:DIGEST`, or the image build's "
        "image.json), or ingestion.image in the pipeline file, found none"
    )
    # The control: the same files with the built image are plannable.
    code, built = synth(tmp_path / "again", {"shop.yaml": SHOP}, "--collector-image", BUILT)
    assert code == 0
    check_parameters(load_manifest(built), load_manifest(built).stacks)


@pytest.mark.parametrize(
    ("image", "column"),
    [
        ("collector:latest", 10),
        ("registry.example.com:5000/team/collector", 10),
        ("team/collector@sha256:abc", 10),
    ],
)
def test_an_unpinned_image_is_a_located_error_and_nothing_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], image: str, column: int
) -> None:
    text = SHOP.replace("ingestion:\n", f"ingestion:\n  image: {image}\n")
    code, build = synth(tmp_path, {"shop.yaml": text})
    err = capsys.readouterr().err
    assert code == 2
    assert f"shop.yaml:5:{column}: ingestion.image: expected a pinned image (REPOSITORY@sha256:DIGEST, or " in err
    assert f"found {image!r}" in err
    assert "Traceback" not in err
    assert not build.exists()


def test_an_unpinned_image_in_defaults_points_at_the_defaults_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, build = synth(tmp_path, {"_defaults.yaml": "ingestion:\n  image: collector:latest\n", "shop.yaml": SHOP})
    assert code == 2
    assert "_defaults.yaml:2:10: ingestion.image: expected a pinned image" in capsys.readouterr().err
    assert not build.exists()


@pytest.mark.parametrize(
    ("content", "where"),
    [
        (None, "image.json:1:1: (file): expected the image build's image.json, found No such file or directory"),
        ('{"image": ', "image.json:1:11: (file): expected a JSON object, found invalid JSON"),
        ('{\n  "tag": "x",\n  "image": "collector:1"\n}', "image.json:3:3: image: expected REPOSITORY@sha256:DIGEST"),
        ("[]", "image.json:1:1: (file): expected a JSON object, found a list"),
    ],
)
def test_a_broken_image_json_is_a_located_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, where: str
) -> None:
    image_json = tmp_path / "image.json"
    if content is not None:
        image_json.write_text(content)
    code, build = synth(tmp_path, {"shop.yaml": SHOP}, "--collector-image", str(image_json))
    err = capsys.readouterr().err
    assert code == 2
    assert where in err, err
    assert not build.exists()


def test_a_collector_image_that_is_not_a_digest_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, build = synth(tmp_path, {"shop.yaml": SHOP}, "--collector-image", "pipectl/collector:1.4.2")
    err = capsys.readouterr().err
    assert code == 2
    assert (
        "--collector-image:1:1: (option): expected REPOSITORY@sha256:DIGEST (the image the delivery pipeline "
        "pushed), found 'pipectl/collector:1.4.2'"
    ) in err
    assert not build.exists()
