"""Lambda code assets on the local target: uploaded once, AssetBucket filled, the function created from
the zip; without the parameter the local target refuses the stack as CloudFormation would."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest

from generator.deploy.apply import apply_now
from generator.deploy.assets import LOCAL_ASSET_BUCKET, asset_key, local_asset_buckets
from generator.deploy.aws import Aws
from generator.deploy.errors import ManifestError
from generator.deploy.manifest import Manifest, load_manifest
from generator.stacks.assets import deterministic_zip
from tests.deploy.conftest import REGION, Build

HANDLER = b"def handler(event, context):\n    return event\n"


def function_template(key: str) -> dict[str, Any]:
    role = {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            }
        },
    }
    function = {
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "FunctionName": "pipectl-shop-test-enrich",
            "Runtime": "python3.12",
            "Handler": "index.handler",
            "Role": {"Fn::GetAtt": ["EnrichRole", "Arn"]},
            "Code": {"S3Bucket": {"Ref": "AssetBucket"}, "S3Key": key},
        },
    }
    return {
        "Parameters": {"AssetBucket": {"Type": "String"}},
        "Resources": {"EnrichRole": role, "EnrichFunction": function},
    }


def with_function(build: Build, data: bytes) -> Manifest:
    """A processing stack whose function's code is the asset `data`, listed in the manifest as synth lists it."""
    path = f"assets/{hashlib.sha256(data).hexdigest()}.zip"
    build.add("pipectl-shop-test-processing", "processing", function_template(asset_key(path)), "shop", "test")
    build.write()
    (build.root / path).parent.mkdir(parents=True, exist_ok=True)
    (build.root / path).write_bytes(data)
    manifest = json.loads((build.root / "manifest.json").read_text())
    manifest["stacks"][0]["assets"] = [path]
    (build.root / "manifest.json").write_text(json.dumps(manifest))
    return load_manifest(build.root)


def test_the_function_is_created_from_the_uploaded_asset(aws: Aws, build: Build) -> None:
    data = deterministic_zip({"index.py": HANDLER})
    manifest, uploaded = local_asset_buckets(aws, with_function(build, data))
    bucket = LOCAL_ASSET_BUCKET.format(region=REGION)
    key = f"assets/{hashlib.sha256(data).hexdigest()}.zip"
    assert uploaded == [f"s3://{bucket}/{key}"]
    stack = manifest["pipectl-shop-test-processing"]
    assert stack.parameters == {"AssetBucket": bucket}
    assert stack.hash == load_manifest(build.root)["pipectl-shop-test-processing"].hash  # the bucket is not hashed
    assert apply_now(aws, manifest, "one")[1].ok
    config = aws.client("lambda").get_function(FunctionName="pipectl-shop-test-enrich")["Configuration"]
    assert config["CodeSha256"] == base64.b64encode(hashlib.sha256(data).digest()).decode()


def test_an_asset_already_in_the_bucket_is_not_uploaded_again(aws: Aws, build: Build) -> None:
    manifest = with_function(build, deterministic_zip({"index.py": HANDLER}))
    assert local_asset_buckets(aws, manifest)[1]
    assert local_asset_buckets(aws, manifest)[1] == []


def test_without_the_asset_bucket_the_local_target_refuses_the_stack(aws: Aws, build: Build) -> None:
    """What the controller must do: CloudFormation refuses a parameter without default and value."""
    manifest = with_function(build, deterministic_zip({"index.py": HANDLER}))
    result = apply_now(aws, manifest, "one")[1]
    assert not result.ok
    assert "AssetBucket" in result.stacks["pipectl-shop-test-processing"].detail


def test_a_listed_asset_that_is_missing_is_a_manifest_error(aws: Aws, build: Build) -> None:
    manifest = with_function(build, deterministic_zip({"index.py": HANDLER}))
    for zip_file in (build.root / "assets").glob("*.zip"):
        zip_file.unlink()
    with pytest.raises(ManifestError, match=r"asset assets/[0-9a-f]{64}\.zip not found"):
        local_asset_buckets(aws, manifest)
