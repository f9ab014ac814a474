"""synth's one-pass encoder gives exactly troposphere's `to_dict()`, for every stack of varied pipelines."""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

from generator.spec.loader import load_directory
from generator.stacks.common import KINDS
from generator.stacks.console import build_console
from generator.stacks.encode import template_data
from generator.stacks.synth import import_builders, serialize

REPO = Path(__file__).resolve().parents[2]
CERT = "arn:aws:acm:eu-west-1:123456789012:certificate/12345678-1234-4234-8234-123456789012"
SINKS = ("{type: s3, buffer_mb: 8, interval_s: 60}", "{type: kinesis, mode: provisioned, shards: 2}", "{type: kinesis}")
NETWORKS = (
    "{create: true}",
    "{vpc_id: vpc-0a1b2c3d4e5f60718, public_subnets: [subnet-0a1b2c3d4e5f60001, subnet-0a1b2c3d4e5f60002], "
    "private_subnets: [subnet-0a1b2c3d4e5f60101, subnet-0a1b2c3d4e5f60102]}",
)
AUTHS = ("{type: none}", "{type: jwt, issuer: https://id.example.com, jwks_endpoint: https://id.example.com/jwks}")


def varied(folder: Path) -> None:
    """Every combination of the options the builders branch on, beside the shipped examples."""
    for path in (REPO / "pipelines.d").glob("*.yaml"):
        shutil.copy(path, folder / path.name)
    combos = itertools.product(("fargate", "ec2"), SINKS, NETWORKS, AUTHS)
    for n, (launch, sink, network, auth) in enumerate(combos):
        extra = "  instance_type: c6g.large\n" if launch == "ec2" else ""
        (folder / f"v{n}.yaml").write_text(
            f"owner: t{n}@example.com\napps: [{{id: a{n}, platform: web}}]\nnetwork: {network}\n"
            f"ingestion:\n  launch_type: {launch}\n{extra}  domain: {{name: c{n}.example.com, certificate_arn: '{CERT}'}}\n"
            f"  sink: {sink}\n  auth: {auth}\n"
            f"environments: {{test: {{ingestion: {{domain: {{name: c{n}.test.example.com}}}}}}, prod: {{}}}}\n"
        )


def test_template_data_is_to_dict_byte_for_byte(tmp_path: Path) -> None:
    folder = tmp_path / "pipelines.d"
    folder.mkdir()
    varied(folder)
    installation = load_directory(folder)
    builders = import_builders()
    templates = [builders[kind](pipeline) for pipeline in installation.pipelines for kind in KINDS]
    templates.append(build_console(installation.console))
    assert len(templates) > 100
    for template in templates:
        assert serialize(template_data(template)) == serialize(template.to_dict())
