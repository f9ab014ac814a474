"""Assets on the way to CloudFormation: upload the zips the manifest lists, fill each template's AssetBucket.

Synth writes Lambda code as content-addressed zips and lists them per stack (`assets` in the manifest,
paths relative to its folder); a template that uses them declares the `AssetBucket` parameter. An asset
is uploaded under `assets/<sha256>.zip` only when the bucket lacks that key: the name is the content.

On the local target no per-account bootstrap bucket exists to hold them, so `local_asset_buckets`
makes one bucket per region in the embedded AWS, as the network stand-ins do for a real account's VPC.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from pathlib import PurePosixPath

from botocore.exceptions import ClientError

from generator.contract import ASSET_BUCKET_PARAMETER, ASSET_KEY_PREFIX
from generator.deploy.aws import Aws, error_code
from generator.deploy.errors import ManifestError
from generator.deploy.manifest import Manifest, StackSpec

LOCAL_ASSET_BUCKET = "pipectl-local-assets-{region}"


def asset_key(path: str) -> str:
    """The object key of a manifest asset path: `assets/<sha256>.zip`."""
    return f"{ASSET_KEY_PREFIX}{PurePosixPath(path).name}"


def _present(aws: Aws, region: str, bucket: str) -> set[str]:
    found: list[dict[str, str]] = aws.client("s3", region).paginate(
        "list_objects_v2", "Contents", Bucket=bucket, Prefix=ASSET_KEY_PREFIX
    )
    return {item["Key"] for item in found}


def upload_assets(aws: Aws, manifest: Manifest, buckets: Mapping[str, str]) -> list[str]:
    """Upload every listed asset its region's bucket lacks; returns the keys uploaded, in order."""
    uploaded: list[str] = []
    for region in sorted({s.region for s in manifest.stacks if s.assets}):
        bucket = buckets[region]
        present = _present(aws, region, bucket)
        for path in sorted({a for s in manifest.stacks if s.region == region for a in s.assets}):
            key = asset_key(path)
            if key in present:
                continue
            file = manifest.root / path
            if not file.is_file():
                raise ManifestError(f"{manifest.root / 'manifest.json'}: asset {path} not found; run `pipectl synth`")
            aws.client("s3", region).put_object(Bucket=bucket, Key=key, Body=file.read_bytes())
            present.add(key)
            uploaded.append(f"s3://{bucket}/{key}")
    return uploaded


def with_asset_bucket(manifest: Manifest, buckets: Mapping[str, str]) -> Manifest:
    """The manifest with AssetBucket filled wherever a template declares it; hashes and tags unchanged."""
    stacks: list[StackSpec] = []
    for stack in manifest.stacks:
        declared = json.loads(manifest.template_body(stack)).get("Parameters") or {}
        if ASSET_BUCKET_PARAMETER in declared and stack.region in buckets:
            stack = replace(stack, parameters={**stack.parameters, ASSET_BUCKET_PARAMETER: buckets[stack.region]})
        stacks.append(stack)
    return Manifest(manifest.root, tuple(stacks))


def local_asset_buckets(aws: Aws, manifest: Manifest) -> tuple[Manifest, list[str]]:
    """On the local target: a bucket per region, the assets uploaded to it, AssetBucket filled."""
    regions = sorted({s.region for s in manifest.stacks if s.assets})
    buckets = {region: LOCAL_ASSET_BUCKET.format(region=region) for region in regions}
    for region, bucket in buckets.items():
        s3 = aws.client("s3", region)
        try:
            s3.head_bucket(Bucket=bucket)
        except ClientError as exc:
            if error_code(exc) not in ("404", "NoSuchBucket", "NotFound"):
                raise
            where = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
            s3.create_bucket(Bucket=bucket, **where)
    uploaded = upload_assets(aws, manifest, buckets)
    return with_asset_bucket(manifest, buckets), uploaded
