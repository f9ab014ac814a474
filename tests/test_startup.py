"""A fast start: what each command imports, checked by name (start times are measured by scripts/bench-synth)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import boto3

from generator.spec.rules import known_regions
from tests.examples import only_test

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("boto3", "botocore", "moto", "rich", "pydantic", "troposphere", "awacs", "yaml", "jinja2", "cfnlint")


def imported_after(code: str) -> list[str]:
    """Run `code` in a fresh interpreter; which of HEAVY it left imported."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, check=True)
    loaded: list[str] = json.loads(result.stdout.strip().splitlines()[-1])
    return loaded


def test_region_list_is_boto3s_without_importing_it() -> None:
    session = boto3.session.Session()
    expected = {
        region: partition
        for partition in session.get_available_partitions()
        for region in session.get_available_regions("cloudformation", partition_name=partition)
    }
    assert known_regions() == expected
    assert {"eu-west-1", "cn-north-1", "us-gov-west-1"} <= set(expected)


def test_help_and_schema_load_none_of_the_heavy_libraries() -> None:
    helped = imported_after(
        "import contextlib, io\nfrom generator.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n    main(['--help'])"
    )
    assert helped == []
    schema = imported_after(
        "import contextlib, io\nfrom generator.cli import main\nout = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n    main(['schema'])\n"
        "assert out.getvalue() == open('generator/spec/pipeline.schema.json').read()"
    )
    assert schema == []


def test_synth_and_validate_import_neither_boto3_nor_moto(tmp_path: Path) -> None:
    folder = tmp_path / "pipelines.d"
    folder.mkdir()
    shutil.copy(REPO / "pipelines.d" / "_defaults.yaml", folder / "_defaults.yaml")
    shop = (REPO / "pipelines.d" / "shop.yaml").read_text()
    (folder / "shop.yaml").write_text(only_test(shop))
    build = tmp_path / "build"
    argv = f"['-p', {str(folder)!r}, '--build-dir', {str(build)!r}]"
    validate = imported_after(f"from generator.cli import main\nassert main(['validate', *{argv}]) == 0")
    assert "troposphere" in validate
    assert "cfnlint" not in validate  # cfn-lint loads in the lint service's process, never in this one
    assert "boto3" not in validate and "moto" not in validate
    cached = imported_after(f"from generator.cli import main\nassert main(['synth', *{argv}]) == 0")
    assert "boto3" not in cached and "moto" not in cached
    assert "troposphere" not in cached, "a synth with every unit cached needs no stack builder"
