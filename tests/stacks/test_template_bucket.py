"""The bootstrap stack's template and asset bucket: what protects it, what expires, and that it fits inline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from generator.contract import BOOTSTRAP_STACK, MAX_TEMPLATE_BODY, TEMPLATE_BUCKET_OUTPUT, TEMPLATE_KEY_PREFIX
from generator.policy.lint import LintJob, lint_templates
from generator.spec.loader import load_directory
from generator.stacks.synth import BOOTSTRAP_TEMPLATE, bootstrap_build, synthesize
from generator.stacks.template_bucket import TemplateBucketSpec, build_template_bucket

REPO = Path(__file__).resolve().parents[2]


def bucket(template: dict[str, Any]) -> dict[str, Any]:
    return dict(template["Resources"]["TemplateBucket"])


def test_the_bucket_is_encrypted_private_versioned_and_retained() -> None:
    template = build_template_bucket(TemplateBucketSpec()).to_dict()
    resource = bucket(template)
    assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Retain"
    props = resource["Properties"]
    [rule] = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/aws/s3"}
    assert set(props["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(props["PublicAccessBlockConfiguration"]) == 4
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    [deny] = template["Resources"]["TemplateBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_templates_expire_assets_do_not_and_old_versions_go() -> None:
    spec = TemplateBucketSpec(template_days=14, noncurrent_days=9, incomplete_upload_days=2)
    rules = {
        r["Id"]: r
        for r in bucket(build_template_bucket(spec).to_dict())["Properties"]["LifecycleConfiguration"]["Rules"]
    }
    assert (
        rules["ExpireTemplates"]["Prefix"] == TEMPLATE_KEY_PREFIX and rules["ExpireTemplates"]["ExpirationInDays"] == 14
    )
    old = rules["ExpireNoncurrentVersions"]
    assert old["NoncurrentVersionExpiration"] == {"NoncurrentDays": 9}
    assert old["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 2}
    assert "ExpirationInDays" not in old, "assets are read again by rollbacks: never expired by age"


def test_the_bucket_name_is_an_output_exported_under_the_stack_name() -> None:
    outputs = build_template_bucket(TemplateBucketSpec()).to_dict()["Outputs"]
    assert outputs[TEMPLATE_BUCKET_OUTPUT]["Export"] == {"Name": f"{BOOTSTRAP_STACK}:{TEMPLATE_BUCKET_OUTPUT}"}


def test_it_fits_inline_and_lints_clean(tmp_path: Path) -> None:
    built = bootstrap_build(["us-east-1", "eu-west-1", "eu-west-1"])
    assert built.entry.regions == ("eu-west-1", "us-east-1")
    compact = json.dumps(json.loads(built.text), separators=(",", ":"))
    assert len(compact) < MAX_TEMPLATE_BODY // 10
    (tmp_path / BOOTSTRAP_TEMPLATE).write_text(built.text)
    assert lint_templates(tmp_path, [LintJob(BOOTSTRAP_TEMPLATE, "eu-west-1")], workers=1) == []


def test_synth_lists_it_for_every_region_the_stacks_use(tmp_path: Path) -> None:
    builds = synthesize(load_directory(REPO / "pipelines.d", "pipelines.d"), tmp_path)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["bootstrap"]["regions"] == sorted({b.entry.region for b in builds})
    assert manifest["bootstrap"]["template"] == BOOTSTRAP_TEMPLATE and (tmp_path / BOOTSTRAP_TEMPLATE).is_file()
    assert BOOTSTRAP_STACK not in [s["name"] for s in manifest["stacks"]]
