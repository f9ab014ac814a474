"""Who may read the state, and how: the Cognito user pool (when the console signs in with it), the
GraphQL API with its log group, and one resolver per query."""

from __future__ import annotations

from typing import Any

from troposphere import GetAtt, Output, Ref, Sub, Template
from troposphere.appsync import (
    AppSyncRuntime,
    DataSource,
    DynamoDBConfig,
    FunctionConfiguration,
    GraphQLApi,
    GraphQLSchema,
    LogConfig,
    OpenIDConnectConfig,
    PipelineConfig,
    Resolver,
    UserPoolConfig,
)
from troposphere.cognito import (
    AccountRecoverySetting,
    AdminCreateUserConfig,
    AttributeType,
    PasswordPolicy,
    Policies,
    RecoveryOption,
    TokenValidityUnits,
    UserPool,
    UserPoolAddOns,
    UserPoolClient,
    UserPoolDomain,
    UserPoolGroup,
    UserPoolUser,
    UserPoolUserToGroupAttachment,
)
from troposphere.dynamodb import Table
from troposphere.iam import Policy as InlinePolicy
from troposphere.iam import PolicyType, Role
from troposphere.kms import Key

from generator.contract import APPROVAL_WAITING, COGNITO_GROUPS_CLAIM
from generator.policy import console as policy
from generator.spec.models import ConsoleAuthCognito, ConsoleAuthOidc, ConsoleSpec
from generator.stacks import common
from generator.stacks.common import add_output, keep, render
from generator.stacks.console.names import (
    ACCESS_FUNCTION,
    API_NAME,
    FIELDS,
    FOLLOWING,
    KEYS,
    LIMITS,
    QUERIES,
    RESULTS,
    SIGN_IN_DOMAIN,
    STACK,
)
from generator.stacks.console.state import ControlPlane


def add_api(plane: ControlPlane) -> tuple[GraphQLApi, UserPool | None]:
    """The API (and the user pool it signs in with, for Cognito), its schema and resolvers."""
    console = plane.console
    user_pool = _user_pool(plane.template, console) if isinstance(console.auth, ConsoleAuthCognito) else None
    if isinstance(console.auth, ConsoleAuthOidc):
        _oidc_outputs(plane.template, console.auth)
    api = _graphql_api(plane.template, console, plane.key, user_pool)
    _schema_and_resolvers(plane.template, api, plane.table, plane.key, console.groups_claim)
    return api, user_pool


def sign_in_origin(console: ConsoleSpec) -> Any:
    """Where the browser signs in and exchanges its code: the pool's domain, or the OIDC issuer's origin."""
    if isinstance(console.auth, ConsoleAuthOidc):
        scheme, _, rest = console.auth.issuer.partition("://")
        return f"{scheme}://{rest.split('/')[0]}"
    return _cognito_sign_in()


def _cognito_sign_in() -> Sub:
    return Sub(f"https://{SIGN_IN_DOMAIN}.auth.${{AWS::Region}}.amazoncognito.com")


def _oidc_outputs(template: Template, auth: ConsoleAuthOidc) -> None:
    """What the app (config.json) and the local console need to sign in with the provider and to read
    the caller's groups: the issuer (its discovery document names every endpoint), the client, the claim."""
    template.add_output(Output("OidcIssuer", Description="OpenID Connect issuer of console users", Value=auth.issuer))
    template.add_output(Output("OidcClientId", Description="Client of the console at the issuer", Value=auth.client_id))
    template.add_output(Output("GroupsClaim", Description="ID token claim listing the groups", Value=auth.groups_claim))


def add_app_client(template: Template, pool: UserPool, console_url: Any) -> UserPoolClient:
    """The console's app client: the authorization code grant with PKCE and no secret (a browser keeps
    none), back to the console's URL only: nothing else serves the app against this pool."""
    client = template.add_resource(
        UserPoolClient(
            "ConsoleAppClient",
            ClientName="pipectl-console",
            UserPoolId=Ref(pool),
            GenerateSecret=False,
            ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
            AllowedOAuthFlowsUserPoolClient=True,
            AllowedOAuthFlows=["code"],
            AllowedOAuthScopes=["openid", "email", "profile"],
            SupportedIdentityProviders=["COGNITO"],
            CallbackURLs=[Sub("${Url}/", Url=console_url)],
            LogoutURLs=[Sub("${Url}/", Url=console_url)],
            PreventUserExistenceErrors="ENABLED",
            EnableTokenRevocation=True,
            AccessTokenValidity=60,
            IdTokenValidity=60,
            RefreshTokenValidity=12,
            TokenValidityUnits=TokenValidityUnits(AccessToken="minutes", IdToken="minutes", RefreshToken="hours"),
        )
    )
    # The console app needs the client id to sign in; it is shown, not exported (not part of the contract).
    template.add_output(Output("UserPoolClientId", Description="App client of the console", Value=Ref(client)))
    template.add_output(
        Output(
            "SignInDomain",
            Description="Where the console signs in (authorize and token endpoints)",
            Value=_cognito_sign_in(),
        )
    )
    return client


def _user_pool(template: Template, console: ConsoleSpec) -> UserPool:
    """Console users: invited by an administrator only, MFA always on; threat protection (the paid Plus
    plan, billed per active user) only when `_console.yaml` asks for it."""
    pool = template.add_resource(
        keep(
            UserPool(
                "ConsoleUserPool",
                UserPoolName="pipectl-console",
                UserPoolTier=console.user_pool.tier,
                UsernameAttributes=["email"],
                AutoVerifiedAttributes=["email"],
                MfaConfiguration="ON",
                EnabledMfas=["SOFTWARE_TOKEN_MFA"],
                UserPoolAddOns=UserPoolAddOns(AdvancedSecurityMode=console.user_pool.advanced_security_mode),
                AdminCreateUserConfig=AdminCreateUserConfig(AllowAdminCreateUserOnly=True),
                AccountRecoverySetting=AccountRecoverySetting(
                    RecoveryMechanisms=[RecoveryOption(Name="verified_email", Priority=1)]
                ),
                Policies=Policies(
                    PasswordPolicy=PasswordPolicy(
                        MinimumLength=14,
                        RequireLowercase=True,
                        RequireUppercase=True,
                        RequireNumbers=True,
                        RequireSymbols=True,
                        TemporaryPasswordValidityDays=3,
                        PasswordHistorySize=5,
                    )
                ),
                DeletionProtection="ACTIVE",
            ),
            True,
        )
    )
    add_output(template, STACK, "UserPoolId", Ref(pool), "Cognito user pool of console users")
    template.add_resource(
        UserPoolDomain(
            "ConsoleUserPoolDomain",
            UserPoolId=Ref(pool),
            Domain=Sub(SIGN_IN_DOMAIN),
            ManagedLoginVersion=1,
        )
    )
    # The access function lets members of this group see everything; the name is `access.admins_group`.
    admins = template.add_resource(
        UserPoolGroup(
            "ConsoleAdminsGroup",
            UserPoolId=Ref(pool),
            GroupName=console.access.admins_group,
            Description="Console users who see every pipeline and every waiting approval",
        )
    )
    template.add_output(
        Output("AdminsGroup", Description="Members see every pipeline", Value=console.access.admins_group)
    )
    if console.admin_email:
        template.add_resource(
            keep(
                UserPoolUser(
                    "ConsoleAdmin",
                    UserPoolId=Ref(pool),
                    Username=console.admin_email,
                    DesiredDeliveryMediums=["EMAIL"],
                    UserAttributes=[
                        AttributeType(Name="email", Value=console.admin_email),
                        AttributeType(Name="email_verified", Value="true"),
                    ],
                ),
                True,
            )
        )
        template.add_resource(
            UserPoolUserToGroupAttachment(
                "ConsoleAdminInAdminsGroup",
                DependsOn=["ConsoleAdmin"],
                UserPoolId=Ref(pool),
                Username=console.admin_email,
                GroupName=Ref(admins),
            )
        )
    return pool


def _graphql_api(template: Template, console: ConsoleSpec, key: Key, user_pool: UserPool | None) -> GraphQLApi:
    """The API, signed in per `_console.yaml`, logging errors to its own encrypted log group."""
    logs_role = template.add_resource(
        Role(
            "GraphQLLogsRole",
            Description="AppSync writes the console API's logs",
            AssumeRolePolicyDocument=policy.appsync_trust(),
        )
    )
    auth: dict[str, Any]
    if isinstance(console.auth, ConsoleAuthOidc):
        auth = {
            "AuthenticationType": "OPENID_CONNECT",
            "OpenIDConnectConfig": OpenIDConnectConfig(Issuer=console.auth.issuer, ClientId=console.auth.client_id),
        }
    else:
        auth = {
            "AuthenticationType": "AMAZON_COGNITO_USER_POOLS",
            "UserPoolConfig": UserPoolConfig(
                UserPoolId=Ref(user_pool), AwsRegion=Ref("AWS::Region"), DefaultAction="ALLOW"
            ),
        }
    api = template.add_resource(
        GraphQLApi(
            "GraphQLApi",
            Name=API_NAME,
            **auth,
            LogConfig=LogConfig(
                CloudWatchLogsRoleArn=GetAtt(logs_role, "Arn"), FieldLogLevel="ERROR", ExcludeVerboseContent=True
            ),
            XrayEnabled=True,
            QueryDepthLimit=5,
        )
    )
    add_output(template, STACK, "GraphQLUrl", GetAtt(api, "GraphQLUrl"), "Endpoint of the console GraphQL API")
    add_output(template, STACK, "GraphQLApiId", GetAtt(api, "ApiId"), "Id of the console GraphQL API")
    # AppSync names the group after the API id, so the group (and the role's policy on it) follow the API.
    group = common.log_group(
        template,
        "GraphQLLogGroup",
        Sub("/aws/appsync/apis/${GraphQLApi.ApiId}"),
        console.log_retention_days,
        GetAtt(key, "Arn"),
        True,
    )
    template.add_resource(
        PolicyType(
            "GraphQLLogsPolicy",
            PolicyName="write-api-logs",
            PolicyDocument=policy.appsync_logs(GetAtt(group, "Arn")),
            Roles=[Ref(logs_role)],
        )
    )
    return api


def _schema_and_resolvers(template: Template, api: GraphQLApi, table: Table, key: Key, groups_claim: str) -> None:
    """The schema; every query a pipeline of the access function, its own APPSYNC_JS function and any that
    follow it, so no query answers before the caller's groups are known; unit resolvers for the fields below."""
    schema = template.add_resource(
        GraphQLSchema(
            "GraphQLSchema",
            ApiId=GetAtt(api, "ApiId"),
            Definition=(common.TEMPLATES_DIR / "appsync" / "schema.graphql").read_text(encoding="utf-8"),
        )
    )
    reader = template.add_resource(
        Role(
            "StateTableReaderRole",
            Description="The console API reads the state table",
            AssumeRolePolicyDocument=policy.appsync_trust(GetAtt(api, "Arn")),
            Policies=[
                InlinePolicy(
                    PolicyName="read-state",
                    PolicyDocument=policy.state_reader(GetAtt(table, "Arn"), GetAtt(key, "Arn")),
                )
            ],
        )
    )
    source = template.add_resource(
        DataSource(
            "StateTableDataSource",
            ApiId=GetAtt(api, "ApiId"),
            Name="StateTable",
            Description="The pipectl state table",
            Type="AMAZON_DYNAMODB",
            DynamoDBConfig=DynamoDBConfig(TableName=Ref(table), AwsRegion=Ref("AWS::Region")),
            ServiceRoleArn=GetAtt(reader, "Arn"),
        )
    )
    runtime = AppSyncRuntime(Name="APPSYNC_JS", RuntimeVersion="1.0.0")

    def function(name: str, logical_id: str) -> FunctionConfiguration:
        return template.add_resource(
            FunctionConfiguration(
                logical_id,
                ApiId=GetAtt(api, "ApiId"),
                Name=name,
                DataSourceName=GetAtt(source, "Name"),
                Runtime=runtime,
                Code=resolver_code(name, groups_claim),
            )
        )

    access = function(ACCESS_FUNCTION, "AccessFunction")
    for field, logical_id in QUERIES.items():
        own = function(field, logical_id.replace("Resolver", "Function"))
        following = [function(name, id_) for name, id_ in FOLLOWING.get(field, {}).items()]
        template.add_resource(
            Resolver(
                logical_id,
                DependsOn=[schema.title],
                ApiId=GetAtt(api, "ApiId"),
                TypeName="Query",
                FieldName=field,
                Kind="PIPELINE",
                PipelineConfig=PipelineConfig(
                    Functions=[GetAtt(f, "FunctionId") for f in (access, own, *following)],
                ),
                Runtime=runtime,
                Code=query_code(field),
            )
        )
    for (type_name, field), logical_id in FIELDS.items():
        template.add_resource(
            Resolver(
                logical_id,
                DependsOn=[schema.title],
                ApiId=GetAtt(api, "ApiId"),
                TypeName=type_name,
                FieldName=field,
                Kind="UNIT",
                DataSourceName=GetAtt(source, "Name"),
                Runtime=runtime,
                Code=resolver_code(field, groups_claim),
            )
        )


def resolver_code(name: str, groups_claim: str = COGNITO_GROUPS_CLAIM) -> str:
    """The APPSYNC_JS code of one function or unit resolver, with the table's keys and limits filled in."""
    return render(
        f"appsync/resolvers/{name}.js.j2",
        keys=KEYS,
        limits=LIMITS,
        results=RESULTS,
        approval_waiting=APPROVAL_WAITING,
        groups_claim=groups_claim,
    )


def query_code(field: str) -> str:
    """The code of a query's pipeline resolver: it hands on what the field's function answered."""
    return render("appsync/resolvers/_query.js.j2", field=field)
