"""On the local target, the collector image is a real digest in a real (local) repository.

`pipectl up` runs the collectors as local processes, so the ECS task's image is never pulled; it still
has to name an image that exists. Without an image from the delivery pipeline, the ingestion
templates' CollectorImage parameter has no value, and the local target stands one in: it creates the
collector's repository in its own ECR (immutable tags, scan on push, as the delivery stack does) and
puts an image manifest there whose config is the digest of the installed collector package, tagged
`source-<digest>`. The same collector source gives the same image; a changed one a new digest, so the
local task definition changes when the collector does, as it does on AWS.
"""

from __future__ import annotations

import hashlib
import json
from importlib.util import find_spec
from pathlib import Path

from botocore.exceptions import ClientError

from generator.contract import COLLECTOR_REPOSITORY, Tag
from generator.deploy.aws import Aws, error_code

BUILT_BY = "(the image the delivery pipeline builds)"
"""What a stood-in CollectorImage replaces: on AWS, the image build's digest."""
MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"


def collector_source_digest() -> str:
    """sha256 over the collector package's files (names and bytes), in name order."""
    spec = find_spec("collector")
    if spec is None or spec.origin is None:
        raise RuntimeError("the collector package is not installed")
    root = Path(spec.origin).parent
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _manifest(source: str) -> str:
    """A schema 2 image manifest: a config named by the collector's source digest, one layer."""
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST_TYPE,
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": 0,
                "digest": f"sha256:{source}",
            },
            "layers": [
                {
                    "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "size": 0,
                    "digest": f"sha256:{hashlib.sha256(source.encode()).hexdigest()}",
                }
            ],
        },
        sort_keys=True,
    )


def local_collector_image(aws: Aws, region: str) -> str:
    """`REPOSITORY_URI@sha256:DIGEST` of the collector in the local ECR of `region`, put there if missing."""
    ecr = aws.client("ecr", region)
    try:
        repository = ecr.describe_repositories(repositoryNames=[COLLECTOR_REPOSITORY])["repositories"][0]
    except ClientError as exc:
        if error_code(exc) != "RepositoryNotFoundException":
            raise
        repository = ecr.create_repository(
            repositoryName=COLLECTOR_REPOSITORY,
            imageTagMutability="IMMUTABLE",
            imageScanningConfiguration={"scanOnPush": True},
            tags=[{"Key": Tag.STANDS_IN_FOR, "Value": "pipectl-delivery CollectorRepository"}],
        )["repository"]
    source = collector_source_digest()
    tag = f"source-{source[:32]}"
    try:
        found = ecr.describe_images(repositoryName=COLLECTOR_REPOSITORY, imageIds=[{"imageTag": tag}])
        digest = str(found["imageDetails"][0]["imageDigest"])
    except ClientError as exc:
        if error_code(exc) != "ImageNotFoundException":
            raise
        put = ecr.put_image(
            repositoryName=COLLECTOR_REPOSITORY,
            imageManifest=_manifest(source),
            imageManifestMediaType=MANIFEST_TYPE,
            imageTag=tag,
        )
        digest = str(put["image"]["imageId"]["imageDigest"])
    return f"{repository['repositoryUri']}@{digest}"
