"""The lint cache stays right: a changed project rule re-lints everything, a damaged entry is linted again."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from generator.policy import lint
from generator.policy.lint import CACHE_DIR, LintJob, lint_templates
from tests.examples import only_test

FIXTURES = Path(__file__).parent / "fixtures"
PASSING = ["E9001_pass.yaml", "E9003_pass.yaml", "E9007_pass.yaml"]


@pytest.fixture
def build(tmp_path: Path) -> Path:
    out = tmp_path / "build"
    out.mkdir()
    for name in PASSING:
        shutil.copy(FIXTURES / name, out / name)
    return out


def jobs() -> list[LintJob]:
    return [LintJob(name, "eu-west-1") for name in PASSING]


def entries(build: Path) -> set[str]:
    return {p.name for p in (build / CACHE_DIR).iterdir()}


def test_a_changed_project_rule_relints_every_template(
    build: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(lint.PROJECT_RULES, rules, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(lint, "PROJECT_RULES", rules)
    assert lint_templates(build, jobs(), workers=1) == []
    first = entries(build)
    assert len(first) == len(PASSING)
    assert lint_templates(build, jobs(), workers=1) == [] and entries(build) == first  # all from the cache

    # E9007 now flags log groups that do set a retention: only a re-lint can find that.
    rule = rules / "log_retention.py"
    source = rule.read_text()
    assert 'if not properties(body).get("RetentionInDays")' in source
    rule.write_text(
        source.replace('if not properties(body).get("RetentionInDays")', 'if properties(body).get("RetentionInDays")')
    )
    findings = lint_templates(build, jobs(), workers=1)

    assert len(entries(build) - first) == len(PASSING)  # every template linted again, under a new key
    with_log_groups = sorted(name for name in PASSING if "AWS::Logs::LogGroup" in (build / name).read_text())
    assert "E9007_pass.yaml" in with_log_groups
    assert sorted({f.template for f in findings}) == with_log_groups and {f.rule for f in findings} == {"E9007"}


@pytest.mark.parametrize("how", ["truncated", "flipped"])
def test_a_damaged_lint_entry_is_discarded_linted_again_and_noted(build: Path, how: str) -> None:
    fixture = "E9007_fail.yaml"
    shutil.copy(FIXTURES / fixture, build / fixture)
    job = [LintJob(fixture, "eu-west-1")]
    expected = lint_templates(build, job, workers=1)
    assert [f.rule for f in expected] == ["E9007"]
    (entry,) = (build / CACHE_DIR).iterdir()
    data = entry.read_bytes()
    entry.write_bytes(data[: len(data) // 2] if how == "truncated" else data[:-3] + b"[]]")

    notes: list[str] = []
    assert lint_templates(build, job, workers=1, notes=notes) == expected
    assert len(notes) == 1 and "hash mismatch" in notes[0] and fixture in notes[0], notes
    notes.clear()
    assert lint_templates(build, job, workers=1, notes=notes) == expected and not notes  # rewritten intact


def test_no_cache_lints_again_without_reading_entries(build: Path) -> None:
    fixture = PASSING[0]
    job = [LintJob(fixture, "eu-west-1")]
    lint_templates(build, job, workers=1)
    (entry,) = (build / CACHE_DIR).iterdir()
    entry.write_bytes(b"damaged")
    notes: list[str] = []
    assert lint_templates(build, job, workers=1, use_cache=False, notes=notes) == [] and not notes
    assert entry.read_bytes().startswith(lint.ENTRY_FORMAT.encode())


def test_validate_notes_a_damaged_lint_entry_and_no_cache_skips_the_caches(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from generator.cli import main

    repo = Path(__file__).resolve().parents[2]
    folder = tmp_path / "pipelines.d"
    folder.mkdir()
    shutil.copy(repo / "pipelines.d" / "_defaults.yaml", folder / "_defaults.yaml")
    shop = (repo / "pipelines.d" / "shop.yaml").read_text()
    (folder / "shop.yaml").write_text(only_test(shop))
    out = tmp_path / "build"
    args = ["validate", "-p", str(folder), "--build-dir", str(out)]
    assert main(args) == 0
    entry = sorted((out / CACHE_DIR).iterdir())[0]
    entry.write_bytes(entry.read_bytes()[:20])
    capsys.readouterr()

    assert main([*args, "--no-cache"]) == 0
    assert "note" not in capsys.readouterr().err  # neither cache was read; every entry is written afresh
    assert entry.read_bytes().startswith(lint.ENTRY_FORMAT.encode()) and len(entry.read_bytes()) > 20

    entry.write_bytes(entry.read_bytes()[:20])
    assert main(args) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("pipectl: note: ") and "hash mismatch" in err[0], err


def test_the_cache_key_names_cfn_lints_version_without_importing_cfn_lint() -> None:
    """Validate's parent process reads the version for the key; cfn-lint itself loads in the lint service."""
    import subprocess
    import sys

    import cfnlint.version

    code = (
        "import sys, json; from importlib import metadata; from generator.policy.lint import _fingerprint; "
        "_fingerprint(); print(json.dumps([metadata.version('cfn-lint'), 'cfnlint' in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == f'["{cfnlint.version.__version__}", false]'
