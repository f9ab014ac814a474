"""Deploy order: change sets only for stacks whose dependencies are deployed as built, the rest made by apply.

CloudFormation resolves `Fn::ImportValue` when a change set is created; moto does it only when the
change set runs. The ImportRule (a botocore event hook, see conftest) fails CreateChangeSet the way
CloudFormation does, so these tests fail when a change set is made before the exports it imports.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from generator.deploy import cfn
from generator.deploy.apply import apply_plan
from generator.deploy.aws import Aws
from generator.deploy.deployed import read_deployed
from generator.deploy.errors import RefusedError, StalePlanError
from generator.deploy.plan import Plan, make_plan, read_plan, write_plan
from generator.deploy.progress import NullProgress
from tests.deploy.conftest import Build, ImportRule, queue

PREFIX = "pipectl-shop-test"
STORAGE, INGESTION, PROCESSING, MONITORING = (
    f"{PREFIX}-{k}" for k in ("storage", "ingestion", "processing", "monitoring")
)


@pytest.fixture
def rule(aws: Aws, moto_url: str) -> ImportRule:
    """CloudFormation's import rule on the controller's CloudFormation client."""
    found = ImportRule(moto_url)
    found.install(aws.cfn().write.meta.events)
    return found


@pytest.fixture
def shop(build: Build) -> Build:
    build.console()
    build.pipeline("shop")
    return build


def actions(plan: Plan) -> dict[str, str]:
    return {s.name: str(s.action) for s in plan.stacks}


def statuses(aws: Aws) -> dict[str, str]:
    return {name: s.status for name, s in read_deployed(aws, ("eu-west-1",)).items()}


def test_the_import_rule_fails_a_change_set_made_before_the_export_exists(aws: Aws, shop: Build, rule: ImportRule):
    """What plan did before ordering: storage's change set exists but is not executed, so its exports do not."""
    manifest = shop.write()
    storage, processing = manifest[STORAGE], manifest[PROCESSING]
    cfn.create_change_set(aws, storage, {"TemplateBody": manifest.template_body(storage)}, "early", True, "r")
    with pytest.raises(ClientError, match=f"No export named {STORAGE}:QueueName found"):
        cfn.create_change_set(aws, processing, {"TemplateBody": manifest.template_body(processing)}, "early", True, "r")
    assert rule.refused == [PROCESSING]


def test_a_first_plan_defers_importers_and_apply_brings_everything_up(
    aws: Aws, shop: Build, rule: ImportRule, tmp_path: Path
) -> None:
    manifest = shop.write()
    plan = make_plan(aws, manifest, "one")

    assert actions(plan) == {
        "pipectl-console": "create",
        STORAGE: "create",
        INGESTION: "create-after",
        PROCESSING: "create-after",
        MONITORING: "create-after",
    }
    assert plan.summary() == "5 to create (3 after their dependencies), 0 to update, 0 unchanged"
    processing = plan.get(PROCESSING)
    assert processing is not None and processing.change_set is None and processing.after == [STORAGE]
    body = (manifest.root / manifest[PROCESSING].template).read_bytes()
    assert processing.template_sha256 == hashlib.sha256(body).hexdigest()
    assert processing.hash == manifest[PROCESSING].hash  # the spec-hash, as for every stack
    assert [(c.resource, c.type, c.action) for c in processing.changes] == [
        ("DeadLetterQueue", "AWS::SQS::Queue", "Add"),
        ("EnrichRole", "AWS::IAM::Role", "Add"),
    ]
    assert plan.get(MONITORING).after == [INGESTION, PROCESSING]  # type: ignore[union-attr]
    _, md = write_plan(plan, manifest, tmp_path)
    text = md.read_text()
    assert f"## {PROCESSING} — create after {STORAGE}" in text
    assert f"Change set created at apply time, once {STORAGE} succeeded" in text
    assert f"sha256 `{processing.template_sha256}`" in text
    assert "2 resources: 1 AWS::IAM::Role, 1 AWS::SQS::Queue" in text  # a new stack, summarised by type
    assert rule.checked == []  # no change set importing anything was made by plan

    progress = NullProgress()
    result = apply_plan(aws, manifest, read_plan(tmp_path / "plan.json"), progress)

    assert result.ok, result.stacks
    assert {n: (r.action, r.result) for n, r in result.stacks.items()} == {
        n: (a, "done") for n, a in actions(plan).items()
    }
    assert result.stacks[PROCESSING].change_set.startswith("arn:aws:cloudformation:")
    assert set(statuses(aws).values()) == {"CREATE_COMPLETE"}
    assert sorted(rule.checked) == [MONITORING, PROCESSING] and rule.refused == []
    assert f"{PROCESSING}: change set pipectl-one created now that {STORAGE} succeeded: 2 change(s)" in progress.lines
    assert set(actions(make_plan(aws, manifest, "two")).values()) == {"none"}


def test_a_template_changed_in_build_after_the_plan_is_refused_naming_its_hash(
    aws: Aws, shop: Build, rule: ImportRule
) -> None:
    manifest = shop.write()
    plan = make_plan(aws, manifest, "one")
    approved = plan.get(PROCESSING).template_sha256  # type: ignore[union-attr]
    path = manifest.root / manifest[PROCESSING].template
    template = json.loads(path.read_text())
    template["Resources"]["Unreviewed"] = {"Type": "AWS::SNS::Topic"}
    path.write_text(json.dumps(template))
    now = hashlib.sha256(path.read_bytes()).hexdigest()

    result = apply_plan(aws, manifest, plan)

    assert {n: r.result for n, r in result.stacks.items()} == {
        "pipectl-console": "done",
        STORAGE: "done",
        INGESTION: "done",
        PROCESSING: "failed",
        MONITORING: "skipped",
    }
    detail = result.stacks[PROCESSING].detail
    assert f"has sha256 {now}, but the plan approved sha256 {approved}" in detail
    assert PROCESSING not in statuses(aws)  # no change set was made, nothing was created


def test_a_deferred_stack_whose_dependency_fails_is_skipped(aws: Aws, shop: Build) -> None:
    """storage holds a bucket S3 refuses to create (a one-letter name): its stack fails when the change set runs."""
    storage = shop.stacks[STORAGE]["template"]
    storage["Resources"]["Broken"] = {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "x"}}
    manifest = shop.write()
    plan = make_plan(aws, manifest, "one")
    assert actions(plan)[INGESTION] == "create-after"
    progress = NullProgress()

    result = apply_plan(aws, manifest, plan, progress)

    assert {n: r.result for n, r in result.stacks.items()} == {
        "pipectl-console": "done",
        STORAGE: "failed",
        INGESTION: "skipped",
        PROCESSING: "skipped",
        MONITORING: "skipped",
    }
    assert f"{INGESTION}: skipped ({STORAGE} failed)" in progress.lines
    assert not {INGESTION, PROCESSING, MONITORING} & set(statuses(aws))


def deploy(aws: Aws, build: Build) -> None:
    manifest = build.write()
    result = apply_plan(aws, manifest, make_plan(aws, manifest, "base"))
    assert result.ok, result.stacks


def test_an_update_importing_a_new_export_waits_for_it(aws: Aws, shop: Build, rule: ImportRule) -> None:
    """storage adds an export and processing starts importing it: processing's change set can only be made
    once storage's update ran. (Changing the value of an export that is imported is refused by
    CloudFormation itself, whatever the order.)"""
    deploy(aws, shop)
    shop.stacks[STORAGE]["template"]["Outputs"]["Generation"] = {
        "Value": "g2",
        "Export": {"Name": f"{STORAGE}:Generation"},
    }
    processing = shop.stacks[PROCESSING]["template"]["Resources"]
    processing["DeadLetterQueue"]["Properties"]["MessageRetentionPeriod"] = 1209600
    processing["Extra"] = {
        "Type": "AWS::SNS::Topic",
        "Properties": {"TopicName": {"Fn::Join": ["-", ["shop", {"Fn::ImportValue": f"{STORAGE}:Generation"}]]}},
    }
    del processing["EnrichRole"]
    manifest = shop.write()

    plan = make_plan(aws, manifest, "two")

    assert {n: a for n, a in actions(plan).items() if a != "none"} == {STORAGE: "update", PROCESSING: "update-after"}
    planned = plan.get(PROCESSING)
    assert planned is not None and planned.after == [STORAGE] and planned.change_set is None
    assert planned.fingerprint  # the deployed stack as planned: apply refuses it if it moved on
    # from the deployed template (GetTemplate), confirmed by the change set apply makes
    assert [(c.resource, c.action, c.replacement, c.note) for c in planned.changes] == [
        ("DeadLetterQueue", "Modify", "unknown", "to be confirmed by the change set"),
        ("EnrichRole", "Remove", "n/a", "to be confirmed by the change set"),
        ("Extra", "Add", "n/a", "to be confirmed by the change set"),
    ]
    result = apply_plan(aws, manifest, plan)
    assert result.ok, result.stacks
    assert result.stacks[PROCESSING].action == "update-after"
    assert rule.seen[(PROCESSING, f"{STORAGE}:Generation")] == "g2" and rule.refused == []
    topic = aws.cfn().describe_stack_resource(StackName=PROCESSING, LogicalResourceId="Extra")
    assert topic["StackResourceDetail"]["PhysicalResourceId"].endswith(":shop-g2")
    assert set(actions(make_plan(aws, manifest, "three")).values()) == {"none"}


def test_a_create_only_change_in_a_deferred_update_is_flagged_as_a_replacement(aws: Aws, shop: Build) -> None:
    deploy(aws, shop)
    shop.stacks[STORAGE]["template"]["Resources"]["Extra"] = {"Type": "AWS::SNS::Topic"}
    queue = shop.stacks[PROCESSING]["template"]["Resources"]["DeadLetterQueue"]["Properties"]
    queue["FifoQueue"] = True
    plan = make_plan(aws, shop.write(), "two")
    assert [(c.resource, c.replacement) for c in plan.get(PROCESSING).changes] == [  # type: ignore[union-attr]
        ("DeadLetterQueue", "True")
    ]


def with_replacement_reported(aws: Aws, logical: str) -> None:
    """moto leaves `Replacement` empty in change sets; AWS fills it. Fault injection of the state AWS
    reports (after-call hook on DescribeChangeSet): `logical` is replaced."""

    def report(parsed: dict[str, Any], **_: Any) -> None:
        for change in parsed.get("Changes") or []:
            detail = change.get("ResourceChange") or {}
            if detail.get("LogicalResourceId") == logical and detail.get("Action") == "Modify":
                detail["Replacement"] = "True"

    aws.cfn().read.meta.events.register("after-call.cloudformation.DescribeChangeSet", report)
    aws.cfn().write.meta.events.register("after-call.cloudformation.DescribeChangeSet", report)


def stateful_importer(build: Build) -> Build:
    """A stack that imports storage's queue name and holds a retained bucket."""
    build.console()
    build.pipeline("shop", kinds=("storage", "processing"))
    resources = build.stacks[PROCESSING]["template"]["Resources"]
    resources["Archive"] = {
        "Type": "AWS::S3::Bucket",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {"Tags": [{"Key": "k", "Value": "1"}]},
    }
    build.stacks[PROCESSING]["stateful"] = ["Archive"]
    return build


def test_data_at_risk_in_a_change_set_made_at_apply_time_is_refused_without_allow_replace(aws: Aws, build: Build):
    deploy(aws, stateful_importer(build))
    build.stacks[STORAGE]["template"]["Resources"]["Extra"] = {"Type": "AWS::SNS::Topic"}
    build.stacks[PROCESSING]["template"]["Resources"]["Archive"]["Properties"]["Tags"][0]["Value"] = "2"
    manifest = build.write()
    plan = make_plan(aws, manifest, "two")
    archive = plan.get(PROCESSING).changes[0]  # type: ignore[union-attr]
    assert (archive.resource, archive.replacement, archive.data_at_risk) == ("Archive", "unknown", False)
    with_replacement_reported(aws, "Archive")

    result = apply_plan(aws, manifest, plan)

    assert {n: r.result for n, r in result.stacks.items()} == {
        "pipectl-console": "unchanged",
        STORAGE: "done",
        PROCESSING: "failed",
    }
    detail = result.stacks[PROCESSING].detail
    assert "would lose data, so it was not executed: Archive (AWS::S3::Bucket) would be replaced" in detail
    assert "--allow-replace" in detail
    assert statuses(aws)[PROCESSING] == "CREATE_COMPLETE"  # untouched

    again = make_plan(aws, manifest, "three")
    assert actions(again)[PROCESSING] == "update"  # storage is in sync now: an ordinary change set
    with pytest.raises(RefusedError, match="Archive"):
        apply_plan(aws, manifest, again)


def test_a_deferred_update_whose_stack_moved_on_since_the_plan_refuses_the_whole_apply(aws: Aws, shop: Build):
    deploy(aws, shop)
    shop.stacks[STORAGE]["template"]["Resources"]["Extra"] = {"Type": "AWS::SNS::Topic"}
    shop.stacks[PROCESSING]["template"]["Resources"]["Extra"] = {"Type": "AWS::SNS::Topic"}
    manifest = shop.write()
    plan = make_plan(aws, manifest, "two")
    assert actions(plan)[PROCESSING] == "update-after"
    deployed = aws.cfn().get_template(StackName=PROCESSING)["TemplateBody"]
    by_hand = json.loads(deployed) if isinstance(deployed, str) else deployed
    by_hand["Resources"]["ByHand"] = {"Type": "AWS::SNS::Topic"}
    out_of_band = aws.cfn().create_change_set(
        StackName=PROCESSING,
        ChangeSetName="by-hand",
        ChangeSetType="UPDATE",
        Capabilities=["CAPABILITY_IAM"],
        TemplateBody=json.dumps(by_hand),
        Tags=[{"Key": "by", "Value": "hand"}],
    )
    aws.cfn().execute_change_set(ChangeSetName=out_of_band["Id"])

    with pytest.raises(StalePlanError, match=f"{PROCESSING}: the stack was updated since the plan"):
        apply_plan(aws, manifest, plan)
    assert "Extra" not in json.dumps(aws.cfn().get_template(StackName=STORAGE)["TemplateBody"])  # nothing applied


def test_a_dependency_outside_an_environment_plan_that_is_not_deployed_cannot_be_planned(aws: Aws, build: Build):
    build.console()
    build.pipeline("shop", env="prod", kinds=("storage",))
    build.add(
        INGESTION,
        "ingestion",
        {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}},
        "shop",
        "test",
        depends_on=("pipectl-shop-prod-storage",),
    )
    plan = make_plan(aws, build.write(), "one", env="test")
    ingestion = plan.get(INGESTION)
    assert ingestion is not None and ingestion.action == "error"
    assert ingestion.reason == (
        "depends on pipectl-shop-prod-storage, which this plan does not cover and which is "
        "not deployed as built; plan without --env first"
    )


def test_a_recovery_refuses_a_template_changed_since_the_plan_before_deleting_anything(aws: Aws, shop: Build):
    """A recovery's change set is made at apply time too: held to the template hash the plan recorded."""
    manifest = shop.write()
    failing = {"Resources": {"Q": queue(), "R": queue({"Fn::GetAtt": ["Q", "NoSuchAttribute"]})}}  # type: ignore[arg-type]
    aws.cfn().create_stack(StackName=INGESTION, TemplateBody=json.dumps(failing))
    assert statuses(aws)[INGESTION] == "ROLLBACK_COMPLETE"  # a failed create, as CloudFormation leaves it
    plan = make_plan(aws, manifest, "one")
    assert plan.get(INGESTION).recovery == "delete-and-create"  # type: ignore[union-attr]
    path = manifest.root / manifest[INGESTION].template
    path.write_text(path.read_text().replace("AWS::SNS::Topic", "AWS::SQS::Queue"))

    result = apply_plan(aws, manifest, plan)

    assert result.stacks[INGESTION].result == "failed" and result.stacks[PROCESSING].result == "done"
    assert "but the plan approved sha256" in result.stacks[INGESTION].detail
    assert statuses(aws)[INGESTION] == "ROLLBACK_COMPLETE"  # the leftover is still there, untouched
