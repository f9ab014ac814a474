"""Property tests: any valid pipeline file synthesizes to lint-clean, deterministic templates."""

from __future__ import annotations

import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator.policy.lint import LintJob, lint_templates
from generator.policy.permissions import load_table
from generator.spec.loader import load_directory
from generator.stacks.emitted import types_of
from generator.stacks.synth import build_all, write_build

REGIONS = ["eu-west-1", "us-east-1", "ap-southeast-2", "eu-central-2"]
SUBNETS = [f"subnet-0a1b2c3d4e5f6{i:04d}" for i in range(4)]

sinks = st.one_of(
    st.builds(lambda h: {"type": "kinesis", "retention_hours": h}, st.sampled_from([24, 48, 168])),
    st.builds(lambda n: {"type": "kinesis", "mode": "provisioned", "shards": n}, st.integers(1, 8)),
    st.builds(
        lambda mb, s: {"type": "s3", "buffer_mb": mb, "interval_s": s}, st.integers(1, 128), st.integers(10, 900)
    ),
)
networks = st.one_of(
    st.builds(
        lambda n, z: {"create": True, "az_count": z, "nat_gateways": min(n, z)}, st.integers(1, 3), st.integers(2, 3)
    ),
    st.just({"vpc_id": "vpc-0a1b2c3d4e5f60718", "public_subnets": SUBNETS[:2], "private_subnets": SUBNETS[2:]}),
)
auths = st.sampled_from(["none", "jwt", "jwt-claims"])


@st.composite
def pipeline_files(draw: st.DrawFn) -> dict:
    region = draw(st.sampled_from(REGIONS))
    low = draw(st.integers(1, 10))
    high = draw(st.integers(low, 20))
    launch = draw(st.sampled_from(["fargate", "ec2"]))
    ids = draw(st.lists(st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True), min_size=1, max_size=4, unique=True))
    auth = draw(auths)
    ingestion: dict = {
        "launch_type": launch,
        "image": "public.ecr.aws/example/collector:1",
        "capacity": {"min": low, "max": high, "target_cpu": draw(st.integers(10, 90))},
        "domain": {
            "name": "collect.example.com",
            "certificate_arn": f"arn:aws:acm:{region}:123456789012:certificate/12345678-1234-1234-1234-123456789012",
        },
        "endpoint_path": draw(st.sampled_from(["/collect", "/com.snowplowanalytics.snowplow/tp2", "/e"])),
        "cors_origins": draw(
            st.lists(st.sampled_from(["https://a.example.com", "https://b.example.org"]), unique=True)
        ),
        "sink": draw(sinks),
    }
    if launch == "ec2":
        ingestion["instance_type"] = draw(st.sampled_from(["t3.medium", "c6g.large", "m7i.xlarge"]))
    if auth.startswith("jwt"):
        ingestion["auth"] = {
            "type": "jwt",
            "issuer": "https://id.example.com",
            "jwks_endpoint": "https://id.example.com/.well-known/jwks.json",
        }
        if auth == "jwt-claims":
            ingestion["auth"]["claims"] = [
                {"name": "aud", "values": ["collector"]},
                {"name": "scope", "format": "space-separated-values", "values": ["events.write"]},
            ]
    return {
        "description": draw(st.text(st.characters(codec="ascii", categories=["L", "N", "Zs"]), max_size=40)),
        "owner": "team@example.com",
        "region": region,
        "apps": [{"id": i, "platform": draw(st.sampled_from(["web", "ios", "android", "server"]))} for i in ids],
        "network": draw(networks),
        "ingestion": ingestion,
        "processing": {
            "schedule": draw(st.sampled_from(["rate(1 hour)", "rate(15 minutes)", "cron(0 3 * * ? *)"])),
            "enrich": draw(st.lists(st.sampled_from(["ip-geo", "user-agent", "referer"]), unique=True)),
            "retention_days": draw(st.integers(1, 3650)),
        },
        "monitoring": {"log_retention_days": draw(st.sampled_from([1, 7, 30, 365, 3653]))},
        "deletion": draw(st.sampled_from(["retain", "delete"])),
        "environments": {"prod": {}},
    }


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pipeline_files())
def test_any_valid_file_synthesizes_lint_clean_and_deterministic(document):
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work) / "pipelines.d"
        folder.mkdir()
        (folder / "generated.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
        installation = load_directory(folder, "pipelines.d")
        first, second = build_all(installation), build_all(installation)
        assert [b.text for b in first] == [b.text for b in second]
        # Every type it emits has execution permissions (E9010 below says the same, located).
        assert types_of(first) <= set(load_table().types), "run scripts/gen-permissions"
        out = Path(work) / "build"
        write_build(out, first)
        jobs = [LintJob(b.entry.template, b.entry.region) for b in first if b.entry.kind != "console"]
        findings = lint_templates(out, jobs)
        assert not findings, "\n".join(map(str, findings))
