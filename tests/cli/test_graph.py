"""`pipectl graph`: Mermaid and DOT of the dependency graph, for everything or one pipeline."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from generator.cli import main
from generator.deploy.diagram import dot, mermaid, restrict

REPO = Path(__file__).resolve().parents[2]
GRAPH = {
    "pipectl-console": (),
    "pipectl-a-prod-storage": (),
    "pipectl-a-prod-ingestion": ("pipectl-a-prod-storage",),
    "pipectl-b-prod-storage": ("pipectl-console",),
}


def test_mermaid_marks_changed_stacks() -> None:
    text = mermaid(GRAPH, {"pipectl-a-prod-ingestion": "update-after"})
    assert text.startswith("flowchart LR\n")
    ids = {line.split('["')[1].split('"]')[0].split("<br/>")[0]: line.split("[")[0].strip() for line in
           text.splitlines() if '["' in line}  # fmt: skip
    assert f"  {ids['pipectl-a-prod-storage']} --> {ids['pipectl-a-prod-ingestion']}" in text
    assert f"  class {ids['pipectl-a-prod-ingestion']} update_after" in text
    assert "pipectl-a-prod-ingestion<br/>(update-after)" in text


def test_dot_and_one_pipeline() -> None:
    only_b = restrict(GRAPH, {"pipectl-b-prod-storage"})
    assert only_b == {"pipectl-console": (), "pipectl-b-prod-storage": ("pipectl-console",)}
    text = dot(only_b, {"pipectl-b-prod-storage": "create"})
    assert '"pipectl-console" -> "pipectl-b-prod-storage";' in text and "pipectl-a" not in text
    assert 'fillcolor="#d4f7d4"' in text


@pytest.fixture
def pipelines(tmp_path: Path) -> Path:
    folder = tmp_path / "pipelines.d"
    folder.mkdir()
    for name in ("_defaults.yaml", "shop.yaml", "mobile.yaml"):
        shutil.copy(REPO / "pipelines.d" / name, folder / name)
    return folder


def test_graph_command_for_one_pipeline(pipelines: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["graph", "--pipelines", str(pipelines), "--build-dir", str(tmp_path / "build"), "--pipeline", "mobile"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.startswith("flowchart LR") and "pipectl-mobile-prod-storage" in out and "shop" not in out


def test_an_unknown_pipeline_names_the_valid_ones(pipelines: Path, tmp_path: Path, capsys) -> None:
    argv = ["graph", "--pipelines", str(pipelines), "--build-dir", str(tmp_path / "build"), "--pipeline", "shopp"]
    assert main(argv) == 2
    assert "no pipeline named 'shopp'; expected one of: mobile, shop" in capsys.readouterr().err
