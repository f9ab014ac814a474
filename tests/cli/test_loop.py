"""The README's loop on the local target with no server running beforehand, as a new user runs it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from generator.cli import main
from tests.examples import example_only_test

REPO = Path(__file__).resolve().parents[2]


def test_plan_then_apply_then_auto_approve_an_edit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "pipelines.d"
    folder.mkdir()
    shutil.copy(REPO / "pipelines.d" / "_defaults.yaml", folder / "_defaults.yaml")
    shop = folder / "shop.yaml"
    shop.write_text(example_only_test("shop", "{ingestion: {capacity: {max: 2}}}"))
    try:
        assert main(["plan", "--revision", "r1"]) == 0
        planned_out = "".join(capsys.readouterr())
        # shop names an existing VPC: the line saying local values stand in for it comes once, with the plan
        assert planned_out.count("stood in by local ones") == 1, planned_out
        # plan left the background server running, so its change sets are still there for apply
        assert main(["local", "status"]) == 0
        assert main(["apply", "--plan", "plan.json"]) == 0
        assert "stood in" not in "".join(capsys.readouterr()), "said once per plan, not again by apply"

        shop.write_text(shop.read_text().replace("{capacity: {max: 2}}", "{capacity: {max: 3}}"))
        assert main(["apply", "--auto-approve", "--revision", "r2"]) == 0  # synthesizes the edit first
        planned = json.loads((tmp_path / "plan.json").read_text())
        assert {s["name"]: s["action"] for s in planned["stacks"] if s["action"] != "none"} == {
            "pipectl-shop-test-ingestion": "update"
        }
        assert "| `MaxCapacity` | `2` | `3` |" in (tmp_path / "plan.md").read_text()
        capsys.readouterr()
    finally:
        assert main(["local", "stop"]) == 0
    out = capsys.readouterr().out
    assert "its state went with it" in out
    assert main(["local", "status"]) == 1, "nothing runs: a script can tell"


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"pipectl {version('pipectl')}"
