"""CloudFormation's template size limits, and TemplateURL read from the local S3, on the local target.

moto accepts a TemplateBody of any size and reads a TemplateURL only in some URL forms. CloudFormation
refuses a TemplateBody over 51,200 bytes (CreateStack, UpdateStack, CreateChangeSet, ValidateTemplate)
and an S3 template over 1,000,000 bytes, with the messages reproduced here.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlparse

from generator.contract import MAX_TEMPLATE_BODY, MAX_TEMPLATE_URL_BODY
from generator.deploy.local import compat

CHECKED_ACTIONS = ("create_stack", "update_stack", "create_change_set", "validate_template")


def enforce() -> None:
    """Patch moto's CloudFormation responses once per process."""
    for action in CHECKED_ACTIONS:
        compat.patch_once(compat.CloudFormationResponse, action, _size_checked)
    compat.patch_once(compat.CloudFormationResponse, "_get_stack_from_s3_url", lambda _: template_from_url)


def body_refusal(body: str | None) -> str | None:
    """CloudFormation's ValidationError text for an inline template over the limit, else None."""
    if body is None or len(body.encode()) <= MAX_TEMPLATE_BODY:
        return None
    shown = body if len(body) <= 80 else body[:80] + "..."
    return (
        f"1 validation error detected: Value '{shown}' at 'templateBody' failed to satisfy constraint: "
        f"Member must have length less than or equal to {MAX_TEMPLATE_BODY}"
    )


def _size_checked(original: Any) -> Any:
    def action(response: Any) -> Any:
        refusal = body_refusal(response._get_param("TemplateBody"))
        if refusal is not None:
            raise compat.ValidationError(message=refusal)
        return original(response)

    return action


def bucket_and_key(url: str) -> tuple[str, str]:
    """The bucket and key of an S3 URL in virtual-hosted or path style (any region, or a local endpoint)."""
    parts = urlparse(url)
    host = parts.hostname or ""
    path = unquote(parts.path.lstrip("/"))
    if host.endswith(".amazonaws.com") and not host.startswith(("s3.", "s3-")) and ".s3" in host:
        return host[: host.rindex(".s3")], path  # https://BUCKET.s3.REGION.amazonaws.com/KEY
    bucket, _, key = path.partition("/")  # https://s3.REGION.amazonaws.com/BUCKET/KEY, http://127.0.0.1:N/BUCKET/KEY
    return bucket, key


def template_from_url(response: Any, template_url: str) -> str:
    """The template a TemplateURL names in the local S3, refused as CloudFormation refuses it."""
    bucket, key = bucket_and_key(template_url)
    if not bucket or not key:
        raise compat.ValidationError(message="TemplateURL must be a supported URL.")
    s3 = compat.backend("s3", response.current_account, response.region)
    found = s3.get_object(bucket, key) if bucket in s3.buckets and key in s3.buckets[bucket].keys else None
    if found is None:
        missing = "key" if bucket in s3.buckets else "bucket"
        raise compat.ValidationError(message=f"S3 error: The specified {missing} does not exist. ({template_url})")
    body: bytes = found.value
    if len(body) > MAX_TEMPLATE_URL_BODY:
        raise compat.ValidationError(message=f"Template may not exceed {MAX_TEMPLATE_URL_BODY} bytes in size.")
    return body.decode("utf-8")
