"""The controller publishes the console app into the site bucket, under its digest, against a moto server.

Apply publishes right after the console stack is created; plan publishes a new version into the
deployed bucket before its change set points CloudFront at it. Content-addressed: files once, config.json
(from the console's outputs) every time.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from generator.contract import CONSOLE_SITE_METADATA
from generator.deploy import site
from generator.deploy.apply import apply_now
from generator.deploy.aws import Aws
from generator.deploy.deployed import read_deployed
from generator.deploy.plan import make_plan
from generator.stacks.assets import site_asset
from tests.deploy.conftest import REGION, Build

BUCKET = "console-site-test"


def app(folder: Path, version: str) -> Any:
    (folder / "js").mkdir(parents=True, exist_ok=True)
    (folder / "index.html").write_text(f"<!doctype html><title>{version}</title>")
    (folder / "js" / "app.js").write_text(f"console.log({version!r});")
    return site_asset(folder)


def with_site(build: Build, asset: Any) -> None:
    """The console stack with a site bucket, its outputs, and the app named in its Metadata, as synth makes it."""
    template = build.stacks["pipectl-console"]["template"]
    template["Resources"]["SiteBucket"] = {
        "Type": "AWS::S3::Bucket",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {"BucketName": BUCKET},
    }
    template.setdefault("Outputs", {}).update(
        {
            "SiteBucketName": {"Value": {"Ref": "SiteBucket"}},
            "GraphQLUrl": {"Value": "https://api.example.com/graphql"},
        }
    )
    template["Metadata"] = {CONSOLE_SITE_METADATA: {"asset": asset.key, "prefix": asset.sha256}}


def objects(aws: Aws) -> dict[str, bytes]:
    s3 = aws.client("s3", REGION)
    listed = s3.list_objects_v2(Bucket=BUCKET).get("Contents") or []
    return {o["Key"]: s3.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read() for o in listed}


def test_apply_publishes_the_app_and_plan_publishes_the_next_before_the_switch(
    aws: Aws, build: Build, tmp_path: Path
) -> None:
    first = app(tmp_path / "one", "1")
    build.console()
    with_site(build, first)
    manifest = build.write()
    (manifest.root / first.path).parent.mkdir(parents=True, exist_ok=True)
    (manifest.root / first.path).write_bytes(first.data)

    assert apply_now(aws, manifest, "one")[1].ok

    found = objects(aws)
    assert found[f"{first.sha256}/index.html"] == b"<!doctype html><title>1</title>"
    assert found[f"{first.sha256}/js/app.js"] == b"console.log('1');"
    config = json.loads(found[f"{first.sha256}/config.json"])
    assert config == {"region": REGION, "graphqlUrl": "https://api.example.com/graphql"}
    head = aws.client("s3", REGION).head_object(Bucket=BUCKET, Key=f"{first.sha256}/js/app.js")
    assert head["ContentType"] == "text/javascript"

    deployed = read_deployed(aws, (REGION,))
    assert site.publish(aws, manifest, deployed) == 1  # the files are there: only config.json again

    second = app(tmp_path / "two", "2")
    with_site(build, second)
    manifest = build.write()
    (manifest.root / second.path).write_bytes(second.data)
    make_plan(aws, manifest, "two")
    assert objects(aws)[f"{second.sha256}/index.html"] == b"<!doctype html><title>2</title>"
    assert f"{first.sha256}/index.html" in objects(aws)  # the version CloudFront still serves stays


def test_nothing_is_published_without_a_site_bucket(aws: Aws, build: Build) -> None:
    build.console()
    manifest = build.write()
    assert apply_now(aws, manifest, "one")[1].ok
    assert site.publish(aws, manifest, read_deployed(aws, (REGION,))) is None
