"""Actions that AWS cannot scope to a resource, so an IAM statement may grant them on `Resource: *`.

The execution permissions table (generated from the Service Authorization Reference) answers for every
action a CloudFormation handler calls. The few actions pipectl's other roles use that the table does not
hold are listed here, each because the reference lists no resource type for it (a test checks that
against the reference); add one only with that reason, next to it.
"""

from __future__ import annotations

from generator.policy.permissions import load_table

UNSCOPED_ACTIONS: frozenset[str] = frozenset(
    {
        # X-Ray: trace segments, telemetry and sampling rules belong to the account, not a resource.
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
        # CloudWatch Logs vended delivery (Step Functions and other services logging to a log group):
        # the delivery APIs take no resource ARN.
        "logs:GetLogDelivery",
        "logs:ListLogDeliveries",
        "logs:UpdateLogDelivery",
        # ECS container agent on EC2 instances: finding the endpoint to poll happens before any cluster is known.
        "ecs:DiscoverPollEndpoint",
        # ECR: the registry login token is account-wide; image pulls themselves are scoped to repositories.
        "ecr:GetAuthorizationToken",
        # CloudWatch metrics are not resources; the namespace can be pinned by a condition instead.
        "cloudwatch:PutMetricData",
    }
)


def is_unscoped(action: str) -> bool:
    """True when IAM can grant `action` only on `*`: the table's answer, else the list above (case-insensitive)."""
    has_resource_type = load_table().has_resource_type(action)
    if has_resource_type is not None:
        return not has_resource_type
    return action.lower() in _LOWERED


_LOWERED = frozenset(action.lower() for action in UNSCOPED_ACTIONS)
