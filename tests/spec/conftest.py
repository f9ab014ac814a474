"""Helpers to write small pipeline directories for spec tests."""

from __future__ import annotations

from pathlib import Path

import pytest

CERT = "arn:aws:acm:eu-west-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"

MINIMAL = f"""owner: data@example.com
region: eu-west-1
apps: [{{id: web, platform: web}}]
ingestion:
  image: collector:1
  domain: {{name: c.example.com, certificate_arn: "{CERT}"}}
"""
# Each environment has a load balancer, and so a collector domain, of its own: MINIMAL + ENVIRONMENTS loads.
ENVIRONMENTS = "environments: {test: {ingestion: {domain: {name: test.c.example.com}}}, prod: {}}\n"


@pytest.fixture
def pipelines(tmp_path: Path):
    """Write files into a fresh pipelines.d and return its path."""

    def write(files: dict[str, str | bytes]) -> Path:
        folder = tmp_path / "pipelines.d"
        folder.mkdir(exist_ok=True)
        for name, content in files.items():
            target = folder / name
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content)
        return folder

    return write
