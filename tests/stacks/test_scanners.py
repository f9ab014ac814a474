"""Our side of the scanner contract, without the scanner: every accepted finding names its check and says
why, rule E9012 catches one that does not, and scripts/scan reads checkov's report strictly.

checkov itself runs in scripts/scan (its own virtualenv: it pins boto3 and packaging older than ours).
The scan script's report handling is tested here with reports and a stand-in executable written by the
test, since checkov is not installed in the test environment.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import re
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from generator.policy.rules.suppression_reasons import SuppressionReasons
from generator.spec.loader import load_directory
from generator.stacks import accepted
from generator.stacks.emitted import scanned_templates
from generator.stacks.synth import synthesize
from generator.stacks.writing import SCAN_VENV_DIR

REPO = Path(__file__).resolve().parents[2]
CHECK_ID = re.compile(r"^CKV2?_AWS_\d+$")
ACCEPTED_CHECKS = {value.check for value in vars(accepted).values() if isinstance(value, accepted.Finding)} | {
    finding.check for finding in accepted.BOUNDARY
}


@pytest.fixture(scope="module")
def templates() -> dict[str, dict[str, Any]]:
    return {name: json.loads(text) for name, text in scanned_templates(REPO / "pipelines.d").items()}


def skips(template: dict[str, Any]) -> list[tuple[str, Any]]:
    return [
        (logical_id, entry)
        for logical_id, resource in template["Resources"].items()
        for entry in (resource.get("Metadata") or {}).get("checkov", {}).get("skip", [])
    ]


def e9012(template: dict[str, Any]) -> list[Any]:
    return list(SuppressionReasons().match(SimpleNamespace(template=template)))


def test_every_kind_of_stack_is_scanned(templates: dict[str, dict[str, Any]]) -> None:
    stacks = {name.rsplit(".", 2)[0] for name in templates}
    assert {"pipectl-bootstrap", "pipectl-console", "pipectl-delivery"} <= stacks
    for kind in ("storage", "ingestion", "processing", "monitoring"):
        assert any(stack.endswith(f"-{kind}") for stack in stacks), kind


def test_every_accepted_finding_names_a_check_and_says_why(templates: dict[str, dict[str, Any]]) -> None:
    found = [(name, logical_id, entry) for name, template in templates.items() for logical_id, entry in skips(template)]
    assert len(found) > 20  # functions outside a VPC, the logs buckets, the boundary, at least
    for name, logical_id, entry in found:
        assert set(entry) == {"id", "comment"}, (name, logical_id, entry)
        assert CHECK_ID.match(entry["id"]), (name, logical_id, entry)
        assert entry["id"] in ACCEPTED_CHECKS, (name, logical_id, entry)  # named once, in accepted.py
        assert len(entry["comment"].split()) >= 10, (name, logical_id, entry)  # a reason, not a word


def test_a_finding_is_accepted_only_where_its_reason_holds(templates: dict[str, dict[str, Any]]) -> None:
    for name, template in templates.items():
        for logical_id, entry in skips(template):
            resource = template["Resources"][logical_id]
            if entry["id"] == "CKV_AWS_115":  # unreserved concurrency: only where nothing is reserved
                assert "ReservedConcurrentExecutions" not in resource["Properties"], (name, logical_id)
            if entry["id"] == "CKV_AWS_18":  # no access logging: only where the bucket does not log
                assert "LoggingConfiguration" not in resource["Properties"], (name, logical_id)
            if entry["id"] == "CKV_AWS_117":  # outside a VPC: only a function without one
                assert "VpcConfig" not in resource["Properties"], (name, logical_id)
            if entry["id"] == "CKV_AWS_174":  # CloudFront's default certificate: only where no domain is set
                certificate = resource["Properties"]["DistributionConfig"]["ViewerCertificate"]
                assert certificate == {"CloudFrontDefaultCertificate": True}, (name, logical_id)
            if entry["id"] == "CKV_AWS_111" and resource["Type"] == "AWS::IAM::ManagedPolicy":  # writes on *
                statements = resource["Properties"]["PolicyDocument"]["Statement"]
                assert any(s["Effect"] == "Allow" and s["Resource"] in ("*", ["*"]) for s in statements)


def test_functions_with_configuration_encrypt_it_with_a_customer_managed_key(
    templates: dict[str, dict[str, Any]],
) -> None:
    functions = [
        (name, logical_id, resource["Properties"])
        for name, template in templates.items()
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Function"
    ]
    assert any(logical_id == "RecorderFunction" for _, logical_id, _ in functions)
    for name, logical_id, properties in functions:
        if properties.get("Environment"):
            assert properties.get("KmsKeyArn"), (name, logical_id)


def test_e9012_covers_every_suppression_pipectl_emits(templates: dict[str, dict[str, Any]]) -> None:
    with_skips = {name: template for name, template in templates.items() if skips(template)}
    assert with_skips
    for name, template in with_skips.items():
        assert e9012(template) == [], name
        for index, (logical_id, _) in enumerate(skips(template)):
            broken = copy.deepcopy(template)
            entry = skips(broken)[index][1]
            entry["comment"] = " "
            (match,) = e9012(broken)
            assert match.path[:2] == ["Resources", logical_id], (name, match.path)
            assert "without a comment" in match.message


# --- scripts/scan's reading of checkov's report -------------------------------------------------------------


@pytest.fixture(scope="module")
def scan() -> ModuleType:
    spec = importlib.util.spec_from_file_location("scan", REPO / "scripts" / "scan.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["scan"] = module
    spec.loader.exec_module(module)
    return module


def check(check_id: str, template: str, resource: str, comment: str | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {"result": "SKIPPED" if comment is not None else "FAILED"}
    if comment is not None:
        result["suppress_comment"] = comment
    return {
        "check_id": check_id,
        "check_name": f"name of {check_id}",
        "file_path": f"/{template}",
        "resource": resource,
        "check_result": result,
    }


def report(failed: list[Any], skipped: list[Any], passed: list[Any], parsing_errors: int = 0) -> dict[str, Any]:
    return {
        "check_type": "cloudformation",
        "results": {"failed_checks": failed, "skipped_checks": skipped, "passed_checks": passed},
        "summary": {"passed": len(passed), "parsing_errors": parsing_errors, "checkov_version": "3.3.30"},
    }


def verdict(scan: ModuleType, checkov_report: dict[str, Any], templates: list[str]) -> tuple[list[str], list[str]]:
    """(what is not accepted, what went unseen)."""
    refused = [f"{f.template}:{f.resource}:{f.check}" for f in scan.findings(checkov_report) if not f.accepted]
    return refused, scan.problems(checkov_report, templates)


def test_the_scan_passes_accepted_findings_and_refuses_the_rest(scan: ModuleType) -> None:
    passed = [check("CKV_AWS_1", "a.json", "AWS::S3::Bucket.Data", None) | {"check_result": {"result": "PASSED"}}]
    reason = "the access-logs bucket cannot log to itself"
    clean = report([], [check("CKV_AWS_18", "a.json", "AWS::S3::Bucket.Logs", reason)], passed)
    assert verdict(scan, clean, ["a.json"]) == ([], [])
    failed = report([check("CKV_AWS_117", "a.json", "AWS::Lambda::Function.F")], [], passed)
    assert verdict(scan, failed, ["a.json"]) == (["a.json:AWS::Lambda::Function.F:CKV_AWS_117"], [])
    silent = report([], [check("CKV_AWS_18", "a.json", "AWS::S3::Bucket.Logs", "")], passed)
    assert verdict(scan, silent, ["a.json"]) == (["a.json:AWS::S3::Bucket.Logs:CKV_AWS_18"], [])
    lines = scan.render(scan.findings(silent), silent, ["a.json"], 1.0)
    assert lines[-1] == "a.json: AWS::S3::Bucket.Logs: CKV_AWS_18 skipped without a reason: name of CKV_AWS_18"


def test_a_template_checkov_did_not_read_fails_the_scan(scan: ModuleType) -> None:
    passed = [check("CKV_AWS_1", "a.json", "AWS::S3::Bucket.Data") | {"check_result": {"result": "PASSED"}}]
    assert verdict(scan, report([], [], passed), ["a.json", "b.json"]) == (
        [],
        ["b.json: not scanned (checkov ran no check on it)"],
    )
    assert verdict(scan, report([], [], passed, parsing_errors=1), ["a.json"])[1] == [
        "checkov could not parse 1 templates"
    ]


def test_a_checkov_that_gives_no_report_is_an_error(scan: ModuleType, tmp_path: Path) -> None:
    broken = tmp_path / "checkov"
    broken.write_text("#!/bin/sh\necho 'no such option' >&2\nexit 2\n")
    broken.chmod(0o755)
    with pytest.raises(scan.ScanError, match="checkov exited 2 without a report: no such option"):
        scan.run_checkov(str(broken), tmp_path)
    with pytest.raises(scan.ScanError, match="missing"):
        scan.run_checkov(str(tmp_path / "missing"), tmp_path)


def test_synth_leaves_the_scanners_virtualenv_in_build_alone(tmp_path: Path) -> None:
    """checkov's package data is JSON; synth drops JSON files under build/ that are not its templates."""
    assert f"build/{SCAN_VENV_DIR}/" in (REPO / "scripts" / "scan").read_text()
    data = tmp_path / "build" / SCAN_VENV_DIR / "checkov-1" / "lib" / "checks.json"
    data.parent.mkdir(parents=True)
    data.write_text("{}")
    synthesize(load_directory(REPO / "pipelines.d", "pipelines.d"), tmp_path / "build")
    assert data.read_text() == "{}"
