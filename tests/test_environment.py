"""The suite never depends on the caller's environment: CodeBuild's Validate stage runs it with
`PIPECTL_TARGET=aws`, a profile and an endpoint set, and it must still run against the local target."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_the_suite_entry_point_ignores_a_caller_aimed_at_aws(tmp_path: Path) -> None:
    """`pipectl up` through the CLI's default target, run by pytest as CI runs it, with the caller's
    environment pointing at AWS (and at a closed port, so a leak fails fast instead of reaching AWS)."""
    env = {
        **os.environ,
        "PIPECTL_TARGET": "aws",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_PROFILE": "production",
        "PIPECTL_CLOUDFORMATION_ROLE_ARN": "arn:aws:iam::123456789012:role/not-for-tests",
    }
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-n0",
            "-p",
            "no:cacheprovider",
            "tests/deploy/test_examples.py::test_up_brings_every_example_up",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "1 passed" in result.stdout


def test_the_caller_settings_are_gone_inside_the_suite() -> None:
    assert "PIPECTL_TARGET" not in os.environ
    assert "AWS_PROFILE" not in os.environ
    assert os.environ["AWS_ACCESS_KEY_ID"] == "testing"
