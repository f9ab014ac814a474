"""Each project rule against a template it must pass and one it must fail, linted the way `pipectl validate` lints.

Fixtures live in `fixtures/` as `<rule id>_pass.yaml` and `<rule id>_fail*.yaml`. A passing fixture has no
finding of any rule (cfn-lint's own included), so it also shows the compliant way to write the resource.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from generator.cli import main
from generator.policy.lint import CACHE_DIR, LintFinding, LintJob, _load_rules, lint_templates

FIXTURES = Path(__file__).parent / "fixtures"
EXAMPLES = Path(__file__).resolve().parents[2] / "pipelines.d"
RULE_IDS = [f"E9{n:03d}" for n in range(1, 13)]
FAILING = sorted(path.name for path in FIXTURES.glob("E9*_fail*.yaml"))
PASSING = sorted(path.name for path in FIXTURES.glob("E9*_pass*.yaml"))


def lint_fixture(name: str, tmp_path: Path) -> list[LintFinding]:
    shutil.copy(FIXTURES / name, tmp_path / name)
    return lint_templates(tmp_path, [LintJob(name, "eu-west-1")], workers=1)


def test_every_project_rule_is_loaded_with_its_descriptions() -> None:
    rules = _load_rules()
    for rule_id in RULE_IDS:
        rule = rules[rule_id]
        assert rule.shortdesc and rule.description and type(rule).__doc__, rule_id


def test_every_rule_has_a_passing_and_a_failing_fixture() -> None:
    for rule_id in RULE_IDS:
        assert (FIXTURES / f"{rule_id}_pass.yaml").is_file(), rule_id
        assert any(name.startswith(f"{rule_id}_fail") for name in FAILING), rule_id


@pytest.mark.parametrize("name", PASSING)
def test_compliant_template_has_no_finding(name: str, tmp_path: Path) -> None:
    assert lint_fixture(name, tmp_path) == []


@pytest.mark.parametrize("name", FAILING)
def test_violating_template_is_found_by_its_rule_alone(name: str, tmp_path: Path) -> None:
    rule_id = name.split("_")[0]
    findings = lint_fixture(name, tmp_path)
    assert {f.rule for f in findings} == {rule_id}, findings
    assert all(f.line > 1 for f in findings if f.rule == rule_id), "findings point at the offending resource"


def test_shipped_examples_and_console_pass_every_rule(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """What `pipectl validate` checks (every pipeline stack and the console stack) passes the project rules."""
    build = tmp_path / "build"
    code = main(["validate", "--pipelines", str(EXAMPLES), "--build-dir", str(build), "--jobs", "2"])
    output = capsys.readouterr().out
    assert code == 0, output
    checked = {str(p.relative_to(build)) for p in build.rglob("*.json") if p.parent.name != CACHE_DIR}
    assert "console.json" in checked and len(checked) > 20
    assert "validated" in output and "no findings" in output


def test_a_type_the_execution_role_lacks_is_a_located_validate_error(tmp_path: Path) -> None:
    (finding,) = lint_fixture("E9011_fail.yaml", tmp_path)
    assert (finding.line, finding.col) == (5, 5)
    assert finding.message == (
        "Resources.Setting.Type: the execution role has no permissions for AWS::SSM::Parameter: "
        "regenerate the execution permissions table (scripts/gen-permissions)"
    )
