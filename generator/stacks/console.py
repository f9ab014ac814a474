"""The `pipectl-console` control-plane stack: state table, GraphQL API, recorder, dashboard.

One per installation and never tied to a pipeline, so every stateful resource here is retained.

State table layout (the controller and the recorder both follow it; times are ISO-8601 strings):

| item               | pk                 | sk                                   | attributes                        |
| ------------------ | ------------------ | ------------------------------------ | --------------------------------- |
| pipeline           | PIPELINE#<name>    | META                                 | name, owner, region, envs,        |
|                    |                    |                                      | updated_at                        |
| stack status       | PIPELINE#<name>    | STACK#<env>#<stack-name>             | stack, stack_id, kind, env,       |
|                    |                    |                                      | status, reason, revision,         |
|                    |                    |                                      | updated_at                        |
| run                | PIPELINE#<name>    | RUN#<started_at>#<run_id>            | run_id, kind (plan, apply,        |
|                    |                    |                                      | destroy, prune), revision, actor, |
|                    |                    |                                      | started_at, ended_at, result,     |
|                    |                    |                                      | stacks (map stack -> result)      |
| run index          | RUN#<run_id>       | META                                 | the run's attributes, pipelines   |
| lock               | LOCK               | deploy                               | owner, run_id, acquired_at,       |
|                    |                    |                                      | expires_at (epoch seconds, TTL)   |
| delivery execution | DELIVERY           | EXEC#<started_at>#<execution-id>     | execution_id, pipeline, state,    |
|                    |                    |                                      | started_at, trigger, updated_at   |
| execution start    | DELIVERY           | EXECID#<execution-id>                | started_at, expires_at (TTL)      |

The control-plane stacks `pipectl-console` and `pipectl-delivery` are recorded as stack items of the
pipeline `_control` in the environment `_control` (kinds `console` and `delivery`); neither name can
clash with a pipeline or an environment of a pipeline file. CodePipeline events carry no start time, so
the recorder keeps one `EXECID#` item per execution holding the time of the first event it saw, and
keys the execution item by it. The index `BySortKey` (partition sk, sort pk) lists all pipelines
(sk = META, pk begins with PIPELINE#) without a scan.
"""

from __future__ import annotations

import json
from typing import Any

from troposphere import GetAtt, Output, Ref, Sub, Template
from troposphere.appsync import (
    AppSyncRuntime,
    DataSource,
    DynamoDBConfig,
    GraphQLApi,
    GraphQLSchema,
    LogConfig,
    OpenIDConnectConfig,
    Resolver,
    UserPoolConfig,
)
from troposphere.awslambda import (
    DeadLetterConfig,
    Environment,
    Function,
    Permission,
    TracingConfig,
)
from troposphere.cloudwatch import Dashboard
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
    UserPoolUser,
)
from troposphere.dynamodb import (
    AttributeDefinition,
    GlobalSecondaryIndex,
    KeySchema,
    PointInTimeRecoverySpecification,
    Projection,
    SSESpecification,
    Table,
    TimeToLiveSpecification,
)
from troposphere.events import RetryPolicy, Rule, Target
from troposphere.iam import Policy as InlinePolicy
from troposphere.iam import PolicyType, Role
from troposphere.kms import Alias, Key
from troposphere.sqs import Queue
from troposphere.wafv2 import (
    AllowAction,
    BlockAction,
    DefaultAction,
    ManagedRuleGroupStatement,
    OverrideAction,
    RateBasedStatement,
    RuleAction,
    Statement,
    VisibilityConfig,
    WebACL,
    WebACLAssociation,
    WebACLRule,
)

from generator.policy import console as policy
from generator.spec.models import ConsoleAuthCognito, ConsoleAuthOidc, ConsoleSpec
from generator.stacks import assets, common
from generator.stacks.common import CONSOLE_STACK, add_output, keep, render, render_json
from generator.stacks.monitoring import DEPLOYMENT_PERIOD_S, TELEMETRY_NAMESPACE

STACK = CONSOLE_STACK
TABLE_NAME = "pipectl-console-state"
API_NAME = "pipectl-console"
RECORDER_NAME = "pipectl-console-recorder"
DASHBOARD_NAME = "pipectl-console"
RECORDER_SOURCE = "recorder"  # generator/stacks/functions/recorder.py
RECORDER_CONCURRENCY = 2  # small: new accounts must keep 10 unreserved executions
RATE_LIMIT_PER_5_MIN = 1000

# Key prefixes of the table layout above, injected into the resolvers when they are rendered.
KEYS = {
    "pipeline_prefix": "PIPELINE#",
    "meta": "META",
    "stack_prefix": "STACK#",
    "run_prefix": "RUN#",
    "separator": "#",
    "by_sort_key_index": "BySortKey",
}
LIMITS = {"pipelines": 1000, "runs_default": 20, "runs_max": 100, "stacks": 500}
# Query field -> logical id of its resolver; the code is templates/appsync/resolvers/<field>.js.j2.
QUERIES = {
    "pipelines": "PipelinesResolver",
    "pipeline": "PipelineResolver",
    "runs": "RunsResolver",
    "stacks": "StacksResolver",
}


def build_console(console: ConsoleSpec) -> Template:
    """The control plane: the state, who may read it, what writes it, and how it is doing."""
    template = common.new_template(_description(console))
    key = _console_key(template)
    table = _state_table(template, key)
    user_pool = _user_pool(template, console) if isinstance(console.auth, ConsoleAuthCognito) else None
    api = _graphql_api(template, console, key, user_pool)
    _schema_and_resolvers(template, api, table, key)
    firewall = _firewall(template, api)
    recorder, dead_letters = _recorder(template, console, key, table)
    _dashboard(template, api, table, recorder, dead_letters, firewall)
    return template


def _description(console: ConsoleSpec) -> str:
    return (
        f"pipectl control plane ({console.auth.type} sign-in): the state table of every pipeline, run and "
        "stack, the console GraphQL API over it, the recorder of stack and delivery events, the dashboard"
    )


def _console_key(template: Template) -> Key:
    """One key for the table, the queue and the log groups of the control plane."""
    key = template.add_resource(
        keep(
            Key(
                "ConsoleKey",
                Description="pipectl console: state table, recorder queue and log groups",
                EnableKeyRotation=True,
                PendingWindowInDays=30,
                KeyPolicy=policy.key_policy(["/aws/appsync/apis/*", f"/aws/lambda/{RECORDER_NAME}"]),
            ),
            True,
        )
    )
    template.add_resource(Alias("ConsoleKeyAlias", AliasName="alias/pipectl/console", TargetKeyId=Ref(key)))
    return key


def _state_table(template: Template, key: Key) -> Table:
    """Pipelines, runs, stack statuses, the deploy lock and delivery executions (layout: module docstring)."""
    table = template.add_resource(
        keep(
            Table(
                "StateTable",
                TableName=TABLE_NAME,
                BillingMode="PAY_PER_REQUEST",
                AttributeDefinitions=[
                    AttributeDefinition(AttributeName="pk", AttributeType="S"),
                    AttributeDefinition(AttributeName="sk", AttributeType="S"),
                ],
                KeySchema=[
                    KeySchema(AttributeName="pk", KeyType="HASH"),
                    KeySchema(AttributeName="sk", KeyType="RANGE"),
                ],
                GlobalSecondaryIndexes=[
                    GlobalSecondaryIndex(
                        IndexName=KEYS["by_sort_key_index"],
                        KeySchema=[
                            KeySchema(AttributeName="sk", KeyType="HASH"),
                            KeySchema(AttributeName="pk", KeyType="RANGE"),
                        ],
                        Projection=Projection(
                            ProjectionType="INCLUDE", NonKeyAttributes=["name", "owner", "region", "envs", "updated_at"]
                        ),
                    )
                ],
                PointInTimeRecoverySpecification=PointInTimeRecoverySpecification(PointInTimeRecoveryEnabled=True),
                SSESpecification=SSESpecification(SSEEnabled=True, SSEType="KMS", KMSMasterKeyId=GetAtt(key, "Arn")),
                TimeToLiveSpecification=TimeToLiveSpecification(AttributeName="expires_at", Enabled=True),
                DeletionProtectionEnabled=True,
            ),
            True,
        )
    )
    add_output(template, STACK, "StateTableName", Ref(table), "The state table of pipelines, runs and stacks")
    add_output(template, STACK, "StateTableArn", GetAtt(table, "Arn"), "ARN of the state table")
    return table


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
    client = template.add_resource(
        UserPoolClient(
            "ConsoleAppClient",
            ClientName="pipectl-console",
            UserPoolId=Ref(pool),
            GenerateSecret=False,
            ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
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


def _schema_and_resolvers(template: Template, api: GraphQLApi, table: Table, key: Key) -> None:
    """The schema and one APPSYNC_JS resolver per query, all reading the state table."""
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
    for field, logical_id in QUERIES.items():
        template.add_resource(
            Resolver(
                logical_id,
                DependsOn=[schema.title],
                ApiId=GetAtt(api, "ApiId"),
                TypeName="Query",
                FieldName=field,
                Kind="UNIT",
                DataSourceName=GetAtt(source, "Name"),
                Runtime=AppSyncRuntime(Name="APPSYNC_JS", RuntimeVersion="1.0.0"),
                Code=resolver_code(field),
            )
        )


def resolver_code(field: str) -> str:
    """The APPSYNC_JS code of one query, with the table's key prefixes and limits filled in."""
    return render(f"appsync/resolvers/{field}.js.j2", keys=KEYS, limits=LIMITS)


def _firewall(template: Template, api: GraphQLApi) -> WebACL:
    """AWS managed common rules and a per-IP rate limit in front of the API."""
    acl = template.add_resource(
        WebACL(
            "GraphQLFirewall",
            Name="pipectl-console",
            Description="Protects the pipectl console GraphQL API",
            Scope="REGIONAL",
            DefaultAction=DefaultAction(Allow=AllowAction()),
            VisibilityConfig=_visibility("pipectl-console"),
            Rules=[
                WebACLRule(
                    Name="AWSManagedRulesCommonRuleSet",
                    Priority=0,
                    OverrideAction=OverrideAction(**{"None": {}}),  # the group's own actions (block) apply
                    Statement=Statement(
                        ManagedRuleGroupStatement=ManagedRuleGroupStatement(
                            VendorName="AWS", Name="AWSManagedRulesCommonRuleSet"
                        )
                    ),
                    VisibilityConfig=_visibility("common-rule-set"),
                ),
                WebACLRule(
                    Name="RateLimitPerIp",
                    Priority=1,
                    Action=RuleAction(Block=BlockAction()),
                    Statement=Statement(
                        RateBasedStatement=RateBasedStatement(
                            Limit=RATE_LIMIT_PER_5_MIN, AggregateKeyType="IP", EvaluationWindowSec=300
                        )
                    ),
                    VisibilityConfig=_visibility("rate-limit-per-ip"),
                ),
            ],
        )
    )
    template.add_resource(
        WebACLAssociation("GraphQLFirewallAssociation", ResourceArn=GetAtt(api, "Arn"), WebACLArn=GetAtt(acl, "Arn"))
    )
    return acl


def _visibility(metric: str) -> VisibilityConfig:
    return VisibilityConfig(CloudWatchMetricsEnabled=True, MetricName=metric, SampledRequestsEnabled=True)


def _recorder(template: Template, console: ConsoleSpec, key: Key, table: Table) -> tuple[Function, Queue]:
    """A function that writes stack-status and delivery events into the table, and the rule that feeds it."""
    dead_letters = template.add_resource(
        common.keep(
            Queue(
                "RecorderDeadLetterQueue",
                QueueName=f"{RECORDER_NAME}-dlq",
                KmsMasterKeyId=GetAtt(key, "Arn"),
                KmsDataKeyReusePeriodSeconds=300,
                MessageRetentionPeriod=1209600,
            ),
            True,
        )
    )
    group = common.log_group(
        template,
        "RecorderLogGroup",
        f"/aws/lambda/{RECORDER_NAME}",
        console.log_retention_days,
        GetAtt(key, "Arn"),
        True,
    )
    role = template.add_resource(
        Role(
            "RecorderRole",
            Description="The recorder writes stack and delivery events into the state table",
            AssumeRolePolicyDocument=policy.lambda_trust(),
            Policies=[
                InlinePolicy(
                    PolicyName="record-events",
                    PolicyDocument=policy.recorder(
                        GetAtt(table, "Arn"), GetAtt(key, "Arn"), GetAtt(dead_letters, "Arn"), GetAtt(group, "Arn")
                    ),
                )
            ],
        )
    )
    function = template.add_resource(
        Function(
            "RecorderFunction",
            FunctionName=RECORDER_NAME,
            Description="Records CloudFormation stack-status and CodePipeline execution events",
            Runtime="python3.12",
            Architectures=["arm64"],
            Handler="index.handler",
            Code=assets.function_code(template, RECORDER_SOURCE),
            MemorySize=256,
            Timeout=30,
            Role=GetAtt(role, "Arn"),
            Environment=Environment(Variables={"TABLE_NAME": Ref(table)}),
            LoggingConfig=common.json_logging(group),
            TracingConfig=TracingConfig(Mode="Active"),
            ReservedConcurrentExecutions=RECORDER_CONCURRENCY,
            DeadLetterConfig=DeadLetterConfig(TargetArn=GetAtt(dead_letters, "Arn")),
        )
    )
    rule = template.add_resource(
        Rule(
            "RecorderRule",
            Name=RECORDER_NAME,
            Description="pipectl stack-status changes and delivery pipeline executions, to the recorder",
            State="ENABLED",
            EventPattern=recorded_events(),
            Targets=[
                Target(
                    Id="Recorder",
                    Arn=GetAtt(function, "Arn"),
                    RetryPolicy=RetryPolicy(MaximumRetryAttempts=8, MaximumEventAgeInSeconds=3600),
                )
            ],
        )
    )
    template.add_resource(
        Permission(
            "RecorderPermission",
            Action="lambda:InvokeFunction",
            FunctionName=GetAtt(function, "Arn"),
            Principal="events.amazonaws.com",
            SourceArn=GetAtt(rule, "Arn"),
            SourceAccount=Ref("AWS::AccountId"),
        )
    )
    return function, dead_letters


def recorded_events() -> dict[str, Any]:
    """Status changes of stacks named pipectl-*, and executions of pipectl's delivery pipelines."""
    return {
        "source": ["aws.cloudformation", "aws.codepipeline"],
        "detail-type": ["CloudFormation Stack Status Change", "CodePipeline Pipeline Execution State Change"],
        "resources": [
            {"prefix": common.arn("cloudformation", "stack/pipectl-")},
            {"prefix": common.arn("codepipeline", "pipectl")},
        ],
    }


def _dashboard(
    template: Template, api: GraphQLApi, table: Table, recorder: Function, dead_letters: Queue, firewall: WebACL
) -> Dashboard:
    """The control plane at a glance: deployments of every pipeline (runs, failed stacks, change sets
    waiting for approval, from pipectl's own metrics), then recorder, API, table and firewall."""
    body = render_json(
        "console_dashboard.json.j2",
        region="${AWS::Region}",
        namespace=TELEMETRY_NAMESPACE,
        deployment_period=DEPLOYMENT_PERIOD_S,
        api_id="${ApiId}",
        table_name="${TableName}",
        recorder_function="${RecorderFunction}",
        recorder_queue="${RecorderQueue}",
        web_acl="${WebAcl}",
    )
    return template.add_resource(
        Dashboard(
            "ConsoleDashboard",
            DashboardName=DASHBOARD_NAME,
            DashboardBody=Sub(
                json.dumps(body, separators=(",", ":")),
                ApiId=GetAtt(api, "ApiId"),
                TableName=Ref(table),
                RecorderFunction=Ref(recorder),
                RecorderQueue=GetAtt(dead_letters, "QueueName"),
                WebAcl=firewall.Name,
            ),
        )
    )
