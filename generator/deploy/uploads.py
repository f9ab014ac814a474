"""What a change set needs in S3 first: templates over the inline limit, and the stack's assets.

Each region has one template and asset bucket: `--template-bucket` (or PIPECTL_TEMPLATE_BUCKET), else
the `pipectl-bootstrap` stack's output there. Templates are sent compact; one over
MAX_TEMPLATE_BODY bytes goes by TemplateURL. Every object is content-addressed, so an object that
exists is never uploaded again: a plan with nothing to change uploads nothing. A template declaring
the AssetBucket parameter gets the bucket's name; the stack's spec hash is not touched by it.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from weakref import WeakKeyDictionary

from botocore.exceptions import ClientError

from generator.contract import (
    ASSET_BUCKET_PARAMETER,
    ASSET_KEY_PREFIX,
    ASSETS_DIR,
    BOOTSTRAP_STACK,
    MAX_TEMPLATE_BODY,
    MAX_TEMPLATE_URL_BODY,
    TEMPLATE_BUCKET_OUTPUT,
    TEMPLATE_KEY_PREFIX,
)
from generator.deploy.aws import Aws, error_code, error_message
from generator.deploy.deployed import read_one
from generator.deploy.errors import DeployError, ManifestError
from generator.deploy.manifest import Manifest, StackSpec

MISSING = frozenset({"404", "NoSuchKey", "NotFound", "NoSuchBucket"})
DENIED = frozenset({"403", "AccessDenied", "Forbidden", "AllAccessDisabled", "AccessDeniedException"})


class TemplateBucketError(DeployError):
    """The template and asset bucket of a region is missing or not writable: nothing can be deployed there."""


def compact(body: str) -> bytes:
    """The bytes sent to CloudFormation (and measured against its limits): no whitespace between tokens."""
    return json.dumps(json.loads(body), separators=(",", ":")).encode()


def template_url(bucket: str, region: str, key: str) -> str:
    suffix = ".amazonaws.com.cn" if region.startswith("cn-") else ".amazonaws.com"
    return f"https://{bucket}.s3.{region}{suffix}/{key}"


@dataclass
class _State:
    """Per `Aws` (one command): the bucket of each region once resolved, the objects known to exist."""

    override: str | None
    buckets: dict[str, str] = field(default_factory=dict)
    present: set[tuple[str, str]] = field(default_factory=set)
    uploaded: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


_STATES: WeakKeyDictionary[Aws, _State] = WeakKeyDictionary()
_STATES_LOCK = threading.Lock()


def _state(aws: Aws, override: str | None) -> _State:
    with _STATES_LOCK:
        state = _STATES.get(aws)
        if state is None or state.override != override:
            state = _STATES[aws] = _State(override)
        return state


def uploaded(aws: Aws) -> list[str]:
    """`s3://bucket/key` of every object this `Aws` uploaded, in order (for reports and tests)."""
    state = _STATES.get(aws)
    return list(state.uploaded) if state else []


def _fix(aws: Aws, region: str) -> str:
    return (
        f"run `pipectl bootstrap --target {aws.target.kind} --region {region}`, "
        "or pass --template-bucket NAME (a bucket in that region you may write to)"
    )


def bucket_for(aws: Aws, region: str, override: str | None) -> str:
    """The template and asset bucket of `region`, checked to exist (once per command)."""
    state = _state(aws, override)
    with state.lock:
        if region in state.buckets:
            return state.buckets[region]
        if override:
            name, origin = override, "--template-bucket"
        else:
            stack = read_one(aws, BOOTSTRAP_STACK, region)
            name = stack.outputs.get(TEMPLATE_BUCKET_OUTPUT, "") if stack is not None else ""
            if not name:
                raise TemplateBucketError(
                    f"no template bucket in {region}: the {BOOTSTRAP_STACK} stack "
                    f"{'does not exist' if stack is None else f'has no {TEMPLATE_BUCKET_OUTPUT} output'} there; "
                    f"{_fix(aws, region)}. Nothing was deployed"
                )
            origin = f"the {BOOTSTRAP_STACK} stack"
        _check_exists(aws, region, name, origin)
        state.buckets[region] = name
        return name


def _check_exists(aws: Aws, region: str, name: str, origin: str) -> None:
    try:
        head = aws.client("s3", region).head_bucket(Bucket=name)
    except ClientError as exc:
        code = error_code(exc)
        what = "does not exist" if code in MISSING else f"cannot be used ({code or error_message(exc)})"
        raise TemplateBucketError(
            f"template bucket {name} (from {origin}) {what} in {region}; {_fix(aws, region)}. Nothing was deployed"
        ) from None
    where = str(head.get("BucketRegion") or region)
    if where != region:
        raise TemplateBucketError(
            f"template bucket {name} (from {origin}) is in {where}, not {region}: CloudFormation and Lambda read "
            f"templates and code from a bucket of the stack's region; {_fix(aws, region)}. Nothing was deployed"
        )


def _ensure(aws: Aws, state: _State, region: str, bucket: str, key: str, data: bytes) -> None:
    """Upload unless the object exists (keys are content-addressed, so an existing object is this one)."""
    if (bucket, key) in state.present:
        return
    s3 = aws.client("s3", region)
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        # Without s3:ListBucket a missing key answers 403, not 404: the upload then tells which.
        if error_code(exc) not in MISSING | DENIED:
            raise
        try:
            s3.put_object(Bucket=bucket, Key=key, Body=data)
        except ClientError as put:
            if error_code(put) in DENIED or error_code(put) in MISSING:
                raise TemplateBucketError(
                    f"template bucket {bucket} in {region} is not writable ({error_code(put)}: "
                    f"{error_message(put)}); {_fix(aws, region)}. Nothing was deployed"
                ) from None
            raise
        with state.lock:
            state.uploaded.append(f"s3://{bucket}/{key}")
    with state.lock:
        state.present.add((bucket, key))


def _asset_bytes(manifest: Manifest, spec: StackSpec, asset: str) -> tuple[str, bytes]:
    """The asset's object key and content; its name must be the sha256 of its content."""
    path = PurePosixPath(asset)
    if path.parts[:1] != (ASSETS_DIR,) or len(path.parts) != 2:
        raise ManifestError(f"{spec.name}: asset {asset}: expected {ASSETS_DIR}/<sha256>.<ext> under build/")
    data = (manifest.root / asset).read_bytes()
    if hashlib.sha256(data).hexdigest() != path.name.split(".", 1)[0]:
        raise ManifestError(f"{spec.name}: asset {asset} does not match its content hash; run `pipectl synth` again")
    return ASSET_KEY_PREFIX + path.name, data


def stage(aws: Aws, manifest: Manifest, spec: StackSpec, override: str | None) -> tuple[StackSpec, dict[str, str]]:
    """Upload what the stack's change set reads from S3; return its spec (AssetBucket filled) and template source.

    The returned spec keeps its hash: the bucket's name is where the code lives, not what is deployed.
    """
    state = _state(aws, override)
    body = compact(manifest.template_body(spec))
    declared = json.loads(body).get("Parameters") or {}
    needs_bucket = len(body) > MAX_TEMPLATE_BODY or bool(spec.assets) or ASSET_BUCKET_PARAMETER in declared
    if not needs_bucket:
        return spec, {"TemplateBody": body.decode()}
    if len(body) > MAX_TEMPLATE_URL_BODY:
        raise DeployError(
            f"{spec.name}: template {spec.template} is {len(body)} bytes compact, over CloudFormation's "
            f"{MAX_TEMPLATE_URL_BODY}-byte limit for templates read from S3: split the stack"
        )
    bucket = bucket_for(aws, spec.region, override)
    for asset in spec.assets:
        key, data = _asset_bytes(manifest, spec, asset)
        _ensure(aws, state, spec.region, bucket, key, data)
    if ASSET_BUCKET_PARAMETER in declared:
        spec = spec.model_copy(update={"parameters": {**spec.parameters, ASSET_BUCKET_PARAMETER: bucket}})
    if len(body) <= MAX_TEMPLATE_BODY:
        return spec, {"TemplateBody": body.decode()}
    key = f"{TEMPLATE_KEY_PREFIX}{spec.name}/{hashlib.sha256(body).hexdigest()}.json"
    _ensure(aws, state, spec.region, bucket, key, body)
    return spec, {"TemplateURL": template_url(bucket, spec.region, key)}


def stage_all(aws: Aws, manifest: Manifest, specs: list[StackSpec], override: str | None) -> None:
    """Every upload the given stacks need, before any change set: a bucket problem stops the plan first."""
    for spec in specs:
        stage(aws, manifest, spec, override)
