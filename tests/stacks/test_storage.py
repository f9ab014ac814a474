"""The storage stack: key, buckets, stream, retention, exports; cfn-lint clean for every variation."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint

from generator.spec.loader import Pipeline, load_directory
from generator.stacks.storage import build_storage

EXAMPLES = Path(__file__).resolve().parents[2] / "pipelines.d"
SHIPPED = [(name, env) for name in ("backoffice", "mobile", "shop") for env in ("prod", "test")]
STATEFUL = ("AWS::KMS::Key", "AWS::S3::Bucket", "AWS::Kinesis::Stream", "AWS::Logs::LogGroup")

# A pipeline in a region launched after August 2022, where ALB logs come from a service principal.
NEW_REGION = """\
owner: team@example.com
region: eu-central-2
apps: [{id: web, platform: web}]
ingestion:
  image: public.ecr.aws/pipectl/collector:1.4.2
  domain:
    name: collect.example.com
    certificate_arn: arn:aws:acm:eu-central-2:123456789012:certificate/0f0e0d0c-0b0a-4908-8706-050403020100
  sink: {type: s3}
environments: {prod: {}}
"""


def _pipelines(directory: Path) -> dict[tuple[str, str], Pipeline]:
    return {(p.name, p.env): p for p in load_directory(directory).pipelines}


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], str]:
    """Every variation built once: the shipped examples in both environments, and a newer region."""
    built = {key: build_storage(p).to_json() for key, p in _pipelines(EXAMPLES).items()}
    directory = tmp_path_factory.mktemp("new-region")
    (directory / "zurich.yaml").write_text(NEW_REGION)
    built |= {key: build_storage(p).to_json() for key, p in _pipelines(directory).items()}
    return built


@pytest.fixture(scope="module")
def lint_findings(templates: dict[tuple[str, str], str]) -> dict[tuple[str, str], list[str]]:
    config = ManualArgs(regions=["eu-west-1", "eu-central-2"], include_checks=["I"])
    return {key: [str(m) for m in lint(text, config=config)] for key, text in templates.items()}


def _template(templates: dict[tuple[str, str], str], name: str, env: str = "prod") -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(templates[(name, env)])
    return parsed


def _props(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    props: dict[str, Any] = template["Resources"][logical_id]["Properties"]
    return props


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = document["Statement"]
    return statements


def _by_sid(document: dict[str, Any], sid: str) -> dict[str, Any]:
    return next(s for s in _statements(document) if s.get("Sid") == sid)


@pytest.mark.parametrize("key", [*SHIPPED, ("zurich", "prod")], ids=lambda k: "-".join(k))
def test_cfn_lint_finds_nothing(lint_findings: dict[tuple[str, str], list[str]], key: tuple[str, str]) -> None:
    assert lint_findings[key] == []


def test_same_input_gives_the_same_template() -> None:
    pipeline = _pipelines(EXAMPLES)[("shop", "prod")]
    assert build_storage(pipeline).to_json() == build_storage(pipeline).to_json()


def test_key_rotates_and_is_aliased_per_pipeline_and_environment(templates: dict[tuple[str, str], str]) -> None:
    for env in ("prod", "test"):
        template = _template(templates, "shop", env)
        assert _props(template, "DataKey")["EnableKeyRotation"] is True
        alias = _props(template, "DataKeyAlias")
        assert alias["AliasName"] == f"alias/pipectl/shop/{env}"
        assert alias["TargetKeyId"] == {"Ref": "DataKey"}


def test_key_policy_names_explicit_actions(templates: dict[tuple[str, str], str]) -> None:
    policy = _props(_template(templates, "shop"), "DataKey")["KeyPolicy"]
    actions = [a for s in _statements(policy) for a in s["Action"]]
    assert actions
    assert all(a.startswith("kms:") and "*" not in a for a in actions)
    admin = _by_sid(policy, "AccountAdministersKey")
    assert admin["Principal"] == {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}}
    assert "kms:PutKeyPolicy" in admin["Action"]
    use = _by_sid(policy, "AccountUsesKeyThroughIam")
    assert {"kms:Decrypt", "kms:GenerateDataKey"} <= set(use["Action"])


def test_key_lets_cloudwatch_logs_encrypt_only_this_accounts_log_groups(
    templates: dict[tuple[str, str], str],
) -> None:
    statement = _by_sid(
        _props(_template(templates, "shop"), "DataKey")["KeyPolicy"], "CloudWatchLogsEncryptsLogGroupsOfThisAccount"
    )
    assert statement["Principal"] == {"Service": {"Fn::Sub": "logs.${AWS::Region}.amazonaws.com"}}
    assert statement["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"] == {
        "Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*"
    }


def test_key_lets_cloudwatch_alarms_publish_to_encrypted_topics(templates: dict[tuple[str, str], str]) -> None:
    statement = _by_sid(
        _props(_template(templates, "shop"), "DataKey")["KeyPolicy"], "CloudWatchAlarmsPublishToEncryptedTopics"
    )
    assert statement["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert set(statement["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey"}


def test_data_bucket_is_encrypted_with_the_key_and_private(templates: dict[tuple[str, str], str]) -> None:
    bucket = _props(_template(templates, "mobile"), "DataBucket")
    rule = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert rule["BucketKeyEnabled"] is True
    assert rule["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": {"Fn::GetAtt": ["DataKey", "Arn"]},
    }
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(bucket["PublicAccessBlockConfiguration"]) == 4
    assert bucket["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    assert bucket["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": "LogsBucket"}


@pytest.mark.parametrize(("env", "days"), [("prod", 365), ("test", 30)])
def test_data_expires_after_the_environments_retention(
    templates: dict[tuple[str, str], str], env: str, days: int
) -> None:
    rules = _props(_template(templates, "shop", env), "DataBucket")["LifecycleConfiguration"]["Rules"]
    assert rules[0]["ExpirationInDays"] == days
    assert rules[0]["NoncurrentVersionExpiration"] == {"NoncurrentDays": 30}
    assert rules[0]["Status"] == "Enabled"


@pytest.mark.parametrize("bucket", ["DataBucket", "LogsBucket"])
def test_buckets_refuse_requests_without_tls(templates: dict[tuple[str, str], str], bucket: str) -> None:
    template = _template(templates, "shop")
    policy = next(
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::S3::BucketPolicy" and r["Properties"]["Bucket"] == {"Ref": bucket}
    )
    deny = _by_sid(policy["PolicyDocument"], "DenyInsecureTransport")
    assert deny["Effect"] == "Deny"
    assert deny["Principal"] == "*"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert {"Fn::GetAtt": [bucket, "Arn"]} in deny["Resource"]


def test_logs_bucket_uses_sse_s3_for_alb_logs(templates: dict[tuple[str, str], str]) -> None:
    bucket = _props(_template(templates, "shop"), "LogsBucket")
    default = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert default == {"SSEAlgorithm": "AES256"}
    assert bucket["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == 90
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}


def test_s3_access_logging_may_write_only_for_this_account(templates: dict[tuple[str, str], str]) -> None:
    policy = _props(_template(templates, "shop"), "LogsBucketPolicy")["PolicyDocument"]
    statement = _by_sid(policy, "S3ServerAccessLogsWrite")
    assert statement["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert statement["Action"] == ["s3:PutObject"]
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert statement["Condition"]["ArnLike"] == {"aws:SourceArn": {"Fn::GetAtt": ["DataBucket", "Arn"]}}


def test_alb_logs_come_from_the_regional_elb_account_in_older_regions(
    templates: dict[tuple[str, str], str],
) -> None:
    policy = _props(_template(templates, "shop", "test"), "LogsBucketPolicy")["PolicyDocument"]
    statement = _by_sid(policy, "LoadBalancerAccessLogsWrite")
    assert statement["Principal"] == {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::156460612806:root"}}
    assert statement["Action"] == ["s3:PutObject"]
    resource = statement["Resource"][0]["Fn::Sub"][0]
    assert resource == "${Arn}/alb/shop/test/AWSLogs/${AWS::AccountId}/*"


def test_alb_logs_come_from_the_service_principal_in_newer_regions(
    templates: dict[tuple[str, str], str],
) -> None:
    policy = _props(_template(templates, "zurich"), "LogsBucketPolicy")["PolicyDocument"]
    statement = _by_sid(policy, "LoadBalancerAccessLogsWrite")
    assert statement["Principal"] == {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}


def test_on_demand_stream_is_encrypted_and_keeps_records_as_asked(templates: dict[tuple[str, str], str]) -> None:
    stream = _props(_template(templates, "shop"), "EventStream")
    assert stream["StreamModeDetails"] == {"StreamMode": "ON_DEMAND"}
    assert "ShardCount" not in stream
    assert stream["RetentionPeriodHours"] == 48
    assert stream["StreamEncryption"] == {"EncryptionType": "KMS", "KeyId": {"Fn::GetAtt": ["DataKey", "Arn"]}}


def test_provisioned_stream_has_the_files_shard_count(templates: dict[tuple[str, str], str]) -> None:
    stream = _props(_template(templates, "backoffice"), "EventStream")
    assert stream["StreamModeDetails"] == {"StreamMode": "PROVISIONED"}
    assert stream["ShardCount"] == 2
    assert stream["RetentionPeriodHours"] == 24


def test_s3_sink_has_no_stream(templates: dict[tuple[str, str], str]) -> None:
    template = _template(templates, "mobile")
    assert not [r for r in template["Resources"].values() if r["Type"] == "AWS::Kinesis::Stream"]
    assert "StreamName" not in template["Outputs"]
    assert "StreamArn" not in template["Outputs"]


@pytest.mark.parametrize(
    ("name", "outputs"),
    [
        ("shop", {"KeyArn", "DataBucketName", "DataBucketArn", "LogsBucketName", "StreamName", "StreamArn"}),
        ("mobile", {"KeyArn", "DataBucketName", "DataBucketArn", "LogsBucketName"}),
    ],
)
def test_outputs_are_exported_under_the_stack_name(
    templates: dict[tuple[str, str], str], name: str, outputs: set[str]
) -> None:
    template = _template(templates, name, "test")
    assert set(template["Outputs"]) == outputs
    for output, body in template["Outputs"].items():
        assert body["Export"] == {"Name": f"pipectl-{name}-test-storage:{output}"}


@pytest.mark.parametrize(("name", "policy"), [("shop", "Retain"), ("backoffice", "Delete")])
def test_stateful_resources_follow_the_deletion_setting(
    templates: dict[tuple[str, str], str], name: str, policy: str
) -> None:
    resources = _template(templates, name)["Resources"]
    stateful = {k: r for k, r in resources.items() if r["Type"] in STATEFUL}
    assert {"DataKey", "DataBucket", "LogsBucket", "EventStream"} <= set(stateful)
    for resource in stateful.values():
        assert resource["DeletionPolicy"] == policy
        assert resource["UpdateReplacePolicy"] == policy


@pytest.mark.parametrize("key", SHIPPED, ids=lambda k: "-".join(k))
def test_nothing_region_or_partition_specific_is_hard_coded(
    templates: dict[tuple[str, str], str], key: tuple[str, str]
) -> None:
    text = templates[key]
    assert "eu-west-1" not in text
    assert "arn:aws:" not in text
    assert "123456789012" not in text


def test_template_does_not_depend_on_where_the_files_live(tmp_path: Path) -> None:
    """A copied examples directory builds the same storage template: nothing depends on the path."""
    for file in EXAMPLES.glob("*.yaml"):
        shutil.copy(file, tmp_path / file.name)
    here = _pipelines(tmp_path)[("shop", "prod")]
    there = _pipelines(EXAMPLES)[("shop", "prod")]
    assert build_storage(here).to_json() == build_storage(there).to_json()
