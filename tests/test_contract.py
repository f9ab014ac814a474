"""The contract module is the one home of the facts every layer shares; these tests keep it that way.

Each drift the contract fixed has a test here or beside the code it concerns: the stateful types (one
set, so plan.md flags user pools and repositories), the control plane's state-table keys (the recorder's
are pinned in tests/stacks/test_recorder.py), the telemetry namespace, and the per-kind dependency table
that derived dependencies replaced (tests/stacks/test_dependencies.py).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from generator import contract
from generator.contract import STATEFUL_TYPES, StackKind, Tag
from generator.deploy.changes import from_change_set, resource_change
from generator.manifest_model import StackEntry

PACKAGE = Path(contract.__file__).resolve().parent
# Values only the contract may spell out: every other module imports them.
CONTRACT_VALUES = {str(tag) for tag in Tag} | {contract.CONTROL_PIPELINE, contract.CONTROL_ENV, "_console"}
CONTRACT_VALUES |= {str(metric) for metric in contract.TelemetryMetric}
# Names that held drifted copies of contract facts.
RETYPED_NAMES = {
    "STATEFUL_TYPES",
    "TELEMETRY_NAMESPACE",
    "NAMESPACE",
    "KINDS",
    "DEPENDS_ON",
    "KIND_DEPENDS_ON",
    "STACK_PREFIX",
    "CONSOLE_STACK",
    "CONTROL",
    "CONTROL_STACKS",
    "CONSOLE_PIPELINE",
    "LOCK_KEY",
    "STATE_TABLE_OUTPUT",
}


def _modules() -> list[Path]:
    return [p for p in sorted(PACKAGE.rglob("*.py")) if p != Path(contract.__file__).resolve()]


def _docstrings(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        first = body[0] if isinstance(body, list) and body else None
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
            out.add(id(first.value))
    return out


def _literal(node: ast.AST) -> bool:
    """A constant, or a tuple/list/set/dict/frozenset(...) of constants: a value typed out, not imported."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return all(_literal(item) for item in node.elts)
    if isinstance(node, ast.Dict):
        return all(k is not None and _literal(k) and _literal(v) for k, v in zip(node.keys, node.values, strict=True))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "frozenset":
        return all(_literal(arg) for arg in node.args)
    return False


def test_no_module_spells_out_a_tag_key_or_a_state_key_of_the_contract() -> None:
    found = []
    for path in _modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = _docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and node.value in CONTRACT_VALUES and id(node) not in docstrings:
                found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: {node.value!r}")
    assert found == []


def test_no_module_keeps_its_own_copy_of_a_contract_fact() -> None:
    found = []
    for path in _modules():
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            targets = (
                node.targets
                if isinstance(node, ast.Assign)
                else [node.target]
                if isinstance(node, ast.AnnAssign)
                else []
            )
            value = node.value if isinstance(node, ast.Assign | ast.AnnAssign) else None
            for target in targets:
                if (
                    isinstance(target, ast.Name)
                    and target.id in RETYPED_NAMES
                    and value is not None
                    and _literal(value)
                ):
                    found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: {target.id}")
    assert found == []


def test_the_contract_sits_below_every_layer() -> None:
    tree = ast.parse(Path(contract.__file__).read_text(encoding="utf-8"))
    imported = [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)] + [
        alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
    ]
    assert not [name for name in imported if name.split(".")[0] == "generator"]


def test_stack_names_and_exports_round_trip() -> None:
    name = contract.pipeline_stack_name("web-shop", "prod", StackKind.STORAGE)
    assert name == "pipectl-web-shop-prod-storage"
    assert contract.exporting_stack(contract.export_name(name, "KeyArn")) == name
    assert contract.exporting_stack("someone-else:Thing") is None
    assert contract.exporting_stack("pipectl-x-prod-storage:a:b") is None
    assert set(contract.CONTROL_STACKS.values()) == set(contract.CONTROL_KINDS)


def test_plan_flags_user_pools_and_repositories_as_data_at_risk() -> None:
    """Drift fixed: the plan's own copy of the stateful types left out user pools and repositories."""
    for kind in ("AWS::Cognito::UserPool", "AWS::CodeCommit::Repository"):
        assert kind in STATEFUL_TYPES
        raw = {
            "ResourceChange": {
                "Action": "Modify",
                "LogicalResourceId": "Thing",
                "ResourceType": kind,
                "Replacement": "True",
            }
        }
        assert from_change_set(raw, ()).data_at_risk, kind
    assert not resource_change("Topic", "AWS::SNS::Topic", "Remove", "n/a", ()).data_at_risk


def test_the_control_plane_is_filed_under_one_key() -> None:
    """Drift fixed: the controller filed the console under `_console`/`_`, the recorder under `_control`."""
    console = StackEntry(
        name=contract.CONSOLE_STACK,
        kind=StackKind.CONSOLE,
        pipeline=None,
        env=None,
        account=None,
        region="eu-west-1",
        template="console.json",
        hash="h",
        retain=True,
    )
    assert (
        (console.owner, console.state_env)
        == (contract.CONTROL_PIPELINE, contract.CONTROL_ENV)
        == ("_control", "_control")
    )


def test_the_dashboards_read_only_the_metrics_the_controller_publishes() -> None:
    templates = PACKAGE.parent / "templates"
    read = set()
    for name in ("dashboard.json.j2", "console_dashboard.json.j2"):
        text = (templates / name).read_text(encoding="utf-8")
        read |= set(re.findall(r'telemetry_namespace, "(\w+)"', text)) | set(re.findall(r'search\("(\w+)"', text))
    assert read and read <= {str(metric) for metric in contract.TelemetryMetric}
