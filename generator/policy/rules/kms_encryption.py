"""E9003: buckets, tables, streams, delivery streams, queues, topics and log groups are KMS-encrypted.

Why: with a customer-managed key, who may read the data is decided by the key policy and every
read is in CloudTrail. One exception: a bucket that only receives access logs may use SSE-S3,
because ALB and S3 server access log delivery cannot write to SSE-KMS buckets. Such a bucket is
recognised by what it is, not by its name: another bucket of the template sends its access logs
there, or its bucket policy allows nothing but `s3:PutObject` by log-delivery principals.
An AWS-managed key (`alias/aws/...`) is no customer key and is a finding, except in the bootstrap
stack (`Metadata.pipectl.kind: bootstrap`): its bucket holds templates and code from git, read by
every principal that deploys, which `aws/s3` allows without a grant per role.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from generator.policy.rules._template import as_list, is_ref_to, of_type, properties, resources

KMS_ALGORITHMS = frozenset({"aws:kms", "aws:kms:dsse"})
AWS_MANAGED_ALIAS = "alias/aws/"
AWS_MANAGED_KEY_KINDS = frozenset({"bootstrap"})
LOG_DELIVERY_SERVICES = frozenset(
    {"logging.s3.amazonaws.com", "logdelivery.elasticloadbalancing.amazonaws.com", "delivery.logs.amazonaws.com"}
)


def _bucket_algorithms(props: dict[str, Any]) -> list[tuple[Any, Any]]:
    encryption = props.get("BucketEncryption")
    rules = as_list(encryption.get("ServerSideEncryptionConfiguration")) if isinstance(encryption, dict) else []
    found = []
    for rule in rules:
        default = rule.get("ServerSideEncryptionByDefault") if isinstance(rule, dict) else None
        if isinstance(default, dict):
            found.append((default.get("SSEAlgorithm"), default.get("KMSMasterKeyID")))
    return found


def _delivery_principal(principal: Any) -> bool:
    """A log-delivery service, or the regional Elastic Load Balancing account (`arn:...:iam::<elb>:root`)."""
    if not isinstance(principal, dict) or set(principal) - {"Service", "AWS"}:
        return False
    services = as_list(principal.get("Service"))
    accounts = as_list(principal.get("AWS"))
    return all(s in LOG_DELIVERY_SERVICES for s in services) and all(_is_account_root(a) for a in accounts)


def _is_account_root(value: Any) -> bool:
    text = value.get("Fn::Sub") if isinstance(value, dict) else value
    return isinstance(text, str) and text.endswith(":root") and ":iam::" in text


def _only_log_delivery(template: dict[str, Any], bucket: str) -> bool:
    allows = []
    for _, policy in of_type(template, "AWS::S3::BucketPolicy"):
        props = properties(policy)
        if not is_ref_to(props.get("Bucket"), bucket) or not isinstance(props.get("PolicyDocument"), dict):
            continue
        allows += [s for s in as_list(props["PolicyDocument"].get("Statement")) if s.get("Effect") == "Allow"]
    return bool(allows) and all(
        as_list(s.get("Action")) == ["s3:PutObject"] and _delivery_principal(s.get("Principal")) for s in allows
    )


def _receives_access_logs(template: dict[str, Any], bucket: str) -> bool:
    for logical_id, body in of_type(template, "AWS::S3::Bucket"):
        logging = properties(body).get("LoggingConfiguration")
        if logical_id == bucket or not isinstance(logging, dict):
            continue
        if is_ref_to(logging.get("DestinationBucketName"), bucket):
            return True
    return False


def _aws_managed(key: Any) -> bool:
    return isinstance(key, str) and (key.startswith(AWS_MANAGED_ALIAS) or f":{AWS_MANAGED_ALIAS}" in key)


def _stack_kind(template: dict[str, Any]) -> Any:
    metadata = template.get("Metadata")
    pipectl = metadata.get("pipectl") if isinstance(metadata, dict) else None
    return pipectl.get("kind") if isinstance(pipectl, dict) else None


def _bucket(template: dict[str, Any], logical_id: str, props: dict[str, Any]) -> str | None:
    algorithms = _bucket_algorithms(props)
    if algorithms and all(a in KMS_ALGORITHMS and key for a, key in algorithms):
        if any(_aws_managed(key) for _, key in algorithms) and _stack_kind(template) not in AWS_MANAGED_KEY_KINDS:
            return "bucket uses an AWS-managed key: use SSE-KMS with a customer-managed key"
        return None
    if algorithms and all(a == "AES256" for a, _ in algorithms):
        if _receives_access_logs(template, logical_id) or _only_log_delivery(template, logical_id):
            return None
        return "bucket uses SSE-S3 but is not an access-log bucket: use SSE-KMS with the pipeline key"
    return "bucket has no SSE-KMS default encryption with a key"


def _table(props: dict[str, Any]) -> str | None:
    sse = props.get("SSESpecification")
    if isinstance(sse, dict) and sse.get("SSEEnabled") in (True, "true") and sse.get("SSEType") == "KMS":
        return None if sse.get("KMSMasterKeyId") else "table uses the AWS-managed key: name a customer key"
    return "table has no SSESpecification with SSEEnabled and SSEType KMS"


def _stream(props: dict[str, Any]) -> str | None:
    enc = props.get("StreamEncryption")
    if isinstance(enc, dict) and enc.get("EncryptionType") == "KMS" and enc.get("KeyId"):
        return None
    return "stream has no StreamEncryption with EncryptionType KMS and a KeyId"


def _delivery_stream(props: dict[str, Any]) -> str | None:
    """A Firehose stream fed by a Kinesis stream holds that stream's encryption; a DirectPut one names a key."""
    if props.get("DeliveryStreamType") == "KinesisStreamAsSource":
        return None
    enc = props.get("DeliveryStreamEncryptionConfigurationInput")
    if isinstance(enc, dict) and enc.get("KeyType") == "CUSTOMER_MANAGED_CMK" and enc.get("KeyARN"):
        return None
    return "delivery stream has no DeliveryStreamEncryptionConfigurationInput with a customer-managed KeyARN"


def _keyed(prop: str, what: str) -> Callable[[dict[str, Any]], str | None]:
    def check(props: dict[str, Any]) -> str | None:
        return None if props.get(prop) else f"{what} has no {prop}"

    return check


CHECKS: dict[str, Callable[[dict[str, Any]], str | None]] = {
    "AWS::DynamoDB::Table": _table,
    "AWS::Kinesis::Stream": _stream,
    "AWS::KinesisFirehose::DeliveryStream": _delivery_stream,
    "AWS::SQS::Queue": _keyed("KmsMasterKeyId", "queue"),
    "AWS::SNS::Topic": _keyed("KmsMasterKeyId", "topic"),
    "AWS::Logs::LogGroup": _keyed("KmsKeyId", "log group"),
}


class KmsEncryption(CloudFormationLintRule):  # type: ignore[misc]
    """Every data-holding resource names a KMS key; access-log buckets may use SSE-S3."""

    id = "E9003"
    shortdesc = "KMS encryption on data"
    description = (
        "Buckets, tables, streams, delivery streams, queues, topics and log groups are encrypted with a KMS key"
    )
    tags: ClassVar[list[str]] = ["pipectl", "encryption"]

    def match(self, cfn: Any) -> list[RuleMatch]:
        matches: list[RuleMatch] = []
        for logical_id, body in resources(cfn.template):
            props = properties(body)
            if body["Type"] == "AWS::S3::Bucket":
                problem = _bucket(cfn.template, logical_id, props)
            elif body["Type"] in CHECKS:
                problem = CHECKS[body["Type"]](props)
            else:
                continue
            if problem:
                matches.append(RuleMatch(["Resources", logical_id, "Properties"], f"{logical_id}: {problem}"))
        return matches
