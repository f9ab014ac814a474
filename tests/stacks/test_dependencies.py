"""Dependencies derived from the templates' imports: what synth records, and what it refuses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from troposphere import Export, ImportValue, Output, Sub
from troposphere.sns import Topic

from generator.contract import StackKind
from generator.dependencies import DependencyError, check_imports, template_exports, template_imports
from generator.spec.loader import load_directory
from generator.stacks import common
from generator.stacks.synth import build_all, stack_build

REPO = Path(__file__).resolve().parents[2]


def _import_names(node: Any) -> set[str]:
    """Every Fn::ImportValue argument, read straight from the JSON (the examples only use plain names)."""
    if isinstance(node, dict):
        found = {node["Fn::ImportValue"]} if "Fn::ImportValue" in node else set()
        return found.union(*(_import_names(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(_import_names(value) for value in node))
    return set()


@pytest.fixture(scope="module")
def builds() -> list[Any]:
    return build_all(load_directory(REPO / "pipelines.d", "pipelines.d"))


def test_no_template_imports_from_a_stack_it_does_not_depend_on(builds: list[Any]) -> None:
    names = [b.entry.name for b in builds]
    for build in builds:
        imported = _import_names(json.loads(build.text))
        owners = {name.split(":")[0] for name in imported}
        assert all(isinstance(name, str) for name in imported)
        assert set(build.entry.depends_on) == owners, build.entry.name  # exactly: nothing declared by hand
        assert set(build.entry.imports) == imported
        assert all(owner in names[: names.index(build.entry.name)] for owner in owners)  # manifest order
        for name in imported:
            owner = next(b for b in builds if b.entry.name == name.split(":")[0])
            assert name in owner.entry.exports


def test_the_pipeline_graph_is_what_the_templates_say(builds: list[Any]) -> None:
    graph = {b.entry.name.removeprefix("pipectl-shop-prod-"): b.entry.depends_on for b in builds}
    prefix = "pipectl-shop-prod-"
    assert graph["storage"] == ()
    assert graph["ingestion"] == (f"{prefix}storage",)
    assert graph["processing"] == (f"{prefix}storage",)
    assert graph["monitoring"] == (f"{prefix}ingestion", f"{prefix}processing", f"{prefix}storage")


def test_names_built_with_sub_join_and_ref_are_resolved() -> None:
    body = {
        "Parameters": {"Env": {"Type": "String", "Default": "prod"}},
        "Resources": {
            "A": {"Properties": {"X": {"Fn::ImportValue": {"Fn::Sub": "pipectl-shop-${Env}-storage:KeyArn"}}}},
            "B": {
                "Properties": {
                    "X": {"Fn::ImportValue": {"Fn::Join": ["-", ["pipectl-shop", {"Ref": "Env"}, "ingestion:Url"]]}}
                }
            },
            "C": {"Properties": {"X": {"Fn::ImportValue": {"Fn::Sub": ["${S}:Name", {"S": "pipectl-console"}]}}}},
        },
        "Outputs": {"Out": {"Value": "v", "Export": {"Name": {"Fn::Sub": "${AWS::StackName}:Out"}}}},
    }
    assert template_imports("pipectl-shop-prod-monitoring", body) == {
        "pipectl-console:Name": "pipectl-console",
        "pipectl-shop-prod-ingestion:Url": "pipectl-shop-prod-ingestion",
        "pipectl-shop-prod-storage:KeyArn": "pipectl-shop-prod-storage",
    }
    assert template_exports("pipectl-shop-prod-monitoring", body) == ("pipectl-shop-prod-monitoring:Out",)


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        (
            {"Fn::Sub": "pipectl-shop-${AWS::Region}-storage:KeyArn"},
            r"Resources\.A\.Properties\.X: .*found \$\{AWS::Region\}",
        ),
        ({"Ref": "NoDefault"}, "found Ref NoDefault"),
        ({"Fn::GetAtt": ["R", "Arn"]}, "expected a name synth can resolve"),
        (
            "other-stack:Value",
            "expected an export name `<stack>:<output>` of a pipectl stack, found 'other-stack:Value'",
        ),
        ("pipectl-shop-prod-monitoring:Own", "cannot import its own export"),
    ],
)
def test_an_import_synth_cannot_attribute_fails_loudly(argument: Any, message: str) -> None:
    body = {
        "Parameters": {"NoDefault": {"Type": "String"}},
        "Resources": {"A": {"Type": "X", "Properties": {"X": {"Fn::ImportValue": argument}}}},
    }
    with pytest.raises(DependencyError, match=message):
        template_imports("pipectl-shop-prod-monitoring", body)


def test_synth_refuses_a_template_with_an_unattributable_import() -> None:
    template = common.new_template("test")
    template.add_resource(Topic("Alarms", DisplayName=ImportValue(Sub("pipectl-shop-${AWS::Region}-storage:Name"))))
    with pytest.raises(
        DependencyError, match=r"pipectl-shop-prod-monitoring: Resources\.Alarms\.Properties\.DisplayName"
    ):
        stack_build(
            "pipectl-shop-prod-monitoring", StackKind.MONITORING, template, "m.json", "eu-west-1", {}, None, True
        )


def test_an_import_nobody_exports_fails_the_whole_synth() -> None:
    with pytest.raises(DependencyError, match="stack pipectl-a-prod-storage is not synthesized with it"):
        check_imports([("pipectl-a-prod-ingestion", {"pipectl-a-prod-storage:Key": "pipectl-a-prod-storage"}, ())])
    with pytest.raises(DependencyError, match="which stack pipectl-a-prod-storage does not export"):
        check_imports(
            [
                ("pipectl-a-prod-storage", {}, ("pipectl-a-prod-storage:Other",)),
                ("pipectl-a-prod-ingestion", {"pipectl-a-prod-storage:Key": "pipectl-a-prod-storage"}, ()),
            ]
        )


def test_an_export_synth_can_resolve_is_recorded() -> None:
    template = common.new_template("test")
    topic = template.add_resource(Topic("Alarms"))
    template.add_output(Output("TopicName", Value=topic.ref(), Export=Export(Sub("${AWS::StackName}:TopicName"))))
    built = stack_build(
        "pipectl-shop-prod-monitoring", StackKind.MONITORING, template, "m.json", "eu-west-1", {}, None, True
    )
    assert built.entry.exports == ("pipectl-shop-prod-monitoring:TopicName",)
    assert built.entry.depends_on == ()
