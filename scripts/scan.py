"""checkov over every template pipectl emits: a table of findings, exit 1 on any finding not accepted.

The templates are those the execution role's permissions are derived from (generator/stacks/emitted.py):
the shipped examples' stacks (as given, with their optional resources on, with each sink type),
bootstrap's console and delivery stacks for both source kinds and both console sign-ins, and the
template bucket's stack. A finding pipectl accepts is skipped in its resource's Metadata with its reason
(generator/stacks/accepted.py); rule E9012 fails a skip without one, and so does this check. checkov runs
from its own virtualenv (see scripts/scan), since it pins older boto3 and packaging than pipectl's.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from generator.spec.errors import SpecErrors  # noqa: E402
from generator.stacks.emitted import scanned_templates  # noqa: E402

CHECKOV_TIMEOUT_S = 600


@dataclass(frozen=True)
class Finding:
    """One check on one resource: failed, or skipped (accepted when it gives a reason)."""

    check: str
    name: str
    template: str
    resource: str
    reason: str | None

    @property
    def accepted(self) -> bool:
        return bool(self.reason and self.reason.strip())


def write_templates(pipelines: Path, out: Path) -> list[str]:
    """Every template to scan (generator/stacks/emitted.py says which), written under `out`."""
    out.mkdir(parents=True)
    templates = scanned_templates(pipelines)
    for name, text in templates.items():
        (out / name).write_text(text, encoding="utf-8")
    return sorted(templates)


def run_checkov(checkov: str, directory: Path) -> dict[str, Any]:
    """checkov's JSON report for the CloudFormation templates under `directory`, offline."""
    command = [checkov, "-d", str(directory), "--framework", "cloudformation", "-o", "json", "--compact"]
    command += ["--skip-download"]  # no guidelines or policies fetched from a platform: the same checks every run
    try:
        run = subprocess.run(command, capture_output=True, text=True, timeout=CHECKOV_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ScanError(f"{checkov}: {exc}") from exc
    try:
        report: Any = json.loads(run.stdout)
    except json.JSONDecodeError as exc:
        raise ScanError(f"checkov exited {run.returncode} without a report: {run.stderr.strip()[-2000:]}") from exc
    if isinstance(report, list):  # one report per framework
        report = next((r for r in report if isinstance(r, dict) and r.get("check_type") == "cloudformation"), None)
    if not isinstance(report, dict) or "results" not in report:
        raise ScanError(f"checkov found no CloudFormation template under {directory}")
    return report


class ScanError(Exception):
    """checkov could not be run or gave no report."""


def findings(report: dict[str, Any]) -> list[Finding]:
    """Every failed and every skipped check of the report."""
    results = report["results"]
    out = []
    for key in ("failed_checks", "skipped_checks"):
        for check in results.get(key, []):
            skipped = key == "skipped_checks"  # a skip carries its Metadata comment; a failure has none
            reason = str((check.get("check_result") or {}).get("suppress_comment") or "") if skipped else None
            out.append(
                Finding(
                    check["check_id"],
                    check.get("check_name", ""),
                    check["file_path"].lstrip("/"),
                    check["resource"],
                    reason,
                )
            )
    return out


def checked_templates(report: dict[str, Any]) -> set[str]:
    """The templates checkov ran at least one check on."""
    results = report["results"]
    return {
        check["file_path"].lstrip("/")
        for key in ("passed_checks", "failed_checks", "skipped_checks")
        for check in results.get(key, [])
    }


def problems(report: dict[str, Any], templates: list[str]) -> list[str]:
    """What would let a finding pass unseen: a template checkov did not parse, or ran no check on."""
    lines = [
        f"{t}: not scanned (checkov ran no check on it)" for t in sorted(set(templates) - checked_templates(report))
    ]
    parse_errors = report.get("summary", {}).get("parsing_errors", 0)
    if parse_errors:
        lines.append(f"checkov could not parse {parse_errors} templates")
    return lines


def render(found: list[Finding], report: dict[str, Any], templates: list[str], seconds: float) -> list[str]:
    """The summary line, one row per check and verdict, then every finding not accepted."""
    summary = report.get("summary", {})
    accepted = [f for f in found if f.accepted]
    refused = [f for f in found if not f.accepted]
    lines = [
        f"checkov {summary.get('checkov_version', '?')}: {len(templates)} templates, "
        f"{summary.get('resource_count', '?')} resources, {summary.get('passed', 0)} checks passed, "
        f"{len(refused)} findings not accepted, {len(accepted)} accepted with a reason ({seconds:.0f} s)",
    ]
    rows = Counter((f.check, "accepted" if f.accepted else "FINDING", f.name) for f in found)
    if rows:
        lines.append(f"{'check':<13} {'verdict':<9} {'count':>5}  what")
        for (check, verdict, name), count in sorted(rows.items(), key=lambda row: (row[0][1] != "FINDING", row)):
            lines.append(f"{check:<13} {verdict:<9} {count:>5}  {name}")
    for f in sorted(refused, key=lambda f: (f.template, f.resource, f.check)):
        why = "skipped without a reason" if f.reason is not None else "failed"
        lines.append(f"{f.template}: {f.resource}: {f.check} {why}: {f.name}")
    return lines


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkov", required=True, help="the checkov executable (scripts/scan provides its own)")
    parser.add_argument("--pipelines", type=Path, default=REPO / "pipelines.d", help="pipeline files to synthesize")
    args = parser.parse_args(argv)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="pipectl-scan-") as scratch:
        directory = Path(scratch) / "templates"
        try:
            templates = write_templates(args.pipelines, directory)
        except SpecErrors as exc:  # each line names the file, line and column
            print(exc, file=sys.stderr)
            return 2
        try:
            report = run_checkov(args.checkov, directory)
        except ScanError as exc:
            print(f"scan: {exc}", file=sys.stderr)
            return 3
    found = findings(report)
    for line in render(found, report, templates, time.monotonic() - started):
        print(line)
    unseen = problems(report, templates)
    for line in unseen:
        print(line)
    return 1 if unseen or any(not f.accepted for f in found) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
