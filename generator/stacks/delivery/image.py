"""The collector image: its ECR repository and the build that pushes it, before Plan, by digest.

The Image action runs in the Validate stage after the checks pass. It builds collector/ with
docker, tags the image with the commit, pushes it to the collector's repository (immutable tags,
scanned on push, encrypted with the delivery key, retained) and writes `image.json`
(`{"image": "REPOSITORY@sha256:DIGEST", ...}`), the output artifact Plan reads with
`pipectl plan --collector-image`. The image is also tagged `source-<hash of collector/>`: a commit
that leaves collector/ as it was (most pushes, and every nightly run) reuses that image instead of
building a new digest, so the collectors are redeployed only when the collector changed. Its commands
are held here, like Apply's: the project may push, and a push must not change what it runs.
"""

from __future__ import annotations

import json
from typing import Any

import yaml
from troposphere import GetAtt, Ref
from troposphere.codebuild import (
    Artifacts,
    CloudWatchLogs,
    EnvironmentVariable,
    LogsConfig,
    Project,
    ProjectCache,
    Source,
)
from troposphere.codebuild import Environment as BuildEnvironment
from troposphere.ecr import EncryptionConfiguration, ImageScanningConfiguration, LifecyclePolicy, Repository
from troposphere.iam import Policy as InlinePolicy
from troposphere.iam import Role

from generator.contract import COLLECTOR_REPOSITORY
from generator.policy import builds as policy
from generator.policy import delivery as trust
from generator.stacks import common
from generator.stacks.common import add_output, keep
from generator.stacks.delivery.shared import Delivery
from generator.stacks.delivery.spec import BUILD_IMAGE, BUILD_LOG_RETENTION_DAYS, STACK, project_name

STAGE = "Image"
"""The action (in the Validate stage), its project (`pipectl-delivery-image`) and its output artifact."""
IMAGE_FILE = "image.json"
KEEP_IMAGES = 100
"""Tagged images kept: older ones expire (a digest a deployed stack still runs is among the newest)."""
UNTAGGED_DAYS = 7


def lifecycle_policy() -> str:
    """Untagged images go after a week; of the tagged ones, the newest KEEP_IMAGES stay."""
    rules = [
        {
            "rulePriority": 1,
            "description": f"untagged images (failed or superseded pushes) after {UNTAGGED_DAYS} days",
            "selection": {
                "tagStatus": "untagged",
                "countType": "sinceImagePushed",
                "countUnit": "days",
                "countNumber": UNTAGGED_DAYS,
            },
            "action": {"type": "expire"},
        },
        {
            "rulePriority": 2,
            "description": f"keep the newest {KEEP_IMAGES} images",
            "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": KEEP_IMAGES},
            "action": {"type": "expire"},
        },
    ]
    return json.dumps({"rules": rules}, separators=(",", ":"), sort_keys=True)


def add_repository(delivery: Delivery) -> Repository:
    """The collector's repository: immutable tags, scanned on push, encrypted with the delivery key, retained."""
    template = delivery.template
    repository = template.add_resource(
        keep(
            Repository(
                "CollectorRepository",
                RepositoryName=COLLECTOR_REPOSITORY,
                ImageTagMutability="IMMUTABLE",
                ImageScanningConfiguration=ImageScanningConfiguration(ScanOnPush=True),
                EncryptionConfiguration=EncryptionConfiguration(EncryptionType="KMS", KmsKey=delivery.key_arn),
                LifecyclePolicy=LifecyclePolicy(LifecyclePolicyText=lifecycle_policy()),
            ),
            True,
        )
    )
    add_output(
        template, STACK, "CollectorRepositoryUri", GetAtt(repository, "RepositoryUri"), "The collector image repository"
    )
    add_output(
        template, STACK, "CollectorRepositoryArn", GetAtt(repository, "Arn"), "The collector image repository's ARN"
    )
    return repository


BUILD = r"""set -euo pipefail
repository="$PIPECTL_IMAGE_REPOSITORY"
revision="${PIPECTL_REVISION:-${CODEBUILD_RESOLVED_SOURCE_VERSION:-}}"
if ! [[ "$revision" =~ ^[0-9a-f]{7,40}$ ]]; then
  echo "image: expected the commit id in PIPECTL_REVISION, found '$revision'" >&2
  exit 2
fi
# What the image is built from: the same collector/ gives the same tag, and its image is reused.
source="source-$(cd collector && find . -type f ! -path '*/__pycache__/*' -print0 | LC_ALL=C sort -z \
  | xargs -0 sha256sum | sha256sum | cut -c1-32)"
aws ecr get-login-password --region "$AWS_REGION" | docker login --username AWS --password-stdin "${repository%%/*}"
found=""
for tag in "$revision" "$source"; do
  if docker pull --quiet "$repository:$tag" > /dev/null 2>&1; then found="$tag"; break; fi
done
if [ -z "$found" ]; then
  docker build --pull --tag "$repository:$source" collector
  docker push "$repository:$source"
  found="$source"
  echo "image: built collector/ as $source"
else
  echo "image: $repository:$found exists (tags are immutable): reused, not built again"
fi
if [ "$found" != "$revision" ]; then
  docker tag "$repository:$found" "$repository:$revision"
  docker push "$repository:$revision"
fi
image=$(docker inspect --format '{{range .RepoDigests}}{{println .}}{{end}}' "$repository:$revision" \
  | grep -F -m1 "$repository@sha256:")
jq -n --arg image "$image" --arg tag "$revision" --arg source "$source" \
  '{image: $image, tag: $tag, source: $source}' > image.json
export PIPECTL_COLLECTOR_IMAGE="$image"
echo "collector image: $image"
"""


def image_buildspec() -> str:
    """The Image project's buildspec, as YAML text: docker and the AWS CLI only, nothing from pipectl."""
    spec: dict[str, Any] = {
        "version": 0.2,
        "env": {
            "shell": "bash",
            "variables": {"NO_COLOR": "1"},
            "exported-variables": ["PIPECTL_COLLECTOR_IMAGE"],
        },
        "phases": {"build": {"commands": [BUILD]}},
        "artifacts": {"files": [IMAGE_FILE]},
    }
    return str(yaml.safe_dump(spec, sort_keys=False, width=1000))


def add_image_project(delivery: Delivery, repository: Repository) -> Project:
    """The project that builds and pushes the image: docker needs privileged mode; it may push only there."""
    name = project_name(STAGE)
    template = delivery.template
    group = common.log_group(
        template, f"{STAGE}BuildLogGroup", f"/aws/codebuild/{name}", BUILD_LOG_RETENTION_DAYS, delivery.key_arn, True
    )
    role = template.add_resource(
        Role(
            f"{STAGE}BuildRole",
            Description=f"CodeBuild {name}: builds collector/ and pushes it to {COLLECTOR_REPOSITORY} only",
            AssumeRolePolicyDocument=trust.service_trust(
                "codebuild.amazonaws.com", common.arn("codebuild", f"project/{name}")
            ),
            Policies=[
                InlinePolicy(
                    PolicyName="push-collector-image",
                    PolicyDocument=policy.image_role(
                        delivery.bucket_arn, delivery.key_arn, GetAtt(group, "Arn"), GetAtt(repository, "Arn")
                    ),
                )
            ],
        )
    )
    return template.add_resource(
        Project(
            f"{STAGE}Project",
            Name=name,
            Description="pipectl delivery: builds the collector image and pushes it by commit (commands held here)",
            Source=Source(Type="CODEPIPELINE", BuildSpec=image_buildspec()),
            Artifacts=Artifacts(Type="CODEPIPELINE"),
            Environment=BuildEnvironment(
                Type="LINUX_CONTAINER",
                ComputeType="BUILD_GENERAL1_SMALL",
                Image=BUILD_IMAGE,
                ImagePullCredentialsType="CODEBUILD",
                PrivilegedMode=True,  # the docker daemon of the build container
                EnvironmentVariables=[
                    EnvironmentVariable(
                        Name="PIPECTL_IMAGE_REPOSITORY", Type="PLAINTEXT", Value=GetAtt(repository, "RepositoryUri")
                    ),
                ],
            ),
            ServiceRole=GetAtt(role, "Arn"),
            EncryptionKey=delivery.key_arn,
            Cache=ProjectCache(Type="LOCAL", Modes=["LOCAL_DOCKER_LAYER_CACHE"]),
            LogsConfig=LogsConfig(CloudWatchLogs=CloudWatchLogs(Status="ENABLED", GroupName=Ref(group))),
            TimeoutInMinutes=30,
            QueuedTimeoutInMinutes=60,
        )
    )
