"""The state of the control plane: its key and the state table (layout: the package's docstring)."""

from __future__ import annotations

from dataclasses import dataclass

from troposphere import GetAtt, Ref, Template
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
from troposphere.kms import Alias, Key

from generator.contract import FEED_ATTRIBUTE, FEED_INDEX, FEED_SORT_ATTRIBUTE, STATE_TABLE_OUTPUT
from generator.policy import console as policy
from generator.spec.models import ConsoleSpec
from generator.stacks.common import add_output, keep
from generator.stacks.console.names import KEYS, RECORDER_NAME, STACK, TABLE_NAME


@dataclass(frozen=True)
class ControlPlane:
    """The stack being built and what the API, the recorder and the dashboard all use: key and table."""

    template: Template
    console: ConsoleSpec
    key: Key
    table: Table

    @property
    def key_arn(self) -> GetAtt:
        return GetAtt(self.key, "Arn")

    @property
    def table_arn(self) -> GetAtt:
        return GetAtt(self.table, "Arn")


def add_state(template: Template, console: ConsoleSpec) -> ControlPlane:
    key = _console_key(template)
    return ControlPlane(template, console, key, _state_table(template, key))


def _console_key(template: Template) -> Key:
    """One key for the table, the queue and the log groups of the control plane."""
    key = template.add_resource(
        keep(
            Key(
                "ConsoleKey",
                Description="pipectl console: state table, recorder queue and log groups",
                EnableKeyRotation=True,
                PendingWindowInDays=30,
                KeyPolicy=policy.key_policy(["/aws/appsync/apis/*", f"/aws/lambda/{RECORDER_NAME}"], RECORDER_NAME),
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
                    AttributeDefinition(AttributeName=FEED_ATTRIBUTE, AttributeType="S"),
                    AttributeDefinition(AttributeName=FEED_SORT_ATTRIBUTE, AttributeType="S"),
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
                    ),
                    # Added to a deployed table in place: CloudFormation adds one index per update, so a
                    # later index waits for a later release.
                    GlobalSecondaryIndex(
                        IndexName=FEED_INDEX,
                        KeySchema=[
                            KeySchema(AttributeName=FEED_ATTRIBUTE, KeyType="HASH"),
                            KeySchema(AttributeName=FEED_SORT_ATTRIBUTE, KeyType="RANGE"),
                        ],
                        Projection=Projection(ProjectionType="ALL"),
                    ),
                ],
                PointInTimeRecoverySpecification=PointInTimeRecoverySpecification(PointInTimeRecoveryEnabled=True),
                SSESpecification=SSESpecification(SSEEnabled=True, SSEType="KMS", KMSMasterKeyId=GetAtt(key, "Arn")),
                TimeToLiveSpecification=TimeToLiveSpecification(AttributeName="expires_at", Enabled=True),
                DeletionProtectionEnabled=True,
            ),
            True,
        )
    )
    add_output(template, STACK, STATE_TABLE_OUTPUT, Ref(table), "The state table of pipelines, runs and stacks")
    add_output(template, STACK, "StateTableArn", GetAtt(table, "Arn"), "ARN of the state table")
    return table
