"""The console's user pool costs nothing per active user unless `_console.yaml` asks for threat protection."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from generator.spec.loader import load_directory
from generator.stacks.console import build_console

SHIPPED = Path(__file__).resolve().parents[2] / "pipelines.d"


@pytest.mark.parametrize(
    ("console_file", "tier", "mode"),
    [
        ("auth: {type: cognito}\n", "ESSENTIALS", "OFF"),
        ("user_pool: {threat_protection: none}\n", "ESSENTIALS", "OFF"),
        ("user_pool: {threat_protection: audit}\n", "PLUS", "AUDIT"),
        ("user_pool: {threat_protection: enforced}\n", "PLUS", "ENFORCED"),
    ],
)
def test_threat_protection_is_an_explicit_choice_and_picks_the_plan(
    tmp_path: Path, console_file: str, tier: str, mode: str
) -> None:
    shutil.copy(SHIPPED / "_defaults.yaml", tmp_path / "_defaults.yaml")
    shutil.copy(SHIPPED / "shop.yaml", tmp_path / "shop.yaml")
    (tmp_path / "_console.yaml").write_text(console_file)
    template = json.loads(build_console(load_directory(tmp_path).console).to_json())
    pool = template["Resources"]["ConsoleUserPool"]["Properties"]
    assert (pool["UserPoolTier"], pool["UserPoolAddOns"]["AdvancedSecurityMode"]) == (tier, mode)
