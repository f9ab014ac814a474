"""Rules that span several fields of a valid spec, each naming the exact key at fault."""

from __future__ import annotations

import gzip
import importlib.util
import json
import re
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path as FsPath
from typing import Any

from generator.contract import IMAGE_PINNED_REFERENCE
from generator.spec.errors import Path, shown
from generator.spec.models import PipelineSpec

Finding = tuple[Path, str]
Rule = Callable[[PipelineSpec, dict[str, Any]], Iterator[Finding]]


def _endpoint_data() -> dict[str, Any]:
    """botocore's shipped endpoints.json, read as data: importing boto3 for it costs ~120 ms per run."""
    spec = importlib.util.find_spec("botocore")
    if spec is None or spec.origin is None:
        return {"partitions": []}
    data = FsPath(spec.origin).parent / "data"
    plain, packed = data / "endpoints.json", data / "endpoints.json.gz"
    if plain.is_file():
        result: dict[str, Any] = json.loads(plain.read_bytes())
    elif packed.is_file():
        result = json.loads(gzip.decompress(packed.read_bytes()))
    else:
        return {"partitions": []}
    return result


@cache
def known_regions() -> dict[str, str]:
    """Region -> partition where CloudFormation has a regional endpoint (what boto3's
    `Session.get_available_regions("cloudformation", partition)` lists), with no AWS call."""
    regions: dict[str, str] = {}
    for partition in _endpoint_data()["partitions"]:
        endpoints = partition["services"].get("cloudformation", {}).get("endpoints", {})
        for region in endpoints:
            if region in partition["regions"]:
                regions[region] = partition["partition"]
    return regions


def _arn_parts(arn: str) -> tuple[str, str]:
    parts = arn.split(":")
    return parts[1], parts[3]


def capacity_range(spec: PipelineSpec, raw: dict[str, Any]) -> Iterator[Finding]:
    cap = spec.ingestion.capacity
    if cap.max < cap.min:
        yield ("ingestion", "capacity", "max"), f"expected >= capacity.min ({cap.min}), found {cap.max}"


def unique_app_ids(spec: PipelineSpec, raw: dict[str, Any]) -> Iterator[Finding]:
    first: dict[str, int] = {}
    for index, app in enumerate(spec.apps):
        if app.id in first:
            yield ("apps", index, "id"), f"expected a unique app id, found {app.id!r} again (apps[{first[app.id]}])"
        else:
            first[app.id] = index


def sink_options(spec: PipelineSpec, raw: dict[str, Any]) -> Iterator[Finding]:
    """Each sink type checks its own keys (`SinkSettings.findings`); paths are made absolute here."""
    ingestion = raw.get("ingestion")
    written = ingestion.get("sink") if isinstance(ingestion, dict) else None
    for path, message in spec.ingestion.sink.findings(written if isinstance(written, dict) else {}):
        yield ("ingestion", "sink", *path), message


def launch_type_options(spec: PipelineSpec, raw: dict[str, Any]) -> Iterator[Finding]:
    ingestion = raw.get("ingestion") or {}
    if spec.ingestion.launch_type == "fargate" and "instance_type" in ingestion:
        yield (
            ("ingestion", "instance_type"),
            f"expected no instance type with launch_type: fargate, found {shown(ingestion['instance_type'])}",
        )
    if spec.ingestion.launch_type == "fargate":
        valid = {256: (512, 2048), 512: (1024, 4096), 1024: (2048, 8192), 2048: (4096, 16384), 4096: (8192, 30720)}
        low, high = valid[spec.ingestion.cpu]
        if not low <= spec.ingestion.memory <= high or (spec.ingestion.memory % 1024 and spec.ingestion.memory != 512):
            yield (
                ("ingestion", "memory"),
                f"expected a Fargate memory size for cpu {spec.ingestion.cpu} ({low}-{high} MiB in GiB steps), "
                f"found {spec.ingestion.memory}",
            )


def region_exists(spec: PipelineSpec, raw: dict[str, Any]) -> Iterator[Finding]:
    if spec.region not in known_regions():
        sample = ", ".join(sorted(known_regions())[:4])
        yield ("region",), f"expected an AWS region ({sample}, …), found {spec.region!r}"


def same_region_arns(spec: PipelineSpec, raw: dict[str, Any]) -> Iterator[Finding]:
    partition = known_regions().get(spec.region)
    if partition is None:
        return
    arns: list[tuple[Path, str, str]] = [
        (("ingestion", "domain", "certificate_arn"), spec.ingestion.domain.certificate_arn, "certificate"),
    ]
    for path, arn, what in arns:
        arn_partition, arn_region = _arn_parts(arn)
        if arn_region != spec.region:
            yield path, f"expected a {what} in {spec.region}, found one in {arn_region}"
        elif arn_partition != partition:
            yield path, f"expected a {what} in partition {partition}, found one in {arn_partition}"


def pinned_image(spec: PipelineSpec, raw: dict[str, Any]) -> Iterator[Finding]:
    """Another image than the one pipectl builds runs only pinned: `latest` or no tag changes under the service."""
    image = spec.ingestion.image
    if image is None:
        return
    tag = image.rsplit("/", 1)[-1].partition("@")[0].partition(":")[2]
    if not re.match(IMAGE_PINNED_REFERENCE, image) or (tag == "latest" and "@sha256:" not in image):
        yield (
            ("ingestion", "image"),
            f"expected a pinned image (REPOSITORY@sha256:DIGEST, or REPOSITORY:TAG other than latest), found {image!r}",
        )


RULES: tuple[Rule, ...] = (
    capacity_range,
    unique_app_ids,
    sink_options,
    launch_type_options,
    region_exists,
    same_region_arns,
    pinned_image,
)


def check(spec: PipelineSpec, raw: dict[str, Any]) -> list[Finding]:
    return [finding for rule in RULES for finding in rule(spec, raw)]
