"""`--output json` of every command: one JSON document on standard output, shaped by the command's typed
result. Deploy commands run against the embedded AWS reached as `--target aws` with AWS_ENDPOINT_URL."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from generator.cli import main
from generator.deploy.aws import Aws
from tests.deploy.conftest import Build
from tests.examples import example_only_test

REPO = Path(__file__).resolve().parents[2]
STACK_RESULT = {"name", "action", "result", "detail", "events", "change_set"}
STATUS_ROW = {
    "stack", "pipeline", "env", "kind", "status", "in_sync", "last_updated", "orphan", "outputs", "dashboard_url",
    "local_collector",
}  # fmt: skip
REMOVAL = {
    "name", "pipeline", "env", "kind", "region", "status", "retained", "data_deleted", "protected", "result",
    "detail", "needs",
}  # fmt: skip
PLAN = {"revision", "created_at", "target", "region", "stacks", "run_id", "recorded", "env"}


def run_json(capsys: pytest.CaptureFixture[str], *argv: str, code: int = 0) -> Any:
    returned = main([*argv, "--output", "json"])
    out, err = capsys.readouterr()
    assert returned == code, out + err
    return json.loads(out)  # exactly one document: json.loads refuses anything after it


@pytest.fixture
def on_moto(aws_target: list[str]) -> list[str]:
    """The target options every deploy command here takes."""
    return aws_target


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """One example pipeline, with a test environment only: the smallest real synth."""
    folder = tmp_path / "pipelines.d"
    folder.mkdir()
    shutil.copy(REPO / "pipelines.d" / "_defaults.yaml", folder / "_defaults.yaml")
    (folder / "shop.yaml").write_text(example_only_test("shop"))
    return folder


def test_plan_apply_status_drift_smoke_destroy(
    aws: Aws, build: Build, on_moto: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build.root = tmp_path / "build"
    build.console()
    build.pipeline("tiny", kinds=("storage",))
    build.write()

    planned = run_json(capsys, "plan", "--no-synth", *on_moto, "--revision", "r1", "--out", "out")
    assert set(planned) == PLAN | {"local_stand_ins", "uploaded"}
    assert {k: v for k, v in planned.items() if k in PLAN} == json.loads((tmp_path / "out" / "plan.json").read_text())
    assert {s["name"]: s["action"] for s in planned["stacks"]} == {
        "pipectl-console": "create",
        "pipectl-tiny-test-storage": "create",
    }

    applied = run_json(capsys, "apply", "--plan", "out/plan.json", *on_moto)
    assert set(applied) == {"revision", "run_id", "ok", "stacks"}
    assert applied["ok"] is True and applied["revision"] == "r1" and applied["run_id"]
    assert {set(r) == STACK_RESULT for r in applied["stacks"].values()} == {True}
    assert {n: (r["action"], r["result"]) for n, r in applied["stacks"].items()} == {
        "pipectl-console": ("create", "done"),
        "pipectl-tiny-test-storage": ("create", "done"),
    }

    rows = run_json(capsys, "status", *on_moto)
    assert [set(r) for r in rows] == [STATUS_ROW, STATUS_ROW]
    assert [(r["stack"], r["status"], r["in_sync"], r["orphan"]) for r in rows] == [
        ("pipectl-console", "CREATE_COMPLETE", True, False),
        ("pipectl-tiny-test-storage", "CREATE_COMPLETE", True, False),
    ]

    drifted = run_json(capsys, "drift", "tiny", *on_moto)
    assert [set(d) for d in drifted] == [{"name", "status", "resources", "detail"}]
    assert drifted[0]["name"] == "pipectl-tiny-test-storage"
    assert drifted[0]["status"] in {"IN_SYNC", "UNKNOWN", "NOT_CHECKED", "FAILED"}  # what moto's detection gives

    smoked = run_json(capsys, "smoke", *on_moto, code=1)  # a storage stack alone has no collector to ask
    assert set(smoked) == {"ok", "checks"} and smoked["ok"] is False
    assert [set(c) for c in smoked["checks"]] == [{"pipeline", "env", "name", "result", "detail"}] * 3
    assert [(c["pipeline"], c["env"], c["name"], c["result"]) for c in smoked["checks"]] == [
        ("tiny", "test", "collector", "failed"),
        ("tiny", "test", "processing", "failed"),
        ("tiny", "test", "dashboard", "failed"),
    ]

    listed = run_json(capsys, "destroy", "tiny", *on_moto)
    assert set(listed) == {"executed", "ok", "stacks"}
    assert (listed["executed"], listed["ok"]) == (False, True)
    assert [(set(r), r["name"], r["result"]) for r in listed["stacks"]] == [
        (REMOVAL, "pipectl-tiny-test-storage", "listed")
    ]
    assert listed["stacks"][0]["retained"] == ["DataBucket (AWS::S3::Bucket)"]


def test_synth_and_validate(shop: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--pipelines", str(shop), "--build-dir", str(tmp_path / "build")]
    synthesized = run_json(capsys, "synth", *argv)
    assert set(synthesized) == {"build_dir", "stacks"}
    manifest = json.loads((tmp_path / "build" / "manifest.json").read_text())
    assert synthesized["stacks"] == manifest["stacks"]
    validated = run_json(capsys, "validate", *argv)
    assert validated == {"templates": len(manifest["stacks"]) + 1, "findings": []}  # and the bootstrap template


def test_prune_lists_the_stacks_of_a_pipeline_whose_file_is_gone(
    aws: Aws, build: Build, on_moto: list[str], shop: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build.root = tmp_path / "deployed"
    build.pipeline("gone", kinds=("storage",))
    build.write()
    run_json(capsys, "plan", "--no-synth", *on_moto, "--build-dir", "deployed", "--revision", "r1", "--out", "out")
    run_json(capsys, "apply", "--plan", "out/plan.json", *on_moto, "--build-dir", "deployed")
    pruned = run_json(capsys, "prune", "--pipelines", str(shop), *on_moto)
    assert (pruned["executed"], pruned["ok"]) == (False, True)
    assert [(set(r), r["name"], r["result"]) for r in pruned["stacks"]] == [
        (REMOVAL, "pipectl-gone-test-storage", "listed")
    ]


def test_bootstrap_dry_run(shop: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copy(REPO / "pipelines.d" / "_console.yaml", shop / "_console.yaml")
    argv = ["--pipelines", str(shop), "--build-dir", str(tmp_path / "build"), "--codecommit", "cfg", "--no-approvers"]
    argv.append("--dry-run")
    written = run_json(capsys, "bootstrap", *argv)
    assert set(written) == {"build_dir", "stacks"}
    manifest = json.loads((Path(written["build_dir"]) / "manifest.json").read_text())
    assert written["stacks"] == manifest["stacks"]
    assert {s["name"] for s in written["stacks"]} == {"pipectl-console", "pipectl-delivery"}


def test_local_start_status_stop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    assert run_json(capsys, "local", "status", code=1) == {
        "running": False,
        "endpoint": None,
        "pid": None,
        "started_at": None,
    }
    started = run_json(capsys, "local", "start")
    try:
        assert set(started) == {"running", "endpoint", "already_running"}
        assert started["running"] is True and started["already_running"] is False
        assert started["endpoint"].startswith("http://127.0.0.1:")
        shown = run_json(capsys, "local", "status")
        assert (shown["running"], shown["endpoint"]) == (True, started["endpoint"])
        assert isinstance(shown["pid"], int) and shown["started_at"]
        assert run_json(capsys, "local", "start")["already_running"] is True
    finally:
        stopped = run_json(capsys, "local", "stop")
    assert stopped == {"running": False, "stopped": True}
    assert run_json(capsys, "local", "stop") == {"running": False, "stopped": False}


def test_up_prints_one_document_with_each_steps_result(
    shop: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """On the local target, as a new user runs it; up leaves the embedded AWS running, so it is stopped here."""
    monkeypatch.chdir(tmp_path)
    try:
        result = run_json(capsys, "up", "--pipelines", str(shop), "--revision", "r1")
    finally:
        main(["local", "stop"])
    assert set(result) == {
        "validate",
        "plan",
        "apply",
        "status",
        "collectors",
        "collector_error",
        "console",
        "console_error",
    }
    assert result["validate"]["findings"] == []
    assert result["collector_error"] is None and result["console_error"] is None
    console = result["console"]  # served from before the deployment; its password shown this once
    assert console["url"].startswith("http://127.0.0.1:") and console["user"] == "console@pipectl.local"
    assert console["password"] and console["already_running"] is False
    [collector] = result["collectors"]  # shop's one environment in this file, running on the local target
    assert collector["url"].startswith("http://127.0.0.1:") and collector["pipeline"] == "shop"
    planned = json.loads((tmp_path / "plan.json").read_text())
    # plan.json is written before apply, which then records the plan in the (newly created) state table
    assert {k: v for k, v in result["plan"].items() if k != "recorded"} == {
        k: v for k, v in planned.items() if k != "recorded"
    }
    assert (planned["recorded"], result["plan"]["recorded"]) == (False, True)
    assert set(result["apply"]) == {"revision", "run_id", "ok", "stacks"} and result["apply"]["ok"] is True
    assert set(result["apply"]["stacks"]) == {s["name"] for s in planned["stacks"]}
    assert {r["result"] for r in result["apply"]["stacks"].values()} == {"done"}
    headline = [n for n in result["apply"]["stacks"] if n.endswith(("-ingestion", "-monitoring", "-console"))]
    assert [(r["stack"], r["in_sync"]) for r in result["status"]] == [(n, True) for n in headline]
    assert len(headline) == 3


def test_validate_of_a_broken_file_prints_its_errors_as_json(
    shop: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (shop / "shop.yaml").read_text().replace("owner: analytics@example.com", "owner: nobody")
    (shop / "shop.yaml").write_text(text)
    found = run_json(capsys, "validate", "--pipelines", str(shop), "--build-dir", str(tmp_path / "b"), code=2)
    assert list(found) == ["errors"]
    owner = [e for e in found["errors"] if e["path"] == "owner"]
    assert len(owner) == 1 and set(owner[0]) == {"file", "line", "col", "path", "message"}
    assert (Path(owner[0]["file"]).name, owner[0]["line"], owner[0]["col"]) == ("shop.yaml", 3, 8)
    assert "nobody" in owner[0]["message"]
    assert not (tmp_path / "b").exists()


def test_graph(shop: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--pipelines", str(shop), "--build-dir", str(tmp_path / "build")]
    drawn = run_json(capsys, "graph", *argv, "--format", "dot")
    assert set(drawn) == {"format", "text", "stacks", "edges"} and drawn["format"] == "dot"
    assert ["pipectl-shop-test-storage", "pipectl-shop-test-ingestion"] in drawn["edges"]
    assert '"pipectl-shop-test-storage" -> "pipectl-shop-test-ingestion";' in drawn["text"]


def test_schema(capsys: pytest.CaptureFixture[str]) -> None:
    schema = run_json(capsys, "schema")
    assert schema["type"] == "object" and "ingestion" in schema["properties"]
