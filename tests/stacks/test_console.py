"""The pipectl-console stack: lint-clean in every variant, retained, encrypted, least privilege, and
resolvers that really answer the four queries (run with node against moto's DynamoDB)."""

from __future__ import annotations

import base64
import gzip
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import boto3
import pytest
from cfnlint.api import ManualArgs, lint
from moto.events.models import EventPattern

from generator.spec.loader import load_directory
from generator.spec.models import ConsoleSpec
from generator.stacks import common
from generator.stacks.assets import function_asset, site_asset
from generator.stacks.console import (
    ACCESS_FUNCTION,
    ACCESS_METADATA,
    FIELDS,
    FOLLOWING,
    QUERIES,
    build_console,
    query_code,
    resolver_code,
)
from tests.stacks.appsync_node import Resolvers, ask, ask_field, node_resolvers, run_function, seeded_table

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "pipelines.d"
REGION = "eu-west-1"
ACCOUNT = "123456789012"
CONSOLE_FILES = {
    "cognito-365": "auth: {type: cognito}\nlog_retention_days: 365\n",
    "oidc": "auth: {type: oidc, issuer: 'https://login.example.com/tenant', client_id: pipectl-console}\n",
    "domain": (
        "domain: {name: console.example.com, certificate_arn: "
        "'arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012'}\n"
        "access: {groups: {team-shop: [shop]}}\n"
    ),
}
STATEFUL = {
    "AWS::KMS::Key",
    "AWS::DynamoDB::Table",
    "AWS::Logs::LogGroup",
    "AWS::Cognito::UserPool",
    "AWS::Cognito::UserPoolUser",
}


def _spec(name: str, tmp: Path) -> ConsoleSpec:
    if name == "shipped":
        return load_directory(SHIPPED).console
    directory = tmp / name
    directory.mkdir()
    shutil.copy(SHIPPED / "_defaults.yaml", directory / "_defaults.yaml")
    shutil.copy(SHIPPED / "shop.yaml", directory / "shop.yaml")
    (directory / "_console.yaml").write_text(CONSOLE_FILES[name])
    return load_directory(directory).console


@pytest.fixture(scope="module")
def specs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ConsoleSpec]:
    tmp = tmp_path_factory.mktemp("console")
    return {name: _spec(name, tmp) for name in ["shipped", *CONSOLE_FILES]}


@pytest.fixture(scope="module")
def rendered(specs: dict[str, ConsoleSpec]) -> dict[str, str]:
    return {name: build_console(spec).to_json() for name, spec in specs.items()}


@pytest.fixture(scope="module")
def templates(rendered: dict[str, str]) -> dict[str, dict[str, Any]]:
    return {name: json.loads(text) for name, text in rendered.items()}


@pytest.fixture(scope="module", params=["shipped", "cognito-365", "oidc", "domain"])
def variant(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def props(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    return dict(template["Resources"][logical_id]["Properties"])


# --- the template as a whole ---------------------------------------------------------------------------


def test_cfn_lint_finds_nothing(rendered: dict[str, str], variant: str) -> None:
    matches = lint(rendered[variant], config=ManualArgs(regions=[REGION]))
    assert [str(m) for m in matches] == []


def test_the_same_spec_gives_the_same_template(specs: dict[str, ConsoleSpec], rendered: dict[str, str]) -> None:
    for name, spec in specs.items():
        assert build_console(spec).to_json() == rendered[name]


def test_outputs_follow_the_export_contract(templates: dict[str, dict[str, Any]]) -> None:
    contract = [
        "ConsoleDistributionId",
        "ConsoleUrl",
        "GraphQLApiId",
        "GraphQLUrl",
        "PermissionsBoundaryArn",
        "SiteBucketName",
        "StateTableArn",
        "StateTableName",
    ]
    for name, template in templates.items():
        exported = {key: out["Export"]["Name"] for key, out in template["Outputs"].items() if "Export" in out}
        expected = [*contract, "UserPoolId"] if name != "oidc" else contract
        assert sorted(exported) == sorted(expected), name
        assert all(value == f"{common.CONSOLE_STACK}:{key}" for key, value in exported.items())
        assert template["Description"].startswith("pipectl control plane")


def test_nothing_hard_codes_an_account_or_a_region(rendered: dict[str, str]) -> None:
    for text in rendered.values():
        text = re.sub(r"[0-9a-f]{64}", "<sha256>", text)  # a digest may hold 12 digits
        text = re.sub(r"arn:aws:acm:us-east-1:\d{12}:certificate/[0-9a-f-]+", "<the given certificate>", text)
        assert not re.search(r"\d{12}", text)
        assert not re.search(r"(eu|us|ap|sa|ca|me|af)-(west|east|north|south|central)-\d", text)
        assert "arn:aws:" not in text


# --- retention and encryption --------------------------------------------------------------------------


def test_stateful_resources_are_always_retained(templates: dict[str, dict[str, Any]]) -> None:
    for template in templates.values():
        stateful = [r for r in template["Resources"].values() if r["Type"] in STATEFUL]
        assert len(stateful) >= 4
        for resource in stateful:
            assert resource["DeletionPolicy"] == "Retain"
            assert resource["UpdateReplacePolicy"] == "Retain"


def test_the_console_key_rotates_and_has_its_alias(templates: dict[str, dict[str, Any]]) -> None:
    template = templates["shipped"]
    key = props(template, "ConsoleKey")
    assert key["EnableKeyRotation"] is True
    alias = props(template, "ConsoleKeyAlias")
    assert alias["AliasName"] == "alias/pipectl/console"
    assert alias["TargetKeyId"] == {"Ref": "ConsoleKey"}


def test_cloudwatch_logs_may_use_the_key_for_the_console_log_groups_only(
    templates: dict[str, dict[str, Any]],
) -> None:
    statements = props(templates["shipped"], "ConsoleKey")["KeyPolicy"]["Statement"]
    [logs] = [
        s for s in statements if s["Principal"].get("Service") == {"Fn::Sub": "logs.${AWS::Region}.amazonaws.com"}
    ]
    patterns = [p["Fn::Sub"] for p in logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]]
    assert all(":log-group:" in p for p in patterns)
    assert any(p.endswith("/aws/appsync/apis/*") for p in patterns)
    assert any(p.endswith("/aws/lambda/pipectl-console-recorder") for p in patterns)
    assert "kms:PutKeyPolicy" not in logs["Action"]


def test_the_state_table_layout_and_protection(templates: dict[str, dict[str, Any]]) -> None:
    table = props(templates["shipped"], "StateTable")
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]} == {
        "pk": "S",
        "sk": "S",
        "feed": "S",
        "feed_sk": "S",
    }
    assert [
        (i["IndexName"], [k["AttributeName"] for k in i["KeySchema"]]) for i in table["GlobalSecondaryIndexes"]
    ] == [
        ("BySortKey", ["sk", "pk"]),
        ("ByFeed", ["feed", "feed_sk"]),
    ]
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["SSESpecification"] == {
        "SSEEnabled": True,
        "SSEType": "KMS",
        "KMSMasterKeyId": {"Fn::GetAtt": ["ConsoleKey", "Arn"]},
    }
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert table["DeletionProtectionEnabled"] is True


def test_log_groups_are_created_encrypted_with_the_console_retention(
    specs: dict[str, ConsoleSpec], templates: dict[str, dict[str, Any]]
) -> None:
    for name, template in templates.items():
        groups = resources(template, "AWS::Logs::LogGroup")
        assert sorted(groups) == ["GraphQLLogGroup", "RecorderLogGroup"]
        for group in groups.values():
            assert group["Properties"]["RetentionInDays"] == specs[name].log_retention_days
            assert group["Properties"]["KmsKeyId"] == {"Fn::GetAtt": ["ConsoleKey", "Arn"]}
        assert groups["GraphQLLogGroup"]["Properties"]["LogGroupName"] == {
            "Fn::Sub": "/aws/appsync/apis/${GraphQLApi.ApiId}"
        }
    assert {specs["cognito-365"].log_retention_days, specs["shipped"].log_retention_days} == {365, 90}


def test_the_dead_letter_queue_is_encrypted_with_the_console_key(templates: dict[str, dict[str, Any]]) -> None:
    queue = props(templates["shipped"], "RecorderDeadLetterQueue")
    assert queue["KmsMasterKeyId"] == {"Fn::GetAtt": ["ConsoleKey", "Arn"]}


# --- sign-in -------------------------------------------------------------------------------------------


def test_cognito_sign_in_is_invitation_only_with_mfa(templates: dict[str, dict[str, Any]]) -> None:
    template = templates["shipped"]
    api = props(template, "GraphQLApi")
    assert api["AuthenticationType"] == "AMAZON_COGNITO_USER_POOLS"
    assert api["UserPoolConfig"]["UserPoolId"] == {"Ref": "ConsoleUserPool"}
    pool = props(template, "ConsoleUserPool")
    assert pool["MfaConfiguration"] == "ON"
    assert pool["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]
    assert (pool["UserPoolTier"], pool["UserPoolAddOns"]) == ("ESSENTIALS", {"AdvancedSecurityMode": "OFF"})
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert pool["DeletionProtection"] == "ACTIVE"
    password = pool["Policies"]["PasswordPolicy"]
    assert password["MinimumLength"] >= 12
    assert all(password[k] for k in ("RequireLowercase", "RequireUppercase", "RequireNumbers", "RequireSymbols"))
    client = props(template, "ConsoleAppClient")
    assert client["GenerateSecret"] is False
    assert "ALLOW_USER_SRP_AUTH" in client["ExplicitAuthFlows"]
    assert not {"ALLOW_USER_PASSWORD_AUTH", "ALLOW_ADMIN_USER_PASSWORD_AUTH"} & set(client["ExplicitAuthFlows"])


def test_the_admin_user_exists_only_when_an_email_is_given(templates: dict[str, dict[str, Any]]) -> None:
    admin = props(templates["shipped"], "ConsoleAdmin")
    assert admin["Username"] == "platform@example.com"
    assert {"Name": "email", "Value": "platform@example.com"} in admin["UserAttributes"]
    assert "ConsoleAdmin" not in templates["cognito-365"]["Resources"]
    assert "ConsoleUserPool" in templates["cognito-365"]["Resources"]


def test_the_admins_group_is_the_one_the_access_function_trusts(templates: dict[str, dict[str, Any]]) -> None:
    for name in ("shipped", "cognito-365", "domain"):
        group = props(templates[name], "ConsoleAdminsGroup")
        assert group["GroupName"] == "admins" and group["UserPoolId"] == {"Ref": "ConsoleUserPool"}
        assert templates[name]["Outputs"]["AdminsGroup"]["Value"] == "admins"
        access = templates[name]["Metadata"]["pipectl:console-access"]
        assert access["admins_group"] == group["GroupName"]
    attached = props(templates["shipped"], "ConsoleAdminInAdminsGroup")
    assert attached == {
        "UserPoolId": {"Ref": "ConsoleUserPool"},
        "Username": "platform@example.com",
        "GroupName": {"Ref": "ConsoleAdminsGroup"},
    }
    assert templates["shipped"]["Resources"]["ConsoleAdminInAdminsGroup"]["DependsOn"] == ["ConsoleAdmin"]
    assert "ConsoleAdminInAdminsGroup" not in templates["cognito-365"]["Resources"]


def test_a_renamed_admins_group_is_created_under_its_name(tmp_path: Path) -> None:
    directory = tmp_path / "renamed"
    directory.mkdir()
    shutil.copy(SHIPPED / "_defaults.yaml", directory / "_defaults.yaml")
    shutil.copy(SHIPPED / "shop.yaml", directory / "shop.yaml")
    (directory / "_console.yaml").write_text("access: {admins_group: platform-admins, groups: {web: [shop]}}\n")
    template = json.loads(build_console(load_directory(directory).console).to_json())
    assert props(template, "ConsoleAdminsGroup")["GroupName"] == "platform-admins"
    assert template["Metadata"]["pipectl:console-access"]["admins_group"] == "platform-admins"


def test_oidc_sign_in_has_no_user_pool(templates: dict[str, dict[str, Any]]) -> None:
    template = templates["oidc"]
    api = props(template, "GraphQLApi")
    assert api["AuthenticationType"] == "OPENID_CONNECT"
    assert api["OpenIDConnectConfig"] == {"Issuer": "https://login.example.com/tenant", "ClientId": "pipectl-console"}
    assert not [r for r in template["Resources"].values() if r["Type"].startswith("AWS::Cognito::")]
    assert "UserPoolId" not in template["Outputs"]
    outputs = {key: out["Value"] for key, out in template["Outputs"].items()}
    assert outputs["OidcIssuer"] == "https://login.example.com/tenant"
    assert outputs["OidcClientId"] == "pipectl-console"
    assert outputs["GroupsClaim"] == "groups"  # the claim the access function reads
    assert "AdminsGroup" not in outputs


# --- the API -------------------------------------------------------------------------------------------


def test_the_api_logs_errors_and_traces(templates: dict[str, dict[str, Any]]) -> None:
    api = props(templates["shipped"], "GraphQLApi")
    assert api["LogConfig"]["FieldLogLevel"] == "ERROR"
    assert api["LogConfig"]["CloudWatchLogsRoleArn"] == {"Fn::GetAtt": ["GraphQLLogsRole", "Arn"]}
    assert api["XrayEnabled"] is True


def schema_queries() -> set[str]:
    schema = (common.TEMPLATES_DIR / "appsync" / "schema.graphql").read_text()
    body = re.search(r"type Query \{(.*?)\n\}", schema, re.S)
    assert body is not None
    return set(re.findall(r"^\s+(\w+)[(:]", body.group(1), re.M))


def test_every_query_is_a_pipeline_of_the_access_function_and_its_own(templates: dict[str, dict[str, Any]]) -> None:
    template = templates["shipped"]
    assert (
        props(template, "GraphQLSchema")["Definition"]
        == (common.TEMPLATES_DIR / "appsync" / "schema.graphql").read_text()
    )
    resolvers = resources(template, "AWS::AppSync::Resolver")
    functions = resources(template, "AWS::AppSync::FunctionConfiguration")
    queries = {r["Properties"]["FieldName"]: r for r in resolvers.values() if r["Properties"]["TypeName"] == "Query"}
    assert set(queries) == schema_queries()
    assert set(queries) == {
        "pipelines",
        "pipelinesPage",
        "pipeline",
        "runs",
        "recentRuns",
        "run",
        "stacks",
        "approvals",
    }
    by_id = {name: f["Properties"] for name, f in functions.items()}
    following = {name for functions in FOLLOWING.values() for name in functions}
    assert following == {"pageEnvironments"}
    assert {f["Name"] for f in by_id.values()} == {*QUERIES, ACCESS_FUNCTION, *following}
    for field, resolver in queries.items():
        p = resolver["Properties"]
        assert p["Kind"] == "PIPELINE"
        assert p["Runtime"] == {"Name": "APPSYNC_JS", "RuntimeVersion": "1.0.0"}
        assert resolver["DependsOn"] == ["GraphQLSchema"]
        first, own, *then = (ref["Fn::GetAtt"] for ref in p["PipelineConfig"]["Functions"])
        assert by_id[first[0]]["Name"] == ACCESS_FUNCTION and by_id[own[0]]["Name"] == field
        assert [by_id[f[0]]["Name"] for f in then] == list(FOLLOWING.get(field, {}))
        assert p["Code"] == query_code(field)
    for function in by_id.values():
        assert function["DataSourceName"] == {"Fn::GetAtt": ["StateTableDataSource", "Name"]}
        assert function["Code"] == resolver_code(function["Name"])
        assert "{{" not in function["Code"] and "{%" not in function["Code"]
        assert "export function request" in function["Code"] and "export function response" in function["Code"]
    below = {(r["Properties"]["TypeName"], r["Properties"]["FieldName"]) for r in resolvers.values()} - {
        ("Query", field) for field in queries
    }
    assert below == set(FIELDS) == {("Pipeline", "environments")}


def test_the_groups_claim_follows_the_sign_in(templates: dict[str, dict[str, Any]]) -> None:
    """Cognito puts groups in cognito:groups; an OIDC provider in the claim _console.yaml names."""
    cognito = props(templates["shipped"], "AccessFunction")["Code"]
    oidc = props(templates["oidc"], "AccessFunction")["Code"]
    assert 'claims["cognito:groups"]' in cognito and 'claims["groups"]' in oidc


def test_the_group_mapping_rides_in_the_template_metadata(templates: dict[str, dict[str, Any]]) -> None:
    assert templates["shipped"]["Metadata"][ACCESS_METADATA] == {"admins_group": "admins", "groups": {}}


def test_the_firewall_guards_the_api(templates: dict[str, dict[str, Any]]) -> None:
    template = templates["shipped"]
    association = props(template, "GraphQLFirewallAssociation")
    assert association["ResourceArn"] == {"Fn::GetAtt": ["GraphQLApi", "Arn"]}
    assert association["WebACLArn"] == {"Fn::GetAtt": ["GraphQLFirewall", "Arn"]}
    acl = props(template, "GraphQLFirewall")
    assert acl["Scope"] == "REGIONAL"
    statements = [rule["Statement"] for rule in acl["Rules"]]
    assert {"ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": "AWSManagedRulesCommonRuleSet"}} in statements
    # Log4j-style and other known-bad request patterns, as scanners (checkov CKV_AWS_192) expect.
    assert {
        "ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": "AWSManagedRulesKnownBadInputsRuleSet"}
    } in statements
    assert sorted(rule["Priority"] for rule in acl["Rules"]) == [0, 1, 2]
    assert any("RateBasedStatement" in s for s in statements)
    for config in [acl["VisibilityConfig"], *(rule["VisibilityConfig"] for rule in acl["Rules"])]:
        assert config["CloudWatchMetricsEnabled"] is True
        assert config["SampledRequestsEnabled"] is True


# --- least privilege -----------------------------------------------------------------------------------


def statements_of(template: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(logical id, kind of document, statement) for every policy document in the template."""
    for name, resource in template["Resources"].items():
        p = resource.get("Properties", {})
        documents: list[tuple[str, dict[str, Any]]] = []
        if resource["Type"] == "AWS::IAM::Role":
            documents.append(("trust", p["AssumeRolePolicyDocument"]))
            documents += [("identity", policy["PolicyDocument"]) for policy in p.get("Policies", [])]
        elif resource["Type"] == "AWS::IAM::Policy":
            documents.append(("identity", p["PolicyDocument"]))
        elif resource["Type"] == "AWS::KMS::Key":
            documents.append(("key", p["KeyPolicy"]))
        for kind, document in documents:
            for statement in document["Statement"]:
                yield name, kind, statement


def actions(template: dict[str, Any], logical_id: str) -> set[str]:
    return {
        action
        for name, kind, statement in statements_of(template)
        if name == logical_id and kind == "identity"
        for action in statement["Action"]
    }


def test_no_wildcard_actions_and_resource_star_only_for_xray(templates: dict[str, dict[str, Any]]) -> None:
    for template in templates.values():
        found = list(statements_of(template))
        assert len(found) >= 8
        for _, kind, statement in found:
            assert statement["Effect"] == "Allow"
            for action in statement["Action"]:
                assert action != "*" and not action.endswith(":*")
            if kind == "identity" and "*" in statement["Resource"]:
                assert {a.split(":")[0] for a in statement["Action"]} == {"xray"}


def test_the_api_reads_the_table_and_nothing_else(templates: dict[str, dict[str, Any]]) -> None:
    template = templates["shipped"]
    assert actions(template, "StateTableReaderRole") == {"dynamodb:GetItem", "dynamodb:Query", "kms:Decrypt"}
    assert actions(template, "GraphQLLogsPolicy") == {"logs:CreateLogStream", "logs:PutLogEvents"}
    [logs] = [s for name, _, s in statements_of(template) if name == "GraphQLLogsPolicy"]
    assert logs["Resource"] == [{"Fn::GetAtt": ["GraphQLLogGroup", "Arn"]}]
    trust = props(template, "StateTableReaderRole")["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Principal"] == {"Service": "appsync.amazonaws.com"}
    assert trust["Condition"]["ArnLike"]["aws:SourceArn"] == {"Fn::GetAtt": ["GraphQLApi", "Arn"]}


def test_the_recorder_writes_items_and_nothing_else(templates: dict[str, dict[str, Any]]) -> None:
    template = templates["shipped"]
    assert actions(template, "RecorderRole") == {
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "kms:Decrypt",
        "kms:Encrypt",
        "kms:GenerateDataKey",
        "sqs:SendMessage",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
    }
    by_action = {
        action: statement["Resource"]
        for name, _, statement in statements_of(template)
        if name == "RecorderRole" and "Resource" in statement
        for action in statement["Action"]
    }
    assert by_action["dynamodb:UpdateItem"] == [{"Fn::GetAtt": ["StateTable", "Arn"]}]
    assert by_action["sqs:SendMessage"] == [{"Fn::GetAtt": ["RecorderDeadLetterQueue", "Arn"]}]
    assert by_action["logs:PutLogEvents"] == [{"Fn::GetAtt": ["RecorderLogGroup", "Arn"]}]


# --- the recorder --------------------------------------------------------------------------------------


def test_the_recorder_function(templates: dict[str, dict[str, Any]]) -> None:
    template = templates["shipped"]
    function = props(template, "RecorderFunction")
    assert function["Runtime"] == "python3.12"
    assert function["Architectures"] == ["arm64"]
    assert function["Code"] == {"S3Bucket": {"Ref": "AssetBucket"}, "S3Key": function_asset("recorder").key}
    assert template["Parameters"]["AssetBucket"]["Type"] == "String"
    assert "Default" not in template["Parameters"]["AssetBucket"]
    assert function["Handler"] == "index.handler"
    assert function["LoggingConfig"] == {"LogFormat": "JSON", "LogGroup": {"Ref": "RecorderLogGroup"}}
    assert function["TracingConfig"] == {"Mode": "Active"}
    assert function["ReservedConcurrentExecutions"] >= 1
    assert function["DeadLetterConfig"] == {"TargetArn": {"Fn::GetAtt": ["RecorderDeadLetterQueue", "Arn"]}}
    assert function["Environment"] == {"Variables": {"TABLE_NAME": {"Ref": "StateTable"}}}
    permission = props(template, "RecorderPermission")
    assert permission["Principal"] == "events.amazonaws.com"
    assert permission["SourceArn"] == {"Fn::GetAtt": ["RecorderRule", "Arn"]}
    assert props(template, "RecorderRule")["Targets"][0]["Arn"] == {"Fn::GetAtt": ["RecorderFunction", "Arn"]}


def test_recorder_failures_end_in_its_encrypted_dead_letter_queue(templates: dict[str, dict[str, Any]]) -> None:
    template = templates["shipped"]
    queue = {"Fn::GetAtt": ["RecorderDeadLetterQueue", "Arn"]}
    assert props(template, "RecorderFunction")["KmsKeyArn"] == {"Fn::GetAtt": ["ConsoleKey", "Arn"]}
    # Events the rule cannot deliver, and invocations that fail after their retries, land in the queue.
    (target,) = props(template, "RecorderRule")["Targets"]
    assert target["DeadLetterConfig"] == {"Arn": queue}
    invoke = props(template, "RecorderInvokeConfig")
    assert invoke["FunctionName"] == {"Ref": "RecorderFunction"}
    assert invoke["MaximumRetryAttempts"] == 2
    assert invoke["DestinationConfig"] == {"OnFailure": {"Destination": queue}}
    (sender,) = props(template, "RecorderDeadLetterQueuePolicy")["PolicyDocument"]["Statement"]
    assert sender["Principal"] == {"Service": "events.amazonaws.com"}
    assert sender["Condition"] == {"ArnLike": {"aws:SourceArn": {"Fn::GetAtt": ["RecorderRule", "Arn"]}}}
    # EventBridge may encrypt into the queue with the console key, for the recorder's rule only.
    statements = props(template, "ConsoleKey")["KeyPolicy"]["Statement"]
    (events,) = [st for st in statements if st["Principal"] == {"Service": "events.amazonaws.com"}]
    assert events["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert events["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::Sub"].endswith(":rule/pipectl-console-recorder")


def test_accepted_scanner_findings_give_their_reason(templates: dict[str, dict[str, Any]]) -> None:
    skip = template_skips(templates["shipped"])
    assert set(skip) >= {("RecorderFunction", "CKV_AWS_117")}
    assert all(len(reason) > 40 for reason in skip.values())


def template_skips(template: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {
        (name, entry["id"]): entry["comment"]
        for name, resource in template["Resources"].items()
        for entry in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    }


def _resolve_subs(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"Fn::Sub"}:
        return (
            value["Fn::Sub"]
            .replace("${AWS::Partition}", "aws")
            .replace("${AWS::Region}", REGION)
            .replace("${AWS::AccountId}", ACCOUNT)
        )
    if isinstance(value, dict):
        return {k: _resolve_subs(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve_subs(v) for v in value]
    return value


def _event(detail_type: str, source: str, resource: str) -> dict[str, Any]:
    return {"detail-type": detail_type, "source": source, "resources": [resource], "detail": {}}


@pytest.mark.parametrize(
    ("event", "matches"),
    [
        (
            _event(
                "CloudFormation Stack Status Change",
                "aws.cloudformation",
                f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/pipectl-shop-prod-storage/1",
            ),
            True,
        ),
        (
            _event(
                "CloudFormation Stack Status Change",
                "aws.cloudformation",
                f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/pipectl-console/1",
            ),
            True,
        ),
        (
            _event(
                "CodePipeline Pipeline Execution State Change",
                "aws.codepipeline",
                f"arn:aws:codepipeline:{REGION}:{ACCOUNT}:pipectl",
            ),
            True,
        ),
        (
            _event(
                "CodePipeline Action Execution State Change",
                "aws.codepipeline",
                f"arn:aws:codepipeline:{REGION}:{ACCOUNT}:pipectl",
            ),
            True,
        ),
        (
            _event(
                "CodePipeline Action Execution State Change",
                "aws.codepipeline",
                f"arn:aws:codepipeline:{REGION}:{ACCOUNT}:billing",
            ),
            False,
        ),
        (
            _event(
                "CloudFormation Stack Status Change",
                "aws.cloudformation",
                f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/someone-else/1",
            ),
            False,
        ),
        (
            _event(
                "CodePipeline Pipeline Execution State Change",
                "aws.codepipeline",
                f"arn:aws:codepipeline:{REGION}:{ACCOUNT}:billing",
            ),
            False,
        ),
        (
            _event(
                "CloudFormation Resource Status Change",
                "aws.cloudformation",
                f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/pipectl-shop-prod-storage/1",
            ),
            False,
        ),
    ],
)
def test_the_rule_sends_exactly_our_events(
    templates: dict[str, dict[str, Any]], event: dict[str, Any], matches: bool
) -> None:
    pattern = _resolve_subs(props(templates["shipped"], "RecorderRule")["EventPattern"])
    assert EventPattern.load(json.dumps(pattern)).matches_event(cast(Any, event)) is matches


# --- the dashboard -------------------------------------------------------------------------------------


def test_the_dashboard_watches_recorder_api_table_and_firewall(templates: dict[str, dict[str, Any]]) -> None:
    dashboard = props(templates["shipped"], "ConsoleDashboard")
    assert dashboard["DashboardName"] == "pipectl-console"
    body_text, variables = dashboard["DashboardBody"]["Fn::Sub"]
    placeholders = set(re.findall(r"\$\{([^}]+)\}", body_text))
    assert placeholders == {"AWS::Region", *variables}
    body = json.loads(body_text)
    metrics = [m for w in body["widgets"] if w["type"] == "metric" for m in w["properties"]["metrics"]]
    seen = {(m[0], m[1]) for m in metrics if len(m) > 1}  # not the searches (one object each)
    assert {
        ("AWS/Lambda", "Invocations"),
        ("AWS/Lambda", "Errors"),
        ("AWS/AppSync", "Requests"),
        ("AWS/AppSync", "5XXError"),
        ("AWS/AppSync", "Latency"),
        ("AWS/DynamoDB", "ConsumedReadCapacityUnits"),
        ("AWS/DynamoDB", "WriteThrottleEvents"),
        ("AWS/WAFV2", "BlockedRequests"),
    } <= seen
    assert variables["ApiId"] == {"Fn::GetAtt": ["GraphQLApi", "ApiId"]}
    assert variables["RecorderFunction"] == {"Ref": "RecorderFunction"}


# --- the resolvers, evaluated with node against moto's DynamoDB ----------------------------------------


@pytest.fixture(scope="module")
def resolvers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Resolvers]:
    with node_resolvers(tmp_path_factory.mktemp("resolvers")) as running:
        yield running


@pytest.fixture(scope="module")
def state(templates: dict[str, dict[str, Any]]) -> Iterator[Any]:
    """A moto table with the template's own keys and index, holding items of every kind."""
    with seeded_table(props(templates["shipped"], "StateTable"), REGION) as seeded:
        yield seeded


def test_pipelines_lists_every_pipeline_and_nothing_else(resolvers: Resolvers, state: Any) -> None:
    pipelines = ask(resolvers, state, "pipelines", {})
    assert [p["name"] for p in pipelines] == ["shop", "shop-eu"]
    assert pipelines[0] == {
        "name": "shop",
        "owner": "analytics@example.com",
        "region": "eu-west-1",
        "envs": ["test", "prod"],
        "updatedAt": "2024-05-01T09:00:00Z",
    }


def test_pipeline_finds_one_or_none(resolvers: Resolvers, state: Any) -> None:
    assert ask(resolvers, state, "pipeline", {"name": "shop-eu"})["owner"] == "eu@example.com"
    assert ask(resolvers, state, "pipeline", {"name": "nope"}) is None


def test_runs_are_newest_first_with_their_stack_results(resolvers: Resolvers, state: Any) -> None:
    runs = ask(resolvers, state, "runs", {"pipeline": "shop"})
    assert [r["runId"] for r in runs] == ["r2", "r1"]
    assert runs[1]["stacks"] == [
        {"stack": "pipectl-shop-prod-ingestion", "result": "failed"},
        {"stack": "pipectl-shop-prod-storage", "result": "ok"},
    ]
    assert runs[1]["pipeline"] == "shop"
    assert runs[1]["endedAt"] == "2024-05-01T10:09:00Z"
    assert [r["runId"] for r in ask(resolvers, state, "runs", {"pipeline": "shop", "limit": 1})] == ["r2"]


def test_runs_limit_is_capped(resolvers: Resolvers) -> None:
    request = resolvers.run("runs", "request", {"args": {"pipeline": "shop", "limit": 100000}})["value"]
    assert request["limit"] == 100
    request = resolvers.run("runs", "request", {"args": {"pipeline": "shop"}})["value"]
    assert request["limit"] == 20


def test_stacks_of_a_pipeline_and_of_one_environment(resolvers: Resolvers, state: Any) -> None:
    every = ask(resolvers, state, "stacks", {"pipeline": "shop"})
    assert [s["stack"] for s in every] == ["pipectl-shop-prod-storage", "pipectl-shop-test-storage"]
    [prod] = ask(resolvers, state, "stacks", {"pipeline": "shop", "env": "prod"})
    assert prod == {
        "pipeline": "shop",
        "stack": "pipectl-shop-prod-storage",
        "kind": "storage",
        "env": "prod",
        "status": "UPDATE_COMPLETE",
        "reason": "",
        "revision": "abc1234",
        "updatedAt": "2024-05-01T10:03:00Z",
        "outputs": [
            {"key": "DataBucketName", "value": "shop-data"},
            {"key": "KeyArn", "value": "arn:aws:kms:eu-west-1:123456789012:key/k"},
        ],
    }


def test_data_source_errors_reach_the_caller(resolvers: Resolvers) -> None:
    following = [name for functions in FOLLOWING.values() for name in functions]
    for field in [*QUERIES, ACCESS_FUNCTION, *(f for _, f in FIELDS), *following]:
        answer = resolvers.run(field, "response", {"args": {}, "error": {"message": "throttled", "type": "X"}})
        assert answer == {"error": "throttled", "type": "X"}


def test_a_pipeline_lists_its_environments_with_their_graph(resolvers: Resolvers, state: Any) -> None:
    prod, test = ask_field(resolvers, state, "environments", {"name": "shop"})
    assert (prod["env"], prod["status"], prod["drift"], test["env"]) == ("prod", "failed", "DRIFTED", "test")
    assert prod["collectorUrl"] == "https://collect.example.com/collect"
    assert prod["dashboardUrl"].endswith("#dashboards/dashboard/pipectl-shop-prod")
    assert prod["driftedStacks"] == ["pipectl-shop-prod-storage"]
    assert prod["graph"] == [
        {"stack": "pipectl-shop-prod-ingestion", "dependsOn": ["pipectl-shop-prod-storage"]},
        {"stack": "pipectl-shop-prod-storage", "dependsOn": []},
    ]
    assert [e["env"] for e in ask_field(resolvers, state, "environments", {"name": "shop-eu"})] == ["prod"]
    assert ask_field(resolvers, state, "environments", {"name": "nope"}) == []


def test_a_run_carries_its_plan_and_what_changed_and_failed(resolvers: Resolvers, state: Any) -> None:
    run = ask(resolvers, state, "run", {"runId": "r1"})
    assert gzip.decompress(base64.b64decode(run["planMarkdownGzip"])).startswith(b"# Plan abc1234")
    assert (run["trigger"], run["durationSeconds"], run["pipelines"]) == ("push", 540, ["shop", "shop-eu"])
    assert run["changed"] == ["pipectl-shop-prod-storage"]
    assert run["failed"] == ["pipectl-shop-prod-ingestion"]
    assert ask(resolvers, state, "run", {"runId": "nope"}) is None


def test_approvals_are_those_that_wait(resolvers: Resolvers, state: Any) -> None:
    [waiting] = ask(resolvers, state, "approvals", {})
    assert (waiting["executionId"], waiting["state"], waiting["stage"]) == ("e-1", "STARTED", "Approve")
    assert waiting["url"].endswith("/codepipeline/pipelines/pipectl/view?region=eu-west-1")


MAPPING = {"pk": "CONSOLE", "sk": "ACCESS", "admins_group": "admins", "groups": {"team-shop": ["shop"]}}


@pytest.fixture
def mapped(state: Any) -> Iterator[Any]:
    """The state with groups mapped to pipelines, as the controller writes _console.yaml's `access`."""
    client, table_name = state
    boto3.resource("dynamodb", region_name=REGION).Table(table_name).put_item(Item=MAPPING)
    yield state
    client.delete_item(TableName=table_name, Key={"pk": {"S": "CONSOLE"}, "sk": {"S": "ACCESS"}})


def test_with_groups_mapped_a_team_sees_its_own_pipelines_only(resolvers: Resolvers, mapped: Any) -> None:
    team = ["team-shop", "someone-else"]
    assert [p["name"] for p in ask(resolvers, mapped, "pipelines", {}, team)] == ["shop"]
    assert ask(resolvers, mapped, "pipeline", {"name": "shop-eu"}, team) is None
    assert ask(resolvers, mapped, "pipeline", {"name": "shop"}, team)["name"] == "shop"
    assert ask(resolvers, mapped, "stacks", {"pipeline": "shop-eu"}, team) == []
    assert len(ask(resolvers, mapped, "runs", {"pipeline": "shop"}, team)) == 2
    assert ask(resolvers, mapped, "runs", {"pipeline": "shop-eu"}, team) == []
    assert ask(resolvers, mapped, "run", {"runId": "r1"}, team) is None  # it touched shop-eu too
    assert ask(resolvers, mapped, "run", {"runId": "r2"}, team)["runId"] == "r2"
    assert ask(resolvers, mapped, "approvals", {}, team) == []


def test_with_groups_mapped_admins_see_everything_and_strangers_nothing(resolvers: Resolvers, mapped: Any) -> None:
    assert [p["name"] for p in ask(resolvers, mapped, "pipelines", {}, ["admins"])] == ["shop", "shop-eu"]
    assert ask(resolvers, mapped, "run", {"runId": "r1"}, ["admins"])["runId"] == "r1"
    assert len(ask(resolvers, mapped, "approvals", {}, ["admins"])) == 1
    assert ask(resolvers, mapped, "pipelines", {}, []) == []
    assert ask(resolvers, mapped, "pipelines", {}) == []  # a token without the claim


def test_without_a_mapping_every_user_sees_everything(resolvers: Resolvers, state: Any) -> None:
    assert [p["name"] for p in ask(resolvers, state, "pipelines", {}, [])] == ["shop", "shop-eu"]
    assert len(ask(resolvers, state, "approvals", {}, ["anyone"])) == 1


def test_an_oidc_groups_claim_may_be_one_string(tmp_path: Path, mapped: Any) -> None:
    """Some providers send groups space- or comma-separated in one string claim."""
    claims = {"args": {}, "identity": {"claims": {"groups": "team-shop other"}}, "stash": {}}
    with node_resolvers(tmp_path, groups_claim="groups") as oidc:
        _, stash = run_function(oidc, mapped, ACCESS_FUNCTION, claims)
    assert stash["visible"] == ["shop"]


# --- hosting -------------------------------------------------------------------------------------------


def test_the_site_bucket_is_private_encrypted_tls_only_and_retained(templates: dict[str, dict[str, Any]]) -> None:
    template = templates["shipped"]
    resource = template["Resources"]["SiteBucket"]
    assert (resource["DeletionPolicy"], resource["UpdateReplacePolicy"]) == ("Retain", "Retain")
    bucket = resource["Properties"]
    assert bucket["BucketName"] == {"Fn::Sub": "pipectl-console-site-${AWS::AccountId}-${AWS::Region}"}
    [rule] = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": {"Fn::GetAtt": ["ConsoleKey", "Arn"]},
    }
    assert all(bucket["PublicAccessBlockConfiguration"].values()) and len(bucket["PublicAccessBlockConfiguration"]) == 4
    assert bucket["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    deny, read = props(template, "SiteBucketPolicy")["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert read["Principal"] == {"Service": "cloudfront.amazonaws.com"} and read["Action"] == ["s3:GetObject"]
    assert read["Condition"]["StringEquals"]["AWS:SourceArn"] == {
        "Fn::Sub": "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${ConsoleDistribution}"
    }


def test_cloudfront_may_decrypt_the_site_bucket_only(templates: dict[str, dict[str, Any]]) -> None:
    statements = props(templates["shipped"], "ConsoleKey")["KeyPolicy"]["Statement"]
    [grant] = [s for s in statements if s["Principal"].get("Service") == "cloudfront.amazonaws.com"]
    assert grant["Action"] == ["kms:Decrypt"]
    assert grant["Condition"]["StringEquals"]["kms:EncryptionContext:aws:s3:arn"] == {
        "Fn::Sub": "arn:${AWS::Partition}:s3:::pipectl-console-site-${AWS::AccountId}-${AWS::Region}"
    }


def test_the_distribution_serves_the_app_version_through_origin_access_control(
    templates: dict[str, dict[str, Any]],
) -> None:
    template = templates["shipped"]
    config = props(template, "ConsoleDistribution")["DistributionConfig"]
    [origin] = config["Origins"]
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": ["SiteOriginAccessControl", "Id"]}
    assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}  # no legacy identity
    assert origin["DomainName"] == {"Fn::GetAtt": ["SiteBucket", "RegionalDomainName"]}
    site = site_asset()
    assert origin["OriginPath"] == f"/{site.sha256}"
    assert template["Metadata"]["pipectl:console-site"] == {"asset": site.key, "prefix": site.sha256}
    assert props(template, "SiteOriginAccessControl")["OriginAccessControlConfig"]["SigningBehavior"] == "always"
    assert config["DefaultRootObject"] == "index.html"
    behavior = config["DefaultCacheBehavior"]
    assert behavior["ViewerProtocolPolicy"] == "redirect-to-https"
    assert behavior["ResponseHeadersPolicyId"] == {"Ref": "SiteHeadersPolicy"}
    assert {(e["ErrorCode"], e["ResponseCode"], e["ResponsePagePath"]) for e in config["CustomErrorResponses"]} == {
        (403, 200, "/index.html"),
        (404, 200, "/index.html"),
    }
    assert config["ViewerCertificate"] == {"CloudFrontDefaultCertificate": True}
    assert "Aliases" not in config
    assert template["Outputs"]["ConsoleUrl"]["Value"] == {"Fn::Sub": "https://${ConsoleDistribution.DomainName}"}


def test_a_console_domain_brings_its_certificate(templates: dict[str, dict[str, Any]]) -> None:
    template = templates["domain"]
    config = props(template, "ConsoleDistribution")["DistributionConfig"]
    assert config["Aliases"] == ["console.example.com"]
    assert config["ViewerCertificate"]["AcmCertificateArn"].startswith("arn:aws:acm:us-east-1:")
    assert config["ViewerCertificate"]["SslSupportMethod"] == "sni-only"
    assert config["ViewerCertificate"]["MinimumProtocolVersion"] == "TLSv1.2_2021"
    assert template["Outputs"]["ConsoleUrl"]["Value"] == "https://console.example.com"
    client = props(template, "ConsoleAppClient")
    assert {"Fn::Sub": ["${Url}/", {"Url": "https://console.example.com"}]} in client["CallbackURLs"]
    assert template["Metadata"]["pipectl:console-access"]["groups"] == {"team-shop": ["shop"]}


def test_security_headers_allow_only_the_app_the_api_and_sign_in(templates: dict[str, dict[str, Any]]) -> None:
    headers = props(templates["shipped"], "SiteHeadersPolicy")["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    csp_text, variables = headers["ContentSecurityPolicy"]["ContentSecurityPolicy"]["Fn::Sub"]
    directives = dict(d.strip().split(" ", 1) for d in csp_text.split(";"))
    assert directives["default-src"] == "'self'" and directives["script-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
    assert directives["connect-src"].split() == [
        "'self'",
        "https://${GraphQLApi.GraphQLDns}",
        "wss://${GraphQLApi.RealtimeDns}",
        "https://cognito-idp.${AWS::Region}.amazonaws.com",
        "${SignIn}",
    ]
    assert variables["SignIn"] == {
        "Fn::Sub": "https://pipectl-console-${AWS::AccountId}.auth.${AWS::Region}.amazoncognito.com"
    }
    assert headers["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000
    assert headers["StrictTransportSecurity"]["IncludeSubdomains"] is True
    assert headers["FrameOptions"]["FrameOption"] == "DENY"
    assert headers["ContentTypeOptions"] == {"Override": True}
    assert headers["ReferrerPolicy"]["ReferrerPolicy"] == "strict-origin-when-cross-origin"
    oidc = props(templates["oidc"], "SiteHeadersPolicy")["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    assert oidc["ContentSecurityPolicy"]["ContentSecurityPolicy"]["Fn::Sub"][1]["SignIn"] == "https://login.example.com"


def test_the_app_client_signs_in_with_the_code_grant_and_pkce(templates: dict[str, dict[str, Any]]) -> None:
    template = templates["shipped"]
    client = props(template, "ConsoleAppClient")
    assert client["GenerateSecret"] is False  # a public client: PKCE, no secret
    assert client["AllowedOAuthFlows"] == ["code"] and client["AllowedOAuthFlowsUserPoolClient"] is True
    assert "openid" in client["AllowedOAuthScopes"]
    # The console's own URL only: nothing serves the app on another address against this pool.
    expected = [{"Fn::Sub": ["${Url}/", {"Url": {"Fn::Sub": "https://${ConsoleDistribution.DomainName}"}}]}]
    assert client["CallbackURLs"] == expected and client["LogoutURLs"] == expected
    domain = props(template, "ConsoleUserPoolDomain")
    assert domain == {
        "UserPoolId": {"Ref": "ConsoleUserPool"},
        "Domain": {"Fn::Sub": "pipectl-console-${AWS::AccountId}"},
        "ManagedLoginVersion": 1,
    }
    assert "ConsoleAppClient" not in templates["oidc"]["Resources"]
