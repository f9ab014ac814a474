"""The controller publishes the console app into the site bucket, under its digest, against a moto server.

Apply publishes right after the console stack is created, and a new version into the deployed bucket
before it executes the change set that points CloudFront at it; plan never writes there. Content-addressed:
files once, config.json (from the console's outputs) every time, and a zip that is not its digest is refused.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from generator.contract import CONSOLE_SITE_METADATA
from generator.deploy import site
from generator.deploy.apply import apply_now, apply_plan
from generator.deploy.aws import Aws
from generator.deploy.deployed import DeployedStack, read_deployed
from generator.deploy.errors import DeployError
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


def test_apply_publishes_the_app_and_the_next_version_beside_it(aws: Aws, build: Build, tmp_path: Path) -> None:
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
    plan = make_plan(aws, manifest, "two")
    assert f"{second.sha256}/index.html" not in objects(aws)  # plan runs pushed code: it never publishes
    assert apply_plan(aws, manifest, plan).ok
    assert objects(aws)[f"{second.sha256}/index.html"] == b"<!doctype html><title>2</title>"
    assert f"{first.sha256}/index.html" in objects(aws)  # the version served until the switch stays


def test_nothing_is_published_without_a_site_bucket(aws: Aws, build: Build) -> None:
    build.console()
    manifest = build.write()
    assert apply_now(aws, manifest, "one")[1].ok
    assert site.publish(aws, manifest, read_deployed(aws, (REGION,))) is None


def test_an_app_whose_digest_is_not_its_name_is_refused(aws: Aws, build: Build, tmp_path: Path) -> None:
    first = app(tmp_path / "one", "1")
    build.console()
    with_site(build, first)
    manifest = build.write()
    (manifest.root / first.path).parent.mkdir(parents=True, exist_ok=True)
    (manifest.root / first.path).write_bytes(first.data + b"tampered")
    with pytest.raises(DeployError, match="the console app's digest is not its name"):
        apply_now(aws, manifest, "one")
    assert f"{first.sha256}/index.html" not in objects(aws)


def _console(outputs: dict[str, str]) -> DeployedStack:
    return DeployedStack("pipectl-console", "id", REGION, "CREATE_COMPLETE", "", {}, outputs, None, None, True)


def test_config_tells_the_app_how_to_sign_in_with_cognito_or_oidc() -> None:
    common = {"GraphQLUrl": "https://api.example.com/graphql", "ConsoleUrl": "https://console.example.com"}
    cognito = site.app_config(
        _console({**common, "UserPoolId": "p1", "UserPoolClientId": "c1", "SignInDomain": "https://x.auth.example"})
    )
    assert cognito["signInDomain"] == "https://x.auth.example" and cognito["clientId"] == "c1"
    assert "issuer" not in cognito
    oidc = site.app_config(
        _console({**common, "OidcIssuer": "https://login.example.com/t", "OidcClientId": "app", "GroupsClaim": "g"})
    )
    assert oidc == {
        "region": REGION,
        "graphqlUrl": "https://api.example.com/graphql",
        "consoleUrl": "https://console.example.com",
        "issuer": "https://login.example.com/t",
        "clientId": "app",
    }
