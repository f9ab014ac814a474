"""The collector's ECR repository on the local target: created as the API would, refused where AWS refuses.

And the collector image pipectl stands in there when no image build has named one: a real image
manifest in that repository, the same digest for the same collector source.
"""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any

import pytest
from botocore.exceptions import ClientError

from generator.contract import COLLECTOR_REPOSITORY, IMAGE_DIGEST_REFERENCE
from generator.deploy.aws import Aws, Target
from generator.deploy.collector_image import local_collector_image
from generator.deploy.local import EmbeddedAws, LocalSession
from generator.stacks.delivery.image import lifecycle_policy
from tests.deploy.local.conftest import REGION, change_set, create_stack, unique


def repository(name: str, key: Any, **extra: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::ECR::Repository",
        "DeletionPolicy": "Retain",
        "Properties": {
            "RepositoryName": name,
            "ImageTagMutability": "IMMUTABLE",
            "ImageScanningConfiguration": {"ScanOnPush": True},
            "EncryptionConfiguration": {"EncryptionType": "KMS", "KmsKey": key},
            "LifecyclePolicy": {"LifecyclePolicyText": lifecycle_policy()},
            **extra,
        },
    }


def template(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "Resources": {
            "Key": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": {"Version": "2012-10-17", "Statement": []}}},
            "Repository": repository(name, {"Fn::GetAtt": ["Key", "Arn"]}, **extra),
        },
        "Outputs": {
            "Uri": {"Value": {"Fn::GetAtt": ["Repository", "RepositoryUri"]}},
            "Arn": {"Value": {"Fn::GetAtt": ["Repository", "Arn"]}},
            "Name": {"Value": {"Ref": "Repository"}},
        },
    }


def failed_create(session: LocalSession, body: dict[str, Any]) -> str:
    """The status a create that fails leaves (moto answers such a create itself with success or an error)."""
    cfn, name = session.client("cloudformation"), unique("ecr")
    with contextlib.suppress(ClientError):
        cfn.create_stack(StackName=name, TemplateBody=json.dumps(body))
    return str(cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"])


def test_the_repository_is_created_with_its_settings_and_lifecycle(session: LocalSession) -> None:
    name = f"team/{unique('collector')}"
    out = create_stack(session, template(name), unique("ecr"))
    ecr = session.client("ecr")
    [found] = ecr.describe_repositories(repositoryNames=[name])["repositories"]
    assert out == {"Uri": found["repositoryUri"], "Arn": found["repositoryArn"], "Name": name}
    assert found["imageTagMutability"] == "IMMUTABLE"
    assert found["imageScanningConfiguration"] == {"scanOnPush": True}
    assert found["encryptionConfiguration"]["encryptionType"] == "KMS"
    assert found["encryptionConfiguration"]["kmsKey"].startswith(f"arn:aws:kms:{REGION}:")
    text = ecr.get_lifecycle_policy(repositoryName=name)["lifecyclePolicyText"]
    assert json.loads(text) == json.loads(lifecycle_policy())


def test_a_lifecycle_change_updates_in_place_and_tags_stay_immutable(session: LocalSession) -> None:
    name, stack = f"team/{unique('collector')}", unique("ecr")
    create_stack(session, template(name), stack)
    ecr = session.client("ecr")
    arn = ecr.describe_repositories(repositoryNames=[name])["repositories"][0]["repositoryArn"]
    changed = template(name)
    rules = json.loads(lifecycle_policy())
    rules["rules"][1]["selection"]["countNumber"] = 10
    changed["Resources"]["Repository"]["Properties"]["LifecyclePolicy"]["LifecyclePolicyText"] = json.dumps(rules)
    change_set(session, changed, stack, "UPDATE")
    assert ecr.describe_repositories(repositoryNames=[name])["repositories"][0]["repositoryArn"] == arn
    assert json.loads(ecr.get_lifecycle_policy(repositoryName=name)["lifecyclePolicyText"]) == rules

    def manifest(config: str) -> str:
        media = "application/vnd.docker.distribution.manifest.v2+json"
        return json.dumps({"schemaVersion": 2, "mediaType": media, "config": {"digest": f"sha256:{config * 64}"}})

    ecr.put_image(repositoryName=name, imageManifest=manifest("a"), imageTag="abc1234")
    with pytest.raises(ClientError) as again:  # an immutable tag is never moved to another image
        ecr.put_image(repositoryName=name, imageManifest=manifest("b"), imageTag="abc1234")
    # AWS names the error ImageTagAlreadyExistsException; moto 5.2.5 says ImageAlreadyExistsException.
    assert again.value.response["Error"]["Code"] in ("ImageTagAlreadyExistsException", "ImageAlreadyExistsException")
    [kept] = ecr.batch_get_image(repositoryName=name, imageIds=[{"imageTag": "abc1234"}])["images"]
    assert kept["imageManifest"] == manifest("a")


def test_a_key_that_does_not_exist_is_refused_as_aws_refuses_it(session: LocalSession) -> None:
    name = f"team/{unique('collector')}"
    missing = f"arn:aws:kms:{REGION}:123456789012:key/00000000-0000-4000-8000-000000000000"
    body = {"Resources": {"Repository": repository(name, missing)}}
    assert failed_create(session, body) == "ROLLBACK_COMPLETE"
    ecr = session.client("ecr")
    with pytest.raises(ClientError) as gone:
        ecr.describe_repositories(repositoryNames=[name])
    assert gone.value.response["Error"]["Code"] == "RepositoryNotFoundException"


def test_an_invalid_lifecycle_policy_is_refused_and_leaves_no_repository(session: LocalSession) -> None:
    name = f"team/{unique('collector')}"
    body = template(name, LifecyclePolicy={"LifecyclePolicyText": json.dumps({"rules": [{"rulePriority": 1}]})})
    assert failed_create(session, body) == "ROLLBACK_COMPLETE"
    with pytest.raises(ClientError) as gone:
        session.client("ecr").describe_repositories(repositoryNames=[name])
    assert gone.value.response["Error"]["Code"] == "RepositoryNotFoundException"


def test_the_stood_in_collector_image_is_a_real_digest_and_the_same_for_the_same_source(aws: EmbeddedAws) -> None:
    controller = Aws(Target.local(aws.endpoint, REGION))
    first = local_collector_image(controller, REGION)
    second = local_collector_image(controller, REGION)
    assert first == second
    assert re.match(IMAGE_DIGEST_REFERENCE, first), first
    ecr = controller.client("ecr", REGION)
    [repo] = ecr.describe_repositories(repositoryNames=[COLLECTOR_REPOSITORY])["repositories"]
    assert repo["imageTagMutability"] == "IMMUTABLE"
    assert first.startswith(repo["repositoryUri"] + "@sha256:")
    [image] = ecr.describe_images(repositoryName=COLLECTOR_REPOSITORY)["imageDetails"]
    assert first.endswith("@" + image["imageDigest"])
    assert [tag.startswith("source-") for tag in image["imageTags"]] == [True]
