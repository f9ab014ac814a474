"""Run the robustness suites (hostile input, controller faults, data safety) and print one table.

Each row is a fault or input class: cases tried, cases that ended as promised (the test passed; an expected
failure naming a known defect is shown as such and is not as promised), and cases that lost data. A case lost data
when its test recorded `data_lost`, or when a data-safety case failed. Exit code 1 if any case did not
end as promised or lost data.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import pytest

# The suites and the existing tests elsewhere that already check one of the promised faults.
SUITES = [
    "tests/spec/test_hostile.py",
    "tests/deploy/test_faults.py",
    "tests/deploy/test_data_safety.py",
    "tests/deploy/test_prune.py",
    "tests/deploy/test_lock.py",
    "tests/deploy/test_aws.py::test_a_plan_and_apply_survive_throttling",
    "tests/deploy/test_apply.py::test_a_stack_that_moved_on_since_the_plan_is_refused",
    "tests/deploy/test_apply.py::test_a_stack_left_in_create_in_progress_by_a_killed_run_is_recreated",
    "tests/deploy/test_apply.py::test_a_failed_stack_stops_its_dependents_not_its_siblings_and_a_rerun_finishes",
    "tests/deploy/test_examples.py::test_a_run_killed_mid_apply_is_finished_by_the_next_run",
    "tests/deploy/test_examples.py::test_apply_refuses_a_stale_plan",
]
# Classes of tests that do not record one themselves, by a word of their name.
CLASS_BY_NAME = [
    ("killed_mid_apply", "SIGKILL mid-apply, then a rerun"),
    ("killed_run_is_recreated", "SIGKILL mid-apply, then a rerun"),
    ("killed_run", "lock left by a killed run"),
    ("live_lock", "lock left by a killed run"),
    ("heartbeat", "lock left by a killed run"),
    ("concurrent", "two applies at once"),
    ("second_apply", "two applies at once"),
    ("two_plans", "two applies at once"),
    ("throttling", "throttling on most calls"),
    ("stale", "stale change set"),
    ("moved_on", "stale change set"),
    ("failed_stack", "a failed stack"),
]
DATA_SAFETY_FILES = ("test_data_safety.py", "test_prune.py")


@dataclass
class Row:
    tried: int = 0
    promised: int = 0
    known: int = 0
    lost: int = 0


class Collector:
    """A pytest plugin: one outcome per test, with the class and data verdict the test recorded."""

    def __init__(self) -> None:
        self.cases: dict[str, dict[str, Any]] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        case = self.cases.setdefault(report.nodeid, {"ok": True, "ran": False, "known": "", "props": {}})
        case["props"].update(dict(report.user_properties))
        if report.when == "call" or (report.when == "setup" and not report.passed):
            case["ran"] = True
            if hasattr(report, "wasxfail") and report.skipped:
                case["known"] = str(report.wasxfail).removeprefix("reason: ")
            case["ok"] = case["ok"] and report.passed
        elif report.failed:
            case["ok"] = False


def fault_class(nodeid: str, props: dict[str, Any]) -> str:
    if "fault_class" in props:
        return str(props["fault_class"])
    name = nodeid.split("::")[-1].split("[")[0]
    if nodeid.split("::")[0].endswith(DATA_SAFETY_FILES):
        return "data safety: destroy, prune, stack policy, refused replacement"
    for word, label in CLASS_BY_NAME:
        if word in name:
            return label
    return "other: " + name.removeprefix("test_").replace("_", " ")[:60]


def tabulate(cases: dict[str, dict[str, Any]]) -> dict[str, Row]:
    rows: dict[str, Row] = defaultdict(Row)
    for nodeid, case in cases.items():
        if not case["ran"]:
            continue
        label = fault_class(nodeid, case["props"])
        row = rows[label]
        count = int(case["props"].get("cases", 1))
        row.tried += count
        row.promised += count if case["ok"] else 0
        row.known += int(bool(case["known"]))
        data_case = label.startswith("data safety") or nodeid.split("::")[0].endswith(DATA_SAFETY_FILES)
        row.lost += int(bool(case["props"].get("data_lost")) or (data_case and not case["ok"]))
    return dict(sorted(rows.items()))


def render(rows: dict[str, Row]) -> str:
    width = max([len("fault or input class"), *(len(label) for label in rows)])
    columns = f"{'tried':>5}  {'as promised':>11}  {'known defect':>12}  {'lost data':>9}"
    head = f"{'fault or input class':<{width}}  {columns}"
    lines = [head, "-" * len(head)]
    total = Row()
    for label, row in [*rows.items(), ("total", total)]:
        if label == "total":
            lines.append("-" * len(head))
        lines.append(f"{label:<{width}}  {row.tried:>5}  {row.promised:>11}  {row.known:>12}  {row.lost:>9}")
        if label != "total":
            total.tried, total.promised = total.tried + row.tried, total.promised + row.promised
            total.known, total.lost = total.known + row.known, total.lost + row.lost
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="auto", help="pytest-xdist workers (default: auto)")
    args = parser.parse_args(argv)
    collector = Collector()
    started = time.monotonic()
    code = pytest.main(
        ["-q", "-p", "no:cacheprovider", "-n", args.workers, "--dist", "loadscope", *SUITES], plugins=[collector]
    )
    rows = tabulate(collector.cases)
    print()
    print(render(rows))
    broken = sum(r.tried - r.promised for r in rows.values())
    lost = sum(r.lost for r in rows.values())
    for nodeid, case in sorted(collector.cases.items()):
        if case["known"]:
            print(f"\nknown defect, not as promised: {nodeid}\n  {case['known']}")
    print(
        f"\n{len(rows)} classes, {broken} case(s) not as promised, {lost} case(s) lost data, "
        f"in {time.monotonic() - started:.0f}s"
    )
    tried = sum(r.tried for r in rows.values())
    print(f"fault-report: {tried - broken} passed, {broken} failed")
    return 1 if broken or lost or code not in (0,) else 0


if __name__ == "__main__":
    sys.exit(main())
