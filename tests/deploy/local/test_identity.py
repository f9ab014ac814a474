"""Cognito and AppSync (the console stack's shape), created through a change set, found by boto3."""

from __future__ import annotations

import json
from typing import Any

import pytest

from generator.deploy.local import LocalSession
from generator.deploy.local.models.recorded import recorded_resources
from generator.deploy.local.session import ACCOUNT_ID
from tests.deploy.local.conftest import REGION, change_set, physical_ids, role, unique

SCHEMA = "type Query { pipelines: [String] }\nschema { query: Query }\n"


def template(domain: str) -> dict[str, Any]:
    return {
        "Resources": {
            "UserPool": {"Type": "AWS::Cognito::UserPool", "Properties": {"UserPoolName": "console-users"}},
            "UserPoolClient": {
                "Type": "AWS::Cognito::UserPoolClient",
                "Properties": {"UserPoolId": {"Ref": "UserPool"}, "ClientName": "console"},
            },
            "UserPoolDomain": {
                "Type": "AWS::Cognito::UserPoolDomain",
                "Properties": {"UserPoolId": {"Ref": "UserPool"}, "Domain": domain},
            },
            "AdminUser": {
                "Type": "AWS::Cognito::UserPoolUser",
                "Properties": {
                    "UserPoolId": {"Ref": "UserPool"},
                    "Username": "admin",
                    "UserAttributes": [{"Name": "email", "Value": "admin@example.com"}],
                },
            },
            "AdminsGroup": {
                "Type": "AWS::Cognito::UserPoolGroup",
                "Properties": {"UserPoolId": {"Ref": "UserPool"}, "GroupName": "admins", "Description": "see all"},
            },
            "AdminInAdmins": {
                "Type": "AWS::Cognito::UserPoolUserToGroupAttachment",
                "DependsOn": ["AdminUser"],
                "Properties": {
                    "UserPoolId": {"Ref": "UserPool"},
                    "Username": "admin",
                    "GroupName": {"Ref": "AdminsGroup"},
                },
            },
            "GraphQLApi": {
                "Type": "AWS::AppSync::GraphQLApi",
                "Properties": {
                    "Name": "pipectl-console",
                    "AuthenticationType": "AMAZON_COGNITO_USER_POOLS",
                    "UserPoolConfig": {
                        "UserPoolId": {"Ref": "UserPool"},
                        "AwsRegion": {"Ref": "AWS::Region"},
                        "DefaultAction": "ALLOW",
                    },
                },
            },
            "GraphQLSchema": {
                "Type": "AWS::AppSync::GraphQLSchema",
                "Properties": {"ApiId": {"Fn::GetAtt": ["GraphQLApi", "ApiId"]}, "Definition": SCHEMA},
            },
            "StateTableRole": role("appsync.amazonaws.com"),
            "StateDataSource": {
                "Type": "AWS::AppSync::DataSource",
                "Properties": {
                    "ApiId": {"Fn::GetAtt": ["GraphQLApi", "ApiId"]},
                    "Name": "StateTable",
                    "Type": "NONE",
                    "ServiceRoleArn": {"Fn::GetAtt": ["StateTableRole", "Arn"]},
                },
            },
            "PipelinesResolver": {
                "Type": "AWS::AppSync::Resolver",
                "Properties": {
                    "ApiId": {"Fn::GetAtt": ["GraphQLApi", "ApiId"]},
                    "TypeName": "Query",
                    "FieldName": "pipelines",
                    "DataSourceName": {"Fn::GetAtt": ["StateDataSource", "Name"]},
                },
            },
        },
        "Outputs": {
            "UserPoolId": {"Value": {"Ref": "UserPool"}},
            "UserPoolArn": {"Value": {"Fn::GetAtt": ["UserPool", "Arn"]}},
            "ProviderName": {"Value": {"Fn::GetAtt": ["UserPool", "ProviderName"]}},
            "ClientId": {"Value": {"Ref": "UserPoolClient"}},
            "Domain": {"Value": {"Ref": "UserPoolDomain"}},
            "AdminsGroup": {"Value": {"Ref": "AdminsGroup"}},
            "GraphQLApiArn": {"Value": {"Ref": "GraphQLApi"}},
            "GraphQLApiId": {"Value": {"Fn::GetAtt": ["GraphQLApi", "ApiId"]}},
            "GraphQLUrl": {"Value": {"Fn::GetAtt": ["GraphQLApi", "GraphQLUrl"]}},
            "ResolverArn": {"Value": {"Fn::GetAtt": ["PipelinesResolver", "ResolverArn"]}},
        },
    }


@pytest.fixture(scope="module")
def stack(session: LocalSession) -> tuple[str, dict[str, str]]:
    name = unique("console")
    return name, change_set(session, template(unique("pipectl-login")), name, "CREATE")


def test_user_pool_client_domain_and_user_exist(session: LocalSession, stack: tuple[str, dict[str, str]]) -> None:
    _, out = stack
    idp = session.client("cognito-idp")
    pool = idp.describe_user_pool(UserPoolId=out["UserPoolId"])["UserPool"]
    assert (pool["Name"], pool["Arn"]) == ("console-users", out["UserPoolArn"])
    assert out["ProviderName"] == f"cognito-idp.{REGION}.amazonaws.com/{out['UserPoolId']}"
    client = idp.describe_user_pool_client(UserPoolId=out["UserPoolId"], ClientId=out["ClientId"])
    assert client["UserPoolClient"]["ClientName"] == "console"
    assert idp.describe_user_pool_domain(Domain=out["Domain"])["DomainDescription"]["UserPoolId"] == out["UserPoolId"]
    user = idp.admin_get_user(UserPoolId=out["UserPoolId"], Username="admin")
    assert {"Name": "email", "Value": "admin@example.com"} in user["UserAttributes"]


def test_the_admins_group_exists_and_holds_the_admin(session: LocalSession, stack: tuple[str, dict[str, str]]) -> None:
    _, out = stack
    idp = session.client("cognito-idp")
    assert out["AdminsGroup"] == "admins"  # Ref of a group is its name
    group = idp.get_group(UserPoolId=out["UserPoolId"], GroupName="admins")["Group"]
    assert group["Description"] == "see all"
    members = idp.list_users_in_group(UserPoolId=out["UserPoolId"], GroupName="admins")["Users"]
    assert [u["Username"] for u in members] == ["admin"]


def test_an_update_changes_the_group_in_place_and_a_removed_attachment_leaves_it(session: LocalSession) -> None:
    name = unique("console")
    first = template(unique("pipectl-groups"))
    out = change_set(session, first, name, "CREATE")
    changed = json.loads(json.dumps(first))
    changed["Resources"]["AdminsGroup"]["Properties"]["Description"] = "every pipeline"
    del changed["Resources"]["AdminInAdmins"]
    change_set(session, changed, name, "UPDATE")
    idp = session.client("cognito-idp")
    assert idp.get_group(UserPoolId=out["UserPoolId"], GroupName="admins")["Group"]["Description"] == "every pipeline"
    assert idp.list_users_in_group(UserPoolId=out["UserPoolId"], GroupName="admins")["Users"] == []
    groups = idp.admin_list_groups_for_user(UserPoolId=out["UserPoolId"], Username="admin")["Groups"]
    assert groups == []


def test_graphql_api_uses_the_pool_and_has_a_schema(session: LocalSession, stack: tuple[str, dict[str, str]]) -> None:
    _, out = stack
    appsync = session.client("appsync")
    api = appsync.get_graphql_api(apiId=out["GraphQLApiId"])["graphqlApi"]
    assert api["arn"] == out["GraphQLApiArn"]
    assert api["userPoolConfig"]["userPoolId"] == out["UserPoolId"]
    assert appsync.get_schema_creation_status(apiId=out["GraphQLApiId"])["status"] == "SUCCESS"
    assert out["GraphQLUrl"] == f"https://{out['GraphQLApiId']}.appsync-api.{REGION}.amazonaws.com/graphql"


def test_data_source_and_resolver_are_recorded(session: LocalSession, stack: tuple[str, dict[str, str]]) -> None:
    name, out = stack
    ids = physical_ids(session, name)
    assert ids["StateDataSource"] == f"{out['GraphQLApiArn']}/datasources/StateTable"
    assert ids["PipelinesResolver"] == out["ResolverArn"] == f"{out['GraphQLApiArn']}/types/Query/resolvers/pipelines"
    assert ids["StateDataSource"] in recorded_resources(ACCOUNT_ID, REGION, "AWS::AppSync::DataSource")
    assert out["ResolverArn"] in recorded_resources(ACCOUNT_ID, REGION, "AWS::AppSync::Resolver")


def test_deleting_the_stack_removes_pool_and_api(session: LocalSession) -> None:
    name = unique("console")
    out = change_set(session, template(unique("pipectl-gone")), name, "CREATE")
    session.client("cloudformation").delete_stack(StackName=name)
    pools = session.client("cognito-idp").list_user_pools(MaxResults=60)["UserPools"]
    assert out["UserPoolId"] not in {p["Id"] for p in pools}
    apis = session.client("appsync").list_graphql_apis()["graphqlApis"]
    assert out["GraphQLApiId"] not in {a["apiId"] for a in apis}
    assert out["ResolverArn"] not in recorded_resources(ACCOUNT_ID, REGION, "AWS::AppSync::Resolver")
