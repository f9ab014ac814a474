"""What the controller relies on: refusing unsupported types, guards moto lacks, delay, change-set outputs."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from generator.deploy.local import (
    LocalSession,
    StackProtected,
    background_status,
    check_stack_policy,
    check_termination_protection,
    local_session,
    set_resource_delay,
    start_background,
    stop_background,
    unmaterialisable,
)
from generator.deploy.local.coverage import EMITTED, coverage
from tests.deploy.local.conftest import REGION, change_set, create_stack, unique

QUEUE = {"Type": "AWS::SQS::Queue"}


def test_unmaterialisable_names_unknown_types_only() -> None:
    template = {"Resources": {"Q": QUEUE, "P": {"Type": "AWS::Cognito::UserPool"}, "X": {"Type": "AWS::Foo::Bar"}}}
    assert unmaterialisable(template) == ["AWS::Foo::Bar"]
    assert unmaterialisable({"Resources": {"Q": QUEUE}}) == []


def test_every_type_pipectl_emits_is_covered() -> None:
    assert [t for t, kind in coverage(EMITTED).items() if kind == "not materialisable"] == []


def test_exports_of_a_change_set_stack_are_importable(session: LocalSession) -> None:
    exporter = unique("exporter")
    exported = {
        "Resources": {"Q": QUEUE},
        "Outputs": {"Url": {"Value": {"Ref": "Q"}, "Export": {"Name": f"{exporter}:Url"}}},
    }
    out = change_set(session, exported, exporter, "CREATE")
    importer = {
        "Resources": {"Q": QUEUE},
        "Outputs": {"Imported": {"Value": {"Fn::ImportValue": f"{exporter}:Url"}}},
    }
    assert create_stack(session, importer, unique("importer"))["Imported"] == out["Url"]


def test_termination_protection_is_enforced(session: LocalSession) -> None:
    name = unique("protected")
    cfn = session.client("cloudformation")
    cfn.create_stack(StackName=name, TemplateBody='{"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}',
                     EnableTerminationProtection=True)  # fmt: skip
    with pytest.raises(StackProtected):
        check_termination_protection(cfn, name)
    unprotected = unique("unprotected")
    cfn.create_stack(StackName=unprotected, TemplateBody='{"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}')
    check_termination_protection(cfn, unprotected)


def test_stack_policy_denies_replacing_protected_resources(session: LocalSession) -> None:
    name = unique("policy")
    cfn = session.client("cloudformation")
    cfn.create_stack(
        StackName=name,
        TemplateBody='{"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}',
        StackPolicyBody='{"Statement": [{"Effect": "Allow", "Action": "Update:*", "Principal": "*", "Resource": "*"},'
        '{"Effect": "Deny", "Action": ["Update:Replace", "Update:Delete"], "Principal": "*",'
        ' "Resource": "LogicalResourceId/Data*"}]}',
    )
    modify = {"ResourceChange": {"Action": "Modify", "LogicalResourceId": "DataBucket", "Replacement": "False"}}
    replace = {"ResourceChange": {"Action": "Modify", "LogicalResourceId": "DataBucket", "Replacement": "True"}}
    other = {"ResourceChange": {"Action": "Remove", "LogicalResourceId": "Queue"}}
    check_stack_policy(cfn, name, [modify, other])
    with pytest.raises(StackProtected, match="Update:Replace on LogicalResourceId/DataBucket"):
        check_stack_policy(cfn, name, [replace])


def test_resource_delay_slows_each_resource(session: LocalSession) -> None:
    template = {"Resources": {"A": QUEUE, "B": QUEUE, "C": QUEUE}}
    set_resource_delay(0.2)
    try:
        started = time.monotonic()
        create_stack(session, template, unique("slow"))
        elapsed = time.monotonic() - started
    finally:
        set_resource_delay(0.0)
    assert elapsed >= 0.6


def test_background_server_start_status_stop(tmp_path: Path) -> None:
    assert background_status(tmp_path) is None
    endpoint = start_background(tmp_path)
    try:
        record = background_status(tmp_path)
        assert record is not None and record["endpoint"] == endpoint
        assert start_background(tmp_path) == endpoint
        queues = local_session(endpoint, REGION).client("sqs")
        queues.create_queue(QueueName="background")
        assert any(u.endswith("/background") for u in queues.list_queues()["QueueUrls"])
    finally:
        assert stop_background(tmp_path)
    assert background_status(tmp_path) is None
    assert not (tmp_path / ".pipectl" / "local.json").exists()
    assert stop_background(tmp_path) is False
