"""E9004: every bucket has a bucket policy that denies requests without TLS.

Why: bucket encryption protects data at rest only; a Deny on `aws:SecureTransport = false` for the
bucket and its objects is the one way to refuse plain-HTTP access for every principal.
"""

from __future__ import annotations

from typing import Any, ClassVar

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from generator.policy.rules._template import as_list, is_ref_to, of_type, properties


def _denies_plain_http(statement: Any) -> bool:
    if (
        not isinstance(statement, dict)
        or statement.get("Effect") != "Deny"
        or statement.get("Principal")
        not in (
            "*",
            {"AWS": "*"},
        )
    ):
        return False
    condition = statement.get("Condition")
    flag = (condition or {}).get("Bool", {}).get("aws:SecureTransport") if isinstance(condition, dict) else None
    actions = as_list(statement.get("Action"))
    return str(flag).lower() == "false" and bool({"s3:*", "*"} & set(actions))


def _covers_bucket_and_objects(statement: dict[str, Any], bucket: str) -> bool:
    """One resource is the bucket, another its objects (`${Arn}/*` or a Join ending in `/*`)."""
    targets = as_list(statement.get("Resource"))
    bucket_itself = any(is_ref_to(t, bucket) for t in targets)
    objects = any(_objects_of(t, bucket) for t in targets)
    return bucket_itself and objects


def _objects_of(value: Any, bucket: str) -> bool:
    if not isinstance(value, dict):
        return False
    sub = value.get("Fn::Sub")
    if isinstance(sub, list) and len(sub) == 2 and isinstance(sub[0], str) and sub[0].endswith("/*"):
        return any(is_ref_to(v, bucket) for v in (sub[1] or {}).values())
    if isinstance(sub, str):
        return sub.endswith("/*") and (f"${{{bucket}.Arn}}" in sub or f"${{{bucket}}}" in sub)
    join = value.get("Fn::Join")
    if isinstance(join, list) and len(join) == 2 and isinstance(join[1], list) and join[1]:
        return join[1][-1] in ("/*", "*") and any(is_ref_to(p, bucket) for p in join[1])
    return False


class TlsOnlyBuckets(CloudFormationLintRule):  # type: ignore[misc]
    """A bucket without a TLS-only Deny in its bucket policy is a finding."""

    id = "E9004"
    shortdesc = "TLS-only bucket policies"
    description = "Every bucket has a policy denying s3:* on it and its objects when aws:SecureTransport is false"
    tags: ClassVar[list[str]] = ["pipectl", "s3", "tls"]

    def match(self, cfn: Any) -> list[RuleMatch]:
        policies = [properties(body) for _, body in of_type(cfn.template, "AWS::S3::BucketPolicy")]
        matches: list[RuleMatch] = []
        for logical_id, _ in of_type(cfn.template, "AWS::S3::Bucket"):
            statements = [
                statement
                for props in policies
                if is_ref_to(props.get("Bucket"), logical_id) and isinstance(props.get("PolicyDocument"), dict)
                for statement in as_list(props["PolicyDocument"].get("Statement"))
            ]
            if not any(_denies_plain_http(s) and _covers_bucket_and_objects(s, logical_id) for s in statements):
                matches.append(
                    RuleMatch(
                        ["Resources", logical_id],
                        f"{logical_id}: no bucket policy denies s3:* on the bucket and its objects without TLS",
                    )
                )
        return matches
