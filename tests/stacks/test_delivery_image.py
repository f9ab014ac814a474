"""The delivery stack's side of the collector image: its repository, the Image action before Plan, and
a build role that may push to that repository only."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from generator.contract import COLLECTOR_REPOSITORY, STATEFUL_TYPES
from generator.stacks.delivery import CodeCommitSource, DeliverySpec, build_delivery
from generator.stacks.delivery.image import KEEP_IMAGES, UNTAGGED_DAYS

PUSH = {
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:CompleteLayerUpload",
    "ecr:GetDownloadUrlForLayer",
    "ecr:InitiateLayerUpload",
    "ecr:PutImage",
    "ecr:UploadLayerPart",
}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    data: dict[str, Any] = build_delivery(DeliverySpec(CodeCommitSource("pipectl-config"))).to_dict()
    return data


def props(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    found: dict[str, Any] = template["Resources"][logical_id]["Properties"]
    return found


def test_the_repository_is_immutable_scanned_encrypted_bounded_and_retained(template: dict[str, Any]) -> None:
    resource = template["Resources"]["CollectorRepository"]
    assert resource["Type"] in STATEFUL_TYPES
    assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Retain"
    repository = resource["Properties"]
    assert repository["RepositoryName"] == COLLECTOR_REPOSITORY
    assert repository["ImageTagMutability"] == "IMMUTABLE"
    assert repository["ImageScanningConfiguration"] == {"ScanOnPush": True}
    assert repository["EncryptionConfiguration"] == {
        "EncryptionType": "KMS",
        "KmsKey": {"Fn::GetAtt": ["DeliveryKey", "Arn"]},
    }
    rules = json.loads(repository["LifecyclePolicy"]["LifecyclePolicyText"])["rules"]
    assert [(r["selection"]["tagStatus"], r["selection"]["countNumber"]) for r in rules] == [
        ("untagged", UNTAGGED_DAYS),
        ("any", KEEP_IMAGES),
    ]
    outputs = template["Outputs"]
    assert outputs["CollectorRepositoryUri"]["Export"] == {"Name": "pipectl-delivery:CollectorRepositoryUri"}
    assert outputs["CollectorRepositoryArn"]["Value"] == {"Fn::GetAtt": ["CollectorRepository", "Arn"]}


def test_the_image_is_built_after_validate_and_plan_reads_its_image_json(template: dict[str, Any]) -> None:
    pipeline = props(template, "Pipeline")
    stages = {s["Name"]: s["Actions"] for s in pipeline["Stages"]}
    validate, image = stages["Validate"]
    assert (validate["Name"], validate["RunOrder"]) == ("Validate", 1)
    assert (image["Name"], image["RunOrder"]) == ("Image", 2)  # only a validated commit's image is pushed
    assert image["Configuration"]["ProjectName"] == {"Ref": "ImageProject"}
    assert image["OutputArtifacts"] == [{"Name": "Image"}]
    variables = {v["name"]: v["value"] for v in json.loads(image["Configuration"]["EnvironmentVariables"])}
    assert variables["PIPECTL_REVISION"] == "#{SourceVariables.CommitId}"  # the tag
    [plan] = stages["Plan"]
    assert plan["InputArtifacts"] == [{"Name": "Source"}, {"Name": "Image"}]
    assert plan["Configuration"]["PrimarySource"] == "Source"
    role = props(template, "PipelineRole")["Policies"][0]["PolicyDocument"]["Statement"]
    started = [s["Resource"] for s in role if "codebuild:StartBuild" in s["Action"]]
    assert {"Fn::GetAtt": ["ImageProject", "Arn"]} in started[0]


def test_the_image_project_runs_docker_with_commands_held_in_the_template(template: dict[str, Any]) -> None:
    project = props(template, "ImageProject")
    assert project["Environment"]["PrivilegedMode"] is True
    assert project["Source"]["BuildSpec"] != "buildspec.yml"
    held = yaml.safe_load(project["Source"]["BuildSpec"])
    assert held["artifacts"] == {"files": ["image.json"]}
    assert held["env"]["exported-variables"] == ["PIPECTL_COLLECTOR_IMAGE"]
    [command] = held["phases"]["build"]["commands"]
    assert "docker build --pull" in command and "collector\n" in command
    variables = {v["Name"]: v["Value"] for v in project["Environment"]["EnvironmentVariables"]}
    assert variables == {"PIPECTL_IMAGE_REPOSITORY": {"Fn::GetAtt": ["CollectorRepository", "RepositoryUri"]}}


def test_the_image_role_pushes_to_the_collector_repository_only(template: dict[str, Any]) -> None:
    statements = props(template, "ImageBuildRole")["Policies"][0]["PolicyDocument"]["Statement"]
    ecr = [s for s in statements if any(a.startswith("ecr:") for a in s["Action"])]
    scoped = {a for s in ecr if s["Resource"] == [{"Fn::GetAtt": ["CollectorRepository", "Arn"]}] for a in s["Action"]}
    assert scoped == PUSH
    anywhere = [s for s in ecr if s["Resource"] == ["*"]]
    assert [s["Action"] for s in anywhere] == [["ecr:GetAuthorizationToken"]]
    actions = {a for s in statements for a in s["Action"]}
    assert not {a for a in actions if a.split(":")[0] in ("cloudformation", "iam", "sts")}
    assert "ecr:CreateRepository" not in actions and "ecr:DeleteRepository" not in actions
