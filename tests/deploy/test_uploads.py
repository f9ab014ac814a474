"""The template and asset bucket on the local target: what goes by TemplateURL, what is uploaded and
when, the AssetBucket parameter, and the bucket that is missing or not writable (exit 3, nothing deployed).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from generator.cli import main
from generator.contract import (
    ASSET_BUCKET_PARAMETER,
    BOOTSTRAP_STACK,
    MAX_TEMPLATE_BODY,
    MAX_TEMPLATE_URL_BODY,
    TEMPLATE_BUCKET_OUTPUT,
)
from generator.deploy import uploads
from generator.deploy.apply import ApplyOptions, apply_now, apply_plan
from generator.deploy.aws import Aws
from generator.deploy.errors import DeployError, ManifestError
from generator.deploy.manifest import Manifest, load_manifest
from generator.deploy.plan import make_plan
from generator.manifest_model import entry_data
from tests.deploy.conftest import REGION, Build, new_aws

BUCKET = "pipectl-templates-test"


def padded(size: int) -> dict[str, Any]:
    """A template whose compact JSON is exactly `size` bytes."""
    template: dict[str, Any] = {"Metadata": {"pad": ""}, "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}
    base = len(json.dumps(template, separators=(",", ":")))
    template["Metadata"]["pad"] = "x" * (size - base)
    assert len(json.dumps(template, separators=(",", ":"))) == size
    return template


# Build writes one file per pipeline/env/kind: each test stack has a kind of its own.


def record_change_sets(aws: Aws) -> list[dict[str, Any]]:
    """CreateChangeSet's parameters as botocore sends them (an event hook: the request still goes out)."""
    seen: list[dict[str, Any]] = []

    def hook(params: dict[str, Any], **_: Any) -> None:
        seen.append(dict(params))

    aws.cfn(REGION).write.meta.events.register("provide-client-params.cloudformation.CreateChangeSet", hook)
    return seen


def sent(seen: list[dict[str, Any]], stack: str) -> dict[str, Any]:
    return next(p for p in seen if p["StackName"] == stack)


def bucket(aws: Aws, name: str = BUCKET) -> str:
    aws.client("s3", REGION).create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    return name


def keys(aws: Aws, name: str = BUCKET) -> list[str]:
    return sorted(o["Key"] for o in aws.client("s3", REGION).list_objects_v2(Bucket=name).get("Contents", []))


def with_entries(manifest: Manifest, **changes: dict[str, Any]) -> Manifest:
    """Add fields (e.g. `assets`) to stack entries of the written manifest, as synth would."""
    path = manifest.root / "manifest.json"
    data = json.loads(path.read_text())
    for entry in data["stacks"]:
        entry.update(changes.get(entry["name"], {}))
    path.write_text(json.dumps(data))
    return load_manifest(manifest.root)


def tiny_zip(root: Path) -> str:
    """A Lambda code zip written as synth writes assets: build/assets/<sha256>.zip."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("index.py", (2020, 1, 1, 0, 0, 0)), "def handler(e, c):\n    return 1\n")
    data = buffer.getvalue()
    name = f"assets/{hashlib.sha256(data).hexdigest()}.zip"
    (root / "assets").mkdir(parents=True, exist_ok=True)
    (root / name).write_bytes(data)
    return name


def function_template() -> dict[str, Any]:
    """A Lambda function whose code is an asset in the bucket named by the AssetBucket parameter."""
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
    return {
        "Parameters": {ASSET_BUCKET_PARAMETER: {"Type": "String"}, "AssetKey": {"Type": "String"}},
        "Resources": {
            "Role": role,
            "Function": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Runtime": "python3.12",
                    "Handler": "index.handler",
                    "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                    "Code": {"S3Bucket": {"Ref": ASSET_BUCKET_PARAMETER}, "S3Key": {"Ref": "AssetKey"}},
                },
            },
        },
        "Outputs": {
            "CodeBucket": {"Value": {"Ref": ASSET_BUCKET_PARAMETER}},
            "FunctionName": {"Value": {"Ref": "Function"}},
        },
    }


def test_a_template_of_exactly_the_limit_goes_inline_and_one_byte_over_by_template_url(aws: Aws, build: Build) -> None:
    build.add("pipectl-at-limit", "at-limit", padded(MAX_TEMPLATE_BODY))
    build.add("pipectl-over-limit", "over-limit", padded(MAX_TEMPLATE_BODY + 1))
    manifest = build.write()
    seen = record_change_sets(aws)
    _, result = apply_now(aws, manifest, "r1", options=ApplyOptions(template_bucket=bucket(aws)))
    assert result.ok, result.stacks
    inline = sent(seen, "pipectl-at-limit")
    assert "TemplateURL" not in inline and len(inline["TemplateBody"].encode()) == MAX_TEMPLATE_BODY
    by_url = sent(seen, "pipectl-over-limit")
    assert "TemplateBody" not in by_url
    [key] = keys(aws)
    assert key.startswith("pipectl/templates/pipectl-over-limit/") and key.endswith(".json")
    assert by_url["TemplateURL"] == f"https://{BUCKET}.s3.{REGION}.amazonaws.com/{key}"
    # The local target created the stack from the object, as CloudFormation reads a TemplateURL.
    body = aws.cfn(REGION).get_template(StackName="pipectl-over-limit")["TemplateBody"]
    assert (
        len((body if isinstance(body, str) else json.dumps(body, separators=(",", ":"))).encode()) > MAX_TEMPLATE_BODY
    )


def test_templates_are_sent_compact_from_the_pretty_build_files(aws: Aws, build: Build) -> None:
    build.add("pipectl-small", "small", {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}})
    manifest = build.write()
    assert "\n  " in manifest.template_body(manifest["pipectl-small"])
    seen = record_change_sets(aws)
    make_plan(aws, manifest, "r1")
    assert sent(seen, "pipectl-small")["TemplateBody"] == '{"Resources":{"Topic":{"Type":"AWS::SNS::Topic"}}}'
    assert uploads.uploaded(aws) == []


def test_a_template_over_the_template_url_limit_is_refused(aws: Aws, build: Build) -> None:
    build.add("pipectl-huge", "huge", padded(MAX_TEMPLATE_URL_BODY + 1))
    manifest = build.write()
    with pytest.raises(DeployError, match=f"over CloudFormation's {MAX_TEMPLATE_URL_BODY}-byte limit"):
        uploads.stage(aws, manifest, manifest["pipectl-huge"], bucket(aws))
    assert keys(aws) == []


def test_assets_are_uploaded_once_and_the_asset_bucket_parameter_is_filled(
    aws: Aws, build: Build, moto_url: str
) -> None:
    build.add("pipectl-code", "code", function_template())
    manifest = build.write()
    asset = tiny_zip(manifest.root)
    manifest = with_entries(manifest, **{"pipectl-code": {"assets": [asset], "parameters": {"AssetKey": asset}}})
    spec = manifest["pipectl-code"]
    _, result = apply_now(aws, manifest, "r1", options=ApplyOptions(template_bucket=bucket(aws)))
    assert result.ok, result.stacks
    assert uploads.uploaded(aws) == [f"s3://{BUCKET}/{asset}"]
    live = aws.cfn(REGION).describe_stacks(StackName="pipectl-code")["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in live["Outputs"]}
    assert outputs["CodeBucket"] == BUCKET
    # Lambda read the code from the asset object.
    code = aws.client("lambda", REGION).get_function(FunctionName=outputs["FunctionName"])["Configuration"]
    digest = base64.b64encode(hashlib.sha256((manifest.root / asset).read_bytes()).digest()).decode()
    assert code["CodeSha256"] == digest
    # The parameter the controller fills does not change the spec hash the stack is tagged with.
    tags = {t["Key"]: t["Value"] for t in live["Tags"]}
    assert tags["pipectl:spec-hash"] == spec.hash and ASSET_BUCKET_PARAMETER not in spec.parameters

    again = new_aws(moto_url)
    noop = make_plan(again, manifest, "r2", template_bucket=BUCKET)
    assert not noop.has_changes
    assert uploads.uploaded(again) == [] and again.counter.total("s3") == 0

    template = function_template()
    template["Outputs"]["Changed"] = {"Value": "yes"}
    (manifest.root / spec.template).write_text(json.dumps(template, indent=2))
    changed = with_entries(manifest, **{"pipectl-code": {"hash": "changed"}})
    third = new_aws(moto_url)
    update = make_plan(third, changed, "r3", template_bucket=BUCKET)
    assert update.has_changes
    snapshot = third.counter.snapshot()
    assert uploads.uploaded(third) == [] and snapshot.get("s3:PutObject", 0) == 0
    assert snapshot.get("s3:HeadObject") == 1


def test_the_bootstrap_stack_s_bucket_is_used_when_no_bucket_is_given(aws: Aws, build: Build) -> None:
    name = bucket(aws, "from-the-bootstrap-stack")
    aws.cfn(REGION).create_stack(
        StackName=BOOTSTRAP_STACK,
        TemplateBody=json.dumps(
            {
                "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
                "Outputs": {TEMPLATE_BUCKET_OUTPUT: {"Value": name}},
            }
        ),
    )
    build.add("pipectl-over-limit", "over-limit", padded(MAX_TEMPLATE_BODY + 1))
    plan = make_plan(aws, build.write(), "r1")
    assert plan.count("create") == 1
    assert [k.split("/")[2] for k in keys(aws, name)] == ["pipectl-over-limit"]


def test_an_asset_whose_content_does_not_match_its_name_is_refused(aws: Aws, build: Build) -> None:
    build.add("pipectl-code", "code", function_template())
    manifest = build.write()
    asset = tiny_zip(manifest.root)
    (manifest.root / asset).write_bytes(b"tampered")
    manifest = with_entries(manifest, **{"pipectl-code": {"assets": [asset], "parameters": {"AssetKey": asset}}})
    with pytest.raises(ManifestError, match="does not match its content hash"):
        make_plan(aws, manifest, "r1", template_bucket=bucket(aws))
    assert keys(aws) == []


@pytest.mark.parametrize(
    ("assets", "message"),
    [("assets/x.zip", "assets: expected a list"), (["assets/missing.zip"], "asset assets/missing.zip not found")],
)
def test_a_manifest_with_bad_assets_is_refused(build: Build, assets: Any, message: str) -> None:
    build.add("pipectl-code", "code", function_template())
    manifest = build.write()
    with pytest.raises(ManifestError, match=message):
        with_entries(manifest, **{"pipectl-code": {"assets": assets}})


# Through the CLI, against the running local AWS reached as `--target aws` with AWS_ENDPOINT_URL.


def plan_cli(build: Build, *extra: str) -> int:
    argv = ["plan", "--no-synth", "--target", "aws", "--region", REGION, "--build-dir", str(build.root)]
    return main([*argv, "--revision", "r1", "--out", str(build.root.parent), *extra])


def nothing_deployed(aws: Aws) -> bool:
    return aws.cfn(REGION).describe_stacks()["Stacks"] == []


def test_no_bootstrap_stack_ends_with_exit_3_naming_the_fix(
    aws: Aws, build: Build, aws_target: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    build.add("pipectl-over-limit", "over-limit", padded(MAX_TEMPLATE_BODY + 1))
    build.write()
    assert plan_cli(build) == 3
    err = capsys.readouterr().err
    assert f"no template bucket in {REGION}: the {BOOTSTRAP_STACK} stack does not exist there" in err
    assert f"run `pipectl bootstrap --target aws --region {REGION}`" in err and "--template-bucket" in err
    assert "Traceback" not in err and nothing_deployed(aws)


def test_a_missing_template_bucket_ends_with_exit_3_naming_it(
    aws: Aws, build: Build, aws_target: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    build.add("pipectl-over-limit", "over-limit", padded(MAX_TEMPLATE_BODY + 1))
    build.add("pipectl-small", "small", {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}})
    build.write()
    monkeypatch.setenv("PIPECTL_TEMPLATE_BUCKET", "no-such-bucket")  # the option's environment default
    assert plan_cli(build) == 3
    err = capsys.readouterr().err
    assert f"template bucket no-such-bucket (from --template-bucket) does not exist in {REGION}" in err
    assert "Nothing was deployed" in err and nothing_deployed(aws)


def test_a_bucket_that_is_not_writable_ends_with_exit_3_and_nothing_is_deployed(
    aws: Aws, build: Build, aws_target: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The local target cannot deny a write (moto allows every caller), so a botocore handler answers
    PutObject with the AccessDenied that S3 returns to a caller without s3:PutObject: fault injection."""
    from generator.deploy import aws as aws_module

    def access_denied(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        error = {"Code": "AccessDenied", "Message": "Access Denied"}
        return AWSResponse("https://s3", 403, {}, None), {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 403}}

    original = aws_module.Aws._new_session

    def denying_session(self: Aws) -> Any:
        session = original(self)
        session.events.register("before-call.s3.PutObject", access_denied)
        return session

    monkeypatch.setattr(aws_module.Aws, "_new_session", denying_session)
    build.add("pipectl-small", "small", {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}})
    build.add("pipectl-over-limit", "over-limit", padded(MAX_TEMPLATE_BODY + 1))
    build.write()
    assert plan_cli(build, "--template-bucket", bucket(aws)) == 3
    err = capsys.readouterr().err
    assert f"template bucket {BUCKET} in {REGION} is not writable (AccessDenied: Access Denied)" in err
    assert "Nothing was deployed" in err and "Traceback" not in err
    # Not even a change set: the uploads come before any of them.
    assert nothing_deployed(aws) and keys(aws) == []


def test_apply_of_a_reviewed_plan_finds_the_uploaded_template(aws: Aws, build: Build, moto_url: str) -> None:
    build.add("pipectl-over-limit", "over-limit", padded(MAX_TEMPLATE_BODY + 1))
    manifest = build.write()
    plan = make_plan(aws, manifest, "r1", template_bucket=bucket(aws))
    later = new_aws(moto_url)
    result = apply_plan(later, manifest, plan, options=ApplyOptions(template_bucket=BUCKET))
    assert result.ok and uploads.uploaded(later) == []


def test_the_bootstrap_stack_is_created_in_each_region_and_stacks_use_their_region_s_bucket(
    aws: Aws, build: Build
) -> None:
    """Lambda reads code only from a bucket of its own region: a stack in us-east-1 uses us-east-1's bucket."""
    from generator.deploy.bootstrap import ensure_bootstrap
    from generator.stacks.synth import BOOTSTRAP_TEMPLATE, bootstrap_build

    build.add("pipectl-east", "east", padded(MAX_TEMPLATE_BODY + 1))
    manifest = build.write()
    section = bootstrap_build([REGION, "us-east-1"])
    (manifest.root / BOOTSTRAP_TEMPLATE).write_text(section.text)
    data = json.loads((manifest.root / "manifest.json").read_text())
    data["bootstrap"] = entry_data(section.entry)
    data["stacks"][0]["region"] = "us-east-1"
    (manifest.root / "manifest.json").write_text(json.dumps(data))
    manifest = load_manifest(manifest.root)
    assert ensure_bootstrap(aws, manifest, "r1") == [REGION, "us-east-1"]
    assert ensure_bootstrap(aws, manifest, "r2") == []
    names = {}
    for region in (REGION, "us-east-1"):
        [stack] = aws.cfn(region).describe_stacks(StackName=BOOTSTRAP_STACK)["Stacks"]
        names[region] = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}[TEMPLATE_BUCKET_OUTPUT]
    assert names[REGION] != names["us-east-1"]
    seen: list[dict[str, Any]] = []
    aws.cfn("us-east-1").write.meta.events.register(
        "provide-client-params.cloudformation.CreateChangeSet", lambda params, **_: seen.append(dict(params))
    )
    plan = make_plan(aws, manifest, "r1")
    assert plan.count("create") == 1
    assert seen[0]["TemplateURL"].startswith(f"https://{names['us-east-1']}.s3.us-east-1.amazonaws.com/")


def test_a_template_bucket_of_another_region_is_refused(aws: Aws, build: Build) -> None:
    build.add("pipectl-east", "east", padded(MAX_TEMPLATE_BODY + 1))
    manifest = with_entries(build.write(), **{"pipectl-east": {"region": "us-east-1"}})
    with pytest.raises(uploads.TemplateBucketError, match=f"template bucket {BUCKET} .* is in {REGION}, not us-east-1"):
        make_plan(aws, manifest, "r1", template_bucket=bucket(aws))
    assert aws.cfn("us-east-1").describe_stacks()["Stacks"] == []


def test_a_bootstrap_stack_without_the_bucket_output_is_reported(aws: Aws, build: Build) -> None:
    aws.cfn(REGION).create_stack(
        StackName=BOOTSTRAP_STACK, TemplateBody=json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}})
    )
    build.add("pipectl-over-limit", "over-limit", padded(MAX_TEMPLATE_BODY + 1))
    with pytest.raises(uploads.TemplateBucketError, match=f"has no {TEMPLATE_BUCKET_OUTPUT} output there"):
        make_plan(aws, build.write(), "r1")


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("x", "bootstrap: expected an object"),
        ({"name": "pipectl-bootstrap", "template": "b.json", "hash": "h"}, "bootstrap: missing key 'regions'"),
        ({"name": "b", "template": "b.json", "hash": "h", "regions": []}, "regions: expected a non-empty list"),
        ({"name": "b", "template": "absent.json", "hash": "h", "regions": ["eu-west-1"]}, "absent.json not found"),
    ],
)
def test_a_manifest_with_a_bad_bootstrap_section_is_refused(build: Build, section: Any, message: str) -> None:
    build.add("pipectl-small", "small", {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}})
    manifest = build.write()
    path = manifest.root / "manifest.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "bootstrap": section}))
    with pytest.raises(ManifestError, match=message):
        load_manifest(manifest.root)


def test_an_asset_outside_build_assets_is_refused(aws: Aws, build: Build) -> None:
    build.add("pipectl-code", "code", function_template())
    manifest = build.write()
    (manifest.root / "elsewhere.zip").write_bytes(b"zip")
    manifest = with_entries(manifest, **{"pipectl-code": {"assets": ["elsewhere.zip"]}})
    with pytest.raises(ManifestError, match=r"asset elsewhere.zip: expected assets/<sha256>.<ext> under build/"):
        make_plan(aws, manifest, "r1", template_bucket=bucket(aws))
    assert keys(aws) == []


def test_plan_says_what_it_uploaded_and_a_second_plan_uploads_nothing(
    aws: Aws, build: Build, aws_target: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    build.add("pipectl-over-limit", "over-limit", padded(MAX_TEMPLATE_BODY + 1))
    build.write()
    assert plan_cli(build, "--template-bucket", bucket(aws)) == 0
    [key] = keys(aws)
    assert f"uploaded 1 object(s) the change sets read: s3://{BUCKET}/{key}" in capsys.readouterr().out
    assert plan_cli(build, "--template-bucket", BUCKET, "--output", "json") == 0
    assert json.loads(capsys.readouterr().out)["uploaded"] == []
