"""What CloudFormation enforces and plain moto does not, seen through boto3 against the embedded AWS.

Every test here fails on moto alone: it accepts any template size, resolves imports late, lets an
imported export go, deletes non-empty buckets silently, answers a failed resource with HTTP 500 and
reports no replacement in change sets.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from generator.contract import MAX_TEMPLATE_BODY, MAX_TEMPLATE_URL_BODY
from generator.deploy.local import LocalSession
from tests.deploy.local.conftest import REGION, unique


def cfn(session: LocalSession) -> Any:
    return session.client("cloudformation")


def queue_template(name: str | None = None, **extra: Any) -> dict[str, Any]:
    properties = {"QueueName": name} if name else {}
    return {"Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": properties}}, **extra}


def padded(size: int) -> str:
    """A valid template of exactly `size` bytes."""
    template = queue_template(Metadata={"Padding": ""})
    base = len(json.dumps(template).encode())
    template["Metadata"]["Padding"] = "x" * (size - base)
    body = json.dumps(template)
    assert len(body.encode()) == size
    return body


def status(session: LocalSession, name: str) -> str:
    return str(cfn(session).describe_stacks(StackName=name)["Stacks"][0]["StackStatus"])


def events(session: LocalSession, name: str) -> list[dict[str, Any]]:
    return list(cfn(session).describe_stack_events(StackName=name)["StackEvents"])


def reasons(session: LocalSession, name: str, status_suffix: str) -> list[str]:
    return [f"{e['LogicalResourceId']} {e['ResourceType']} {e['ResourceStatus']}: {e.get('ResourceStatusReason', '')}"
            for e in events(session, name) if e["ResourceStatus"].endswith(status_suffix)]  # fmt: skip


def exporter(export: str, queue: str, version: str = "v1") -> dict[str, Any]:
    value = {"Fn::Join": ["-", [{"Fn::GetAtt": ["Queue", "QueueName"]}, version]]}
    return queue_template(queue, Outputs={"QueueName": {"Value": value, "Export": {"Name": export}}})


def importer(export: str) -> dict[str, Any]:
    return {"Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {
        "TopicName": {"Fn::Join": ["-", [{"Fn::ImportValue": export}, "alarms"]]}}}}}  # fmt: skip


# --- template size --------------------------------------------------------------------------------------------


def test_template_body_over_51200_bytes_is_refused_by_every_action(session: LocalSession) -> None:
    client, name = cfn(session), unique("size")
    over, limit = padded(MAX_TEMPLATE_BODY + 1), padded(MAX_TEMPLATE_BODY)
    client.create_stack(StackName=name, TemplateBody=limit)
    assert status(session, name) == "CREATE_COMPLETE"
    calls = {
        "CreateStack": lambda: client.create_stack(StackName=unique("size"), TemplateBody=over),
        "UpdateStack": lambda: client.update_stack(StackName=name, TemplateBody=over),
        "CreateChangeSet": lambda: client.create_change_set(StackName=name, ChangeSetName="big", TemplateBody=over,
                                                            ChangeSetType="UPDATE"),
        "ValidateTemplate": lambda: client.validate_template(TemplateBody=over),
    }  # fmt: skip
    for action, call in calls.items():
        with pytest.raises(ClientError) as refused:
            call()
        message = refused.value.response["Error"]["Message"]
        assert refused.value.response["Error"]["Code"] == "ValidationError", action
        assert message.startswith("1 validation error detected: Value '{"), (action, message)
        assert message.endswith("at 'templateBody' failed to satisfy constraint: Member must have length less "
                                "than or equal to 51200"), (action, message)  # fmt: skip


@pytest.mark.parametrize("style", ["virtual-hosted", "path"])
def test_template_url_to_the_local_s3_is_read_in_both_url_forms(session: LocalSession, style: str) -> None:
    s3, bucket, name = session.client("s3"), unique("templates"), unique("by-url")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    body = padded(MAX_TEMPLATE_BODY * 2)  # too big inline, fine through S3
    s3.put_object(Bucket=bucket, Key="stacks/a b.json", Body=body.encode())
    url = (f"https://{bucket}.s3.{REGION}.amazonaws.com/stacks/a%20b.json" if style == "virtual-hosted"
           else f"https://s3.{REGION}.amazonaws.com/{bucket}/stacks/a%20b.json")  # fmt: skip
    cfn(session).create_stack(StackName=name, TemplateURL=url)
    assert status(session, name) == "CREATE_COMPLETE"
    assert cfn(session).get_template(StackName=name)["TemplateBody"] == json.loads(body)


def test_template_url_object_over_one_megabyte_is_refused(session: LocalSession) -> None:
    s3, bucket = session.client("s3"), unique("templates")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket=bucket, Key="big.json", Body=padded(MAX_TEMPLATE_URL_BODY + 1).encode())
    s3.put_object(Bucket=bucket, Key="fits.json", Body=padded(MAX_TEMPLATE_URL_BODY).encode())
    url = f"https://{bucket}.s3.{REGION}.amazonaws.com"
    with pytest.raises(ClientError, match=r"Template may not exceed 1000000 bytes in size\."):
        cfn(session).create_stack(StackName=unique("huge"), TemplateURL=f"{url}/big.json")
    with pytest.raises(ClientError, match=r"Template may not exceed 1000000 bytes in size\."):
        cfn(session).validate_template(TemplateURL=f"{url}/big.json")
    cfn(session).create_stack(StackName=unique("fits"), TemplateURL=f"{url}/fits.json")
    with pytest.raises(ClientError, match="The specified key does not exist"):
        cfn(session).create_stack(StackName=unique("none"), TemplateURL=f"{url}/missing.json")


# --- exports --------------------------------------------------------------------------------------------------


def test_change_set_importing_a_missing_export_fails_with_cloudformations_reason(session: LocalSession) -> None:
    name, export = unique("importer"), unique("missing:QueueName")
    made = cfn(session).create_change_set(StackName=name, ChangeSetName="first", ChangeSetType="CREATE",
                                          TemplateBody=json.dumps(importer(export)))  # fmt: skip
    described = cfn(session).describe_change_set(ChangeSetName=made["Id"], StackName=name)
    assert (described["Status"], described["ExecutionStatus"]) == ("FAILED", "UNAVAILABLE")
    assert described["StatusReason"] == f"No export named {export} found."
    with pytest.raises(ClientError, match="cannot be executed"):
        cfn(session).execute_change_set(ChangeSetName=made["Id"], StackName=name)


def test_create_and_update_stack_importing_a_missing_export_roll_back(session: LocalSession) -> None:
    name, export = unique("importer"), unique("missing:Sub")
    template = importer("${AWS::Region}-" + export)
    template["Resources"]["Topic"]["Properties"]["TopicName"]["Fn::Join"][1][0]["Fn::ImportValue"] = {
        "Fn::Sub": "${AWS::Region}-" + export}  # fmt: skip
    cfn(session).create_stack(StackName=name, TemplateBody=json.dumps(template))
    assert status(session, name) == "ROLLBACK_COMPLETE"
    assert any(f"No export named {REGION}-{export} found. Rollback requested by user." in r
               for r in reasons(session, name, "ROLLBACK_IN_PROGRESS"))  # fmt: skip
    assert cfn(session).describe_stack_resources(StackName=name)["StackResources"] == []

    kept = unique("kept")
    cfn(session).create_stack(StackName=kept, TemplateBody=json.dumps(queue_template()))
    cfn(session).update_stack(StackName=kept, TemplateBody=json.dumps(importer(export)))
    assert status(session, kept) == "UPDATE_ROLLBACK_COMPLETE"
    assert any(f"No export named {export} found." in r for r in reasons(session, kept, "ROLLBACK_IN_PROGRESS"))


def test_an_imported_export_cannot_be_removed_changed_or_deleted_with_its_stack(session: LocalSession) -> None:
    source, user, export = unique("exporter"), unique("user"), unique("shop:QueueName")
    queue = unique("events")
    cfn(session).create_stack(StackName=source, TemplateBody=json.dumps(exporter(export, queue)))
    cfn(session).create_stack(StackName=user, TemplateBody=json.dumps(importer(export)))
    assert status(session, user) == "CREATE_COMPLETE"

    cfn(session).update_stack(StackName=source, TemplateBody=json.dumps(queue_template(queue)))
    assert status(session, source) == "UPDATE_ROLLBACK_COMPLETE"
    assert f"Export {export} cannot be deleted as it is in use by {user}" in " ".join(
        reasons(session, source, "UPDATE_ROLLBACK_IN_PROGRESS")
    )

    cfn(session).update_stack(StackName=source, TemplateBody=json.dumps(exporter(export, queue, "v2")))
    assert status(session, source) == "UPDATE_ROLLBACK_COMPLETE"
    assert f"Export {export} cannot be updated as it is in use by {user}" in " ".join(
        reasons(session, source, "UPDATE_ROLLBACK_IN_PROGRESS")
    )
    exports = {e["Name"]: e["Value"] for e in cfn(session).list_exports()["Exports"]}
    assert exports[export] == f"{queue}-v1"  # the previous template, restored

    cfn(session).delete_stack(StackName=source)
    assert status(session, source) == "DELETE_FAILED"
    assert f"Export {export} cannot be deleted as it is in use by {user}" in " ".join(
        reasons(session, source, "DELETE_FAILED")
    )
    assert export in {e["Name"] for e in cfn(session).list_exports()["Exports"]}

    cfn(session).delete_stack(StackName=user)
    cfn(session).delete_stack(StackName=source)
    assert export not in {e["Name"] for e in cfn(session).list_exports()["Exports"]}


# --- deletion -------------------------------------------------------------------------------------------------


def bucket_template(bucket: str, policy: str) -> dict[str, Any]:
    return {"Resources": {
        "DataBucket": {"Type": "AWS::S3::Bucket", "DeletionPolicy": policy, "Properties": {"BucketName": bucket}},
        "Queue": {"Type": "AWS::SQS::Queue"}}}  # fmt: skip


def test_deleting_a_stack_with_a_non_empty_bucket_fails_it(session: LocalSession) -> None:
    s3, name, bucket = session.client("s3"), unique("data"), unique("data-bucket")
    cfn(session).create_stack(StackName=name, TemplateBody=json.dumps(bucket_template(bucket, "Delete")))
    s3.put_object(Bucket=bucket, Key="raw/event.json", Body=b"{}")
    cfn(session).delete_stack(StackName=name)
    assert status(session, name) == "DELETE_FAILED"
    failed = reasons(session, name, "DELETE_FAILED")
    assert any(r.startswith("DataBucket AWS::S3::Bucket DELETE_FAILED: The bucket you tried to delete is not empty "
                            "(Service: S3, Status Code: 409") for r in failed), failed  # fmt: skip
    assert any("failed to delete: [DataBucket]" in r for r in failed)
    assert s3.head_bucket(Bucket=bucket)  # still there, with its object
    resources = cfn(session).describe_stack_resources(StackName=name)["StackResources"]
    assert {r["LogicalResourceId"] for r in resources} == {"DataBucket"}  # the queue went

    s3.delete_object(Bucket=bucket, Key="raw/event.json")
    cfn(session).delete_stack(StackName=name)
    assert name not in {s["StackName"] for s in cfn(session).list_stacks(StackStatusFilter=["DELETE_FAILED"])[
        "StackSummaries"]}  # fmt: skip


def test_a_retained_non_empty_bucket_is_skipped_as_cloudformation_does(session: LocalSession) -> None:
    s3, name, bucket = session.client("s3"), unique("kept"), unique("kept-bucket")
    cfn(session).create_stack(StackName=name, TemplateBody=json.dumps(bucket_template(bucket, "Retain")))
    s3.put_object(Bucket=bucket, Key="raw/event.json", Body=b"{}")
    stack_id = cfn(session).describe_stacks(StackName=name)["Stacks"][0]["StackId"]
    cfn(session).delete_stack(StackName=name)
    assert status(session, stack_id) == "DELETE_COMPLETE"
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 1


# --- resource failures ----------------------------------------------------------------------------------------


def failing_policy() -> dict[str, Any]:
    """An inline policy on a role that does not exist: IAM refuses it, on AWS as here."""
    return {"Type": "AWS::IAM::RolePolicy", "Properties": {"RoleName": "no-such-role", "PolicyName": "p",
            "PolicyDocument": {"Version": "2012-10-17", "Statement": []}}}  # fmt: skip


def test_a_resource_that_cannot_be_created_rolls_the_stack_back(session: LocalSession) -> None:
    name, queue = unique("broken"), unique("created-then-removed")
    template = queue_template(queue, Outputs={"QueueUrl": {"Value": {"Ref": "Queue"}}})
    template["Resources"]["Policy"] = failing_policy() | {"DependsOn": "Queue"}
    cfn(session).create_stack(StackName=name, TemplateBody=json.dumps(template))  # no HTTP 500
    assert status(session, name) == "ROLLBACK_COMPLETE"
    described = cfn(session).describe_stacks(StackName=name)["Stacks"][0]
    assert described["StackStatusReason"].startswith("The following resource(s) failed to create: [Policy].")
    assert "Outputs" not in described  # nothing left to read them from
    assert cfn(session).describe_stack_resources(StackName=name)["StackResources"] == []
    failed = reasons(session, name, "CREATE_FAILED")
    assert len(failed) == 1 and failed[0].startswith("Policy AWS::IAM::RolePolicy CREATE_FAILED: "), failed
    assert "no-such-role" in failed[0]
    assert not [u for u in session.client("sqs").list_queues().get("QueueUrls", []) if u.endswith(f"/{queue}")]


def test_a_failed_change_set_create_rolls_back_too(session: LocalSession) -> None:
    name = unique("broken-cs")
    template = queue_template()
    template["Resources"]["Policy"] = failing_policy()
    made = cfn(session).create_change_set(StackName=name, ChangeSetName="c", ChangeSetType="CREATE",
                                          TemplateBody=json.dumps(template))  # fmt: skip
    cfn(session).execute_change_set(ChangeSetName=made["Id"], StackName=name)
    assert status(session, name) == "ROLLBACK_COMPLETE"
    assert [r.split(": ")[0] for r in reasons(session, name, "CREATE_FAILED")] == [
        "Policy AWS::IAM::RolePolicy CREATE_FAILED"
    ]
    described = cfn(session).describe_change_set(ChangeSetName=made["Id"], StackName=name)
    assert described["ExecutionStatus"] == "EXECUTE_FAILED"


def test_a_failed_update_restores_the_previous_template(session: LocalSession) -> None:
    name, queue = unique("update"), unique("stays")
    cfn(session).create_stack(StackName=name, TemplateBody=json.dumps(queue_template(queue)))
    broken = queue_template(queue)
    broken["Resources"]["Extra"] = {"Type": "AWS::SQS::Queue"}
    broken["Resources"]["Policy"] = failing_policy() | {"DependsOn": "Extra"}
    cfn(session).update_stack(StackName=name, TemplateBody=json.dumps(broken))
    assert status(session, name) == "UPDATE_ROLLBACK_COMPLETE"
    assert [r.split(": ")[0] for r in reasons(session, name, "UPDATE_FAILED")] == [
        "Policy AWS::IAM::RolePolicy UPDATE_FAILED"
    ]
    assert cfn(session).get_template(StackName=name)["TemplateBody"] == queue_template(queue)
    resources = cfn(session).describe_stack_resources(StackName=name)["StackResources"]
    assert {r["LogicalResourceId"] for r in resources} == {"Queue"}


def test_resource_failed_raised_by_a_check_is_reported_with_its_reason(
    session: LocalSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The execution-role check raises ResourceFailed from inside moto's engine; here a stand-in raises it."""
    from generator.deploy.local.failures import ResourceFailed
    from generator.deploy.local.models.sns import PipectlTopicPolicy

    def denied(cls: Any, resource_name: str, *args: Any, **kwargs: Any) -> Any:
        raise ResourceFailed(
            "TopicPolicy", "AWS::SNS::TopicPolicy", "not authorized to perform: sns:SetTopicAttributes"
        )

    monkeypatch.setattr(PipectlTopicPolicy, "create_from_cloudformation_json", classmethod(denied))
    name = unique("denied")
    template = {
        "Resources": {
            "Topic": {"Type": "AWS::SNS::Topic"},
            "TopicPolicy": {
                "Type": "AWS::SNS::TopicPolicy",
                "Properties": {"Topics": [{"Ref": "Topic"}], "PolicyDocument": {}},
            },
        }
    }
    cfn(session).create_stack(StackName=name, TemplateBody=json.dumps(template))
    assert status(session, name) == "ROLLBACK_COMPLETE"
    assert reasons(session, name, "CREATE_FAILED") == [
        "TopicPolicy AWS::SNS::TopicPolicy CREATE_FAILED: not authorized to perform: sns:SetTopicAttributes"
    ]


# --- replacement and stack policies ---------------------------------------------------------------------------


def change_set(session: LocalSession, name: str, template: dict[str, Any]) -> tuple[str, dict[str, str]]:
    made = cfn(session).create_change_set(StackName=name, ChangeSetName=unique("cs"), ChangeSetType="UPDATE",
                                          TemplateBody=json.dumps(template))  # fmt: skip
    changes = cfn(session).describe_change_set(ChangeSetName=made["Id"], StackName=name)["Changes"]
    return made["Id"], {c["ResourceChange"]["LogicalResourceId"]: c["ResourceChange"].get("Replacement", "")
                        for c in changes if c["ResourceChange"]["Action"] == "Modify"}  # fmt: skip


def test_change_sets_say_true_false_or_conditional(session: LocalSession) -> None:
    name, topic = unique("replace"), unique("alarms")
    template = {"Resources": {
        "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": topic}},
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": 30}},
        "Subscription": {"Type": "AWS::SNS::Subscription", "Properties": {
            "TopicArn": {"Ref": "Topic"}, "Protocol": "email", "Endpoint": "ops@example.com"}}}}  # fmt: skip
    cfn(session).create_stack(StackName=name, TemplateBody=json.dumps(template))
    edited = json.loads(json.dumps(template))
    edited["Resources"]["Topic"]["Properties"]["TopicName"] = topic + "-new"  # create-only: True
    edited["Resources"]["Queue"]["Properties"]["VisibilityTimeout"] = 60  # updatable: False
    edited["Resources"]["Subscription"]["Properties"]["FilterPolicy"] = {"kind": ["alarm"]}  # TopicArn -> Topic
    _, replacement = change_set(session, name, edited)
    assert replacement == {"Topic": "True", "Queue": "False", "Subscription": "Conditional"}


def test_stack_policy_refuses_replacing_a_retained_bucket(session: LocalSession) -> None:
    name, bucket = unique("guarded"), unique("guarded-bucket")
    template = {"Resources": {"DataBucket": {
        "Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
        "Properties": {"BucketName": bucket, "Tags": [{"Key": "team", "Value": "data"}]}}}}  # fmt: skip
    policy = {"Statement": [
        {"Effect": "Allow", "Action": "Update:*", "Principal": "*", "Resource": "*"},
        {"Effect": "Deny", "Action": ["Update:Replace", "Update:Delete"], "Principal": "*",
         "Resource": "LogicalResourceId/DataBucket"}]}  # fmt: skip
    cfn(session).create_stack(StackName=name, TemplateBody=json.dumps(template), StackPolicyBody=json.dumps(policy))

    renamed = json.loads(json.dumps(template))
    renamed["Resources"]["DataBucket"]["Properties"]["BucketName"] = bucket + "-2"
    change_set_id, replacement = change_set(session, name, renamed)
    assert replacement == {"DataBucket": "True"}
    with pytest.raises(ClientError, match="forbids Update:Replace on LogicalResourceId/DataBucket"):
        cfn(session).execute_change_set(ChangeSetName=change_set_id, StackName=name)

    retagged = json.loads(json.dumps(template))
    retagged["Resources"]["DataBucket"]["Properties"]["Tags"][0]["Value"] = "analytics"
    change_set_id, replacement = change_set(session, name, retagged)
    assert replacement == {"DataBucket": "False"}
    cfn(session).execute_change_set(ChangeSetName=change_set_id, StackName=name)
    assert status(session, name) == "UPDATE_COMPLETE"


def kms_template(alias: str, keys: tuple[str, ...] = ("Key",), target: str = "Key") -> dict[str, Any]:
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": {"Fn::Sub": "arn:aws:iam::${AWS::AccountId}:root"}},
                       "Action": "kms:*", "Resource": "*"}],
    }  # fmt: skip
    resources: dict[str, Any] = {key: {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": policy}} for key in keys}
    resources["Alias"] = {"Type": "AWS::KMS::Alias", "Properties": {"AliasName": alias, "TargetKeyId": {"Ref": target}}}
    return {"Resources": resources}


def test_a_kms_alias_another_stack_holds_fails_the_second_stack_as_kms_would(session: LocalSession) -> None:
    alias = f"alias/{unique('taken')}"
    first, second = unique("alias-a"), unique("alias-b")
    cfn(session).create_stack(StackName=first, TemplateBody=json.dumps(kms_template(alias)))
    cfn(session).create_stack(StackName=second, TemplateBody=json.dumps(kms_template(alias)))
    assert status(session, first) == "CREATE_COMPLETE"
    assert status(session, second) == "ROLLBACK_COMPLETE"
    [failed] = reasons(session, second, "CREATE_FAILED")
    assert failed.startswith("Alias AWS::KMS::Alias") and f"{alias} already exists" in failed
    kms = session.client("kms")
    [held] = [a for a in kms.list_aliases()["Aliases"] if a["AliasName"] == alias]
    first_key = cfn(session).describe_stack_resource(StackName=first, LogicalResourceId="Key")
    assert held["TargetKeyId"] == first_key["StackResourceDetail"]["PhysicalResourceId"]  # untouched by the second


@pytest.mark.parametrize(
    ("alias", "said"),
    [
        ("alias/aws/s3", "reserved alias/aws/ space"),
        ("pipectl-key", "expected alias/"),
        ("alias/a b", "expected alias/"),
    ],
)
def test_a_kms_alias_name_kms_refuses_fails_the_stack(session: LocalSession, alias: str, said: str) -> None:
    name = unique("alias-bad")
    cfn(session).create_stack(StackName=name, TemplateBody=json.dumps(kms_template(alias)))
    assert status(session, name) == "ROLLBACK_COMPLETE"
    [failed] = reasons(session, name, "CREATE_FAILED")
    assert said in failed


def test_a_kms_alias_moves_to_another_key_in_place_and_goes_with_its_stack(session: LocalSession) -> None:
    alias, name = f"alias/{unique('moving')}", unique("alias-move")
    cfn(session).create_stack(StackName=name, TemplateBody=json.dumps(kms_template(alias, ("Key", "Other"))))
    moved = kms_template(alias, ("Key", "Other"), target="Other")
    cfn(session).update_stack(StackName=name, TemplateBody=json.dumps(moved))
    assert status(session, name) == "UPDATE_COMPLETE"
    other = cfn(session).describe_stack_resource(StackName=name, LogicalResourceId="Other")
    kms = session.client("kms")
    [held] = [a for a in kms.list_aliases()["Aliases"] if a["AliasName"] == alias]
    assert held["TargetKeyId"] == other["StackResourceDetail"]["PhysicalResourceId"]
    cfn(session).delete_stack(StackName=name)
    assert alias not in {a["AliasName"] for a in kms.list_aliases()["Aliases"]}
