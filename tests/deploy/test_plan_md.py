"""Golden plan.md files: what a reviewer reads for six kinds of change, from real synthesized templates.

Each case starts from the shipped `shop` pipeline: the deployed side is what synth made from the
file as it was (or a template an earlier release wrote, edited in the way named), the new side what
synth makes now. Rows come from diffing the two templates (`rows_between`, the listing plan makes for
stacks whose change set apply creates), then `annotate` and `render_plan`, exactly as `plan` does.

Regenerate with:  PIPECTL_UPDATE_GOLDEN=1 pytest tests/deploy/test_plan_md.py
"""

from __future__ import annotations

import copy
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from generator.deploy.apply import apply_now
from generator.deploy.aws import Aws
from generator.deploy.changes import PlanAction
from generator.deploy.manifest import Manifest, load_manifest
from generator.deploy.plan import make_plan, write_plan
from generator.deploy.report import render_plan
from generator.deploy.results import Plan, StackPlan
from generator.deploy.review import annotate, rows_between
from generator.spec.loader import load_directory
from generator.stacks.synth import synthesize
from tests.deploy.conftest import Build

REPO = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent / "golden_plans"
UPDATE = os.environ.get("PIPECTL_UPDATE_GOLDEN") == "1"
ACCOUNT = "123456789012"
REVISION = "1a2b3c4"

Templates = dict[str, dict[str, Any]]


def _synth(tmp: Path, edit: Callable[[str], str] = lambda text: text) -> Manifest:
    source = tmp / "pipelines.d"
    source.mkdir(parents=True)
    for name in ("_defaults.yaml", "_console.yaml"):
        shutil.copy(REPO / "pipelines.d" / name, source / name)
    (source / "shop.yaml").write_text(edit((REPO / "pipelines.d" / "shop.yaml").read_text()))
    synthesize(load_directory(source, "pipelines.d"), tmp / "build")
    return load_manifest(tmp / "build")


def _templates(manifest: Manifest) -> Templates:
    return {s.name: json.loads(manifest.template_body(s)) for s in manifest.stacks}


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[Manifest, Templates]:
    manifest = _synth(tmp_path_factory.mktemp("shop"))
    return manifest, _templates(manifest)


def _plan(manifest: Manifest, deployed: Templates, edited: Templates | None = None, target: str = "local") -> Plan:
    """What plan reports when `deployed` runs and `manifest` is the new build (stacks not in `deployed` are new).

    `edited` replaces some new templates: a change an edit of the pipeline file cannot make today.
    """
    stacks: list[StackPlan] = []
    changing: set[str] = set()
    for spec in manifest.stacks:
        new = (edited or {}).get(spec.name) or json.loads(manifest.template_body(spec))
        old = deployed.get(spec.name)
        if old == new:
            stacks.append(StackPlan(spec.name, PlanAction.NONE, hash=spec.hash, region=spec.region))
            continue
        changing.add(spec.name)
        waits = sorted(d for d in spec.depends_on if d in changing)
        action = PlanAction.CREATE if old is None else PlanAction.UPDATE
        rows = annotate(rows_between(old, new, spec.stateful, ""), old, new)
        stack_id = f"arn:aws:cloudformation:{spec.region}:{ACCOUNT}:stack/{spec.name}/0001"
        stacks.append(
            StackPlan(
                spec.name,
                action.after() if waits else action,
                change_set=None
                if waits
                else f"arn:aws:cloudformation:{spec.region}:{ACCOUNT}:changeSet/pipectl-{REVISION}/0002",
                change_set_name=None if waits else f"pipectl-{REVISION}",
                stack_id=stack_id,
                hash=spec.hash,
                changes=rows,
                region=spec.region,
                pipeline=spec.pipeline,
                env=spec.env,
                kind=spec.kind,
                after=waits,
                template_sha256="0" * 64 if waits else None,
            )
        )
    return Plan(REVISION, "2026-01-01T00:00:00Z", target, "eu-west-1", stacks)


def _check(name: str, text: str) -> None:
    path = GOLDEN / f"{name}.md"
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"{path.name} missing: regenerate the golden plans"
    assert text == path.read_text(), f"{path.name} differs: regenerate and review the diff"


def _without(templates: Templates, prefix: str) -> Templates:
    return {name: t for name, t in templates.items() if not name.startswith(prefix)}


def _policy(template: dict[str, Any], role: str, sid: str) -> dict[str, Any]:
    statements = template["Resources"][role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    found: dict[str, Any] = next(s for s in statements if s.get("Sid") == sid)
    return found


def test_first_deploy_is_summarised_per_stack(shop: tuple[Manifest, Templates]) -> None:
    manifest, templates = shop
    text = render_plan(_plan(manifest, _without(templates, "pipectl-shop-")), manifest)
    _check("first_deploy", text)
    assert "| AWS::IAM::Role |" not in text, "a new stack lists resource types with counts, not one row each"
    assert "resources: " in text and "<details>" in text
    assert "console.aws.amazon.com" not in text, "no AWS console links on the local target"


def test_scaling_edit_shows_before_and_after(shop: tuple[Manifest, Templates], tmp_path: Path) -> None:
    templates = shop[1]
    edited = _synth(tmp_path, lambda text: text.replace("max: 8,", "max: 10,"))
    text = render_plan(_plan(edited, templates), edited)
    _check("scaling", text)
    assert "| `MaxCapacity` | `8` | `10` |  |" in text
    assert "No access widened." in text and "No data at risk" in text


def test_iam_widening_lists_the_added_grant(shop: tuple[Manifest, Templates]) -> None:
    manifest, templates = shop
    name = "pipectl-shop-prod-processing"
    deployed = copy.deepcopy(templates)
    _policy(deployed[name], "SinkRole", "WriteRawObjects")["Action"] = ["s3:PutObject"]
    new = copy.deepcopy(templates)
    _policy(new[name], "SinkRole", "WriteRawObjects")["Action"] = ["s3:GetObject", "s3:PutObject"]
    plan = _plan(manifest, deployed, {name: new[name]})
    text = render_plan(plan, manifest)
    _check("iam_widening", text)
    assert (
        "**Access widened**" in text
        and "SinkRole (AWS::IAM::Role) newly allows `s3:GetObject on ${ImportValue(" in text
    )
    assert "**Access narrowed**" not in text
    assert "| added | policy sink-function WriteRawObjects | Allow |" in text


def test_iam_narrowing_is_not_called_widening(shop: tuple[Manifest, Templates]) -> None:
    manifest, templates = shop
    name = "pipectl-shop-prod-processing"
    deployed = copy.deepcopy(templates)
    _policy(deployed[name], "SinkRole", "WriteRawObjects")["Action"] = ["s3:GetObject", "s3:PutObject"]
    text = render_plan(_plan(manifest, deployed), manifest)
    _check("iam_narrowing", text)
    assert "No access widened." in text and "**Access narrowed**" in text
    assert "| SinkRole | AWS::IAM::Role | Modify | False | narrowing |" in text
    assert "SinkRole (AWS::IAM::Role) no longer allows `s3:GetObject on" in text


def test_security_group_change_as_rules(shop: tuple[Manifest, Templates]) -> None:
    manifest, templates = shop
    name = "pipectl-shop-prod-ingestion"
    new = copy.deepcopy(templates[name])
    group = new["Resources"]["LoadBalancerSecurityGroup"]["Properties"]
    group["SecurityGroupIngress"] = [
        {"CidrIp": "0.0.0.0/0", "Description": "HTTP (IPv4)", "FromPort": 80, "IpProtocol": "tcp", "ToPort": 80},
        *group["SecurityGroupIngress"][:1],
    ]
    text = render_plan(_plan(manifest, templates, {name: new}), manifest)
    _check("security_group", text)
    assert "| added | ingress | `tcp` | `80` | `0.0.0.0/0` |" in text
    assert "| removed | ingress | `tcp` | `443` | `::/0` |" in text
    assert "LoadBalancerSecurityGroup | AWS::EC2::SecurityGroup | Modify | False | widening and narrowing |" in text


def test_stateful_replacement_is_data_at_risk(shop: tuple[Manifest, Templates]) -> None:
    manifest, templates = shop
    name = "pipectl-shop-prod-storage"
    new = copy.deepcopy(templates[name])
    new["Resources"]["EventStream"]["Properties"]["Name"] = "shop-prod-events"
    plan = _plan(manifest, templates, {name: new}, target="aws")
    text = render_plan(plan, manifest)
    _check("stateful_replacement", text)
    risk = text.index("**Data at risk**")
    assert risk < text.index("## pipectl-shop-prod-storage")
    assert "stateful EventStream (AWS::Kinesis::Stream) is replaced (replacement: True), because Name changed" in text
    assert "| `Name` | `(none)` | `shop-prod-events` | **yes** |" in text
    assert "console.aws.amazon.com" in text, "the AWS target links each change set"


def test_a_local_plan_diffs_the_deployed_template(aws: Aws, build: Build, tmp_path: Path) -> None:
    """The whole path on the local target: its change sets carry no property values, so plan reads
    the deployed template back (GetTemplate) and plan.md shows each changed property."""
    build.pipeline("shop", kinds=("storage",))
    assert apply_now(aws, build.write(), "one")[1].ok
    storage = build.stacks["pipectl-shop-test-storage"]["template"]["Resources"]
    storage["Queue"]["Properties"]["VisibilityTimeout"] = 120
    manifest = build.write()
    plan = make_plan(aws, manifest, "two")
    _, md = write_plan(plan, manifest, tmp_path)
    text = md.read_text()
    stack = plan.get("pipectl-shop-test-storage")
    assert stack is not None and [(c.resource, c.replacement) for c in stack.changes] == [("Queue", "False")]
    assert "| `VisibilityTimeout` | `(none)` | `120` |  |" in text
    assert "console.aws.amazon.com" not in text and "on the local target" in text
