"""E9010: Lambda code comes from a content-addressed asset in the bucket the AssetBucket parameter names.

Why: inline code (`Code.ZipFile`) is capped at 4,096 bytes and pipectl's functions outgrow it; a literal
bucket ties the template to one account and region; a key that is not `assets/<sha256>.zip` is not
content-addressed, so a change of code could leave the template, and its spec hash, unchanged; and a
`Default` on AssetBucket would put one account's bucket back into the template.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from generator.contract import ASSET_BUCKET_PARAMETER, ASSET_KEY_PREFIX
from generator.policy.rules._template import of_type, properties

ASSET_KEY = re.compile(rf"^{re.escape(ASSET_KEY_PREFIX)}[0-9a-f]{{64}}\.zip$")


class AssetCode(CloudFormationLintRule):  # type: ignore[misc]
    """AWS::Lambda::Function Code is {S3Bucket: Ref AssetBucket, S3Key: assets/<sha256>.zip}."""

    id = "E9010"
    shortdesc = "Lambda code from an asset"
    description = (
        "Every AWS::Lambda::Function takes its code from S3Bucket Ref AssetBucket (a parameter without "
        "Default) and an S3Key assets/<sha256>.zip; no inline ZipFile"
    )
    tags: ClassVar[list[str]] = ["pipectl", "lambda"]

    def match(self, cfn: Any) -> list[RuleMatch]:
        matches: list[RuleMatch] = []
        uses_bucket = False
        for logical_id, body in of_type(cfn.template, "AWS::Lambda::Function"):
            path = ["Resources", logical_id, "Properties", "Code"]
            code = properties(body).get("Code")
            if not isinstance(code, dict):
                continue  # cfn-lint reports a missing or malformed Code itself
            if "ZipFile" in code:
                matches.append(
                    RuleMatch([*path, "ZipFile"], f"{logical_id}: inline code; package it as an asset under assets/")
                )
                continue
            if code.get("S3Bucket") != {"Ref": ASSET_BUCKET_PARAMETER}:
                matches.append(
                    RuleMatch(
                        [*path, "S3Bucket"] if "S3Bucket" in code else path,
                        f"{logical_id}: code bucket is not Ref {ASSET_BUCKET_PARAMETER}",
                    )
                )
            else:
                uses_bucket = True
            key = code.get("S3Key")
            if not (isinstance(key, str) and ASSET_KEY.match(key)):
                matches.append(
                    RuleMatch(
                        [*path, "S3Key"] if "S3Key" in code else path,
                        f"{logical_id}: code key {key!r} is not {ASSET_KEY_PREFIX}<sha256>.zip",
                    )
                )
        parameter = (cfn.template.get("Parameters") or {}).get(ASSET_BUCKET_PARAMETER)
        if uses_bucket and isinstance(parameter, dict) and "Default" in parameter:
            matches.append(
                RuleMatch(
                    ["Parameters", ASSET_BUCKET_PARAMETER, "Default"],
                    f"parameter {ASSET_BUCKET_PARAMETER} has a Default; the controller fills it per account and region",
                )
            )
        return matches
