"""The control plane's dashboard: deployments of every pipeline, then recorder, API, table and firewall."""

from __future__ import annotations

import json

from troposphere import GetAtt, Ref, Sub, Template
from troposphere.appsync import GraphQLApi
from troposphere.awslambda import Function
from troposphere.cloudwatch import Dashboard
from troposphere.dynamodb import Table
from troposphere.sqs import Queue
from troposphere.wafv2 import WebACL

from generator.contract import TELEMETRY_NAMESPACE
from generator.stacks.common import render_json
from generator.stacks.console.names import DASHBOARD_NAME
from generator.stacks.monitoring import DEPLOYMENT_PERIOD_S


def add_dashboard(
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
