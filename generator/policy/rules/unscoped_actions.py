"""Actions that AWS cannot scope to a resource, so an IAM statement may grant them on `Resource: *`.

Every entry is here because the service authorization reference lists no resource type for it;
anything else must name its resources. Add an action only with that reason, next to it.
"""

from __future__ import annotations

UNSCOPED_ACTIONS: frozenset[str] = frozenset(
    {
        # X-Ray: trace segments, telemetry and sampling rules belong to the account, not a resource.
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
        # CloudWatch Logs vended delivery (Step Functions and other services logging to a log group):
        # the delivery APIs take no resource ARN.
        "logs:CreateLogDelivery",
        "logs:DeleteLogDelivery",
        "logs:DescribeLogGroups",
        "logs:DescribeResourcePolicies",
        "logs:GetLogDelivery",
        "logs:ListLogDeliveries",
        "logs:PutResourcePolicy",
        "logs:UpdateLogDelivery",
        # ECS container agent on EC2 instances: finding the endpoint to poll happens before any cluster is known.
        "ecs:DiscoverPollEndpoint",
        # ECR: the registry login token is account-wide; image pulls themselves are scoped to repositories.
        "ecr:GetAuthorizationToken",
        # CloudWatch metrics are not resources; the namespace can be pinned by a condition instead.
        "cloudwatch:PutMetricData",
        # EC2 Describe calls list what exists; they have no resource to scope to.
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeAddresses",
        "ec2:DescribeAvailabilityZones",
        "ec2:DescribeFlowLogs",
        "ec2:DescribeInternetGateways",
        "ec2:DescribeLaunchTemplates",
        "ec2:DescribeLaunchTemplateVersions",
        "ec2:DescribeNatGateways",
        "ec2:DescribeRouteTables",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeSubnets",
        "ec2:DescribeVpcs",
        # The same for the describe calls CloudFormation makes while deploying ELB, Auto Scaling and
        # Application Auto Scaling resources.
        "elasticloadbalancing:DescribeListeners",
        "elasticloadbalancing:DescribeLoadBalancers",
        "elasticloadbalancing:DescribeRules",
        "elasticloadbalancing:DescribeTargetGroups",
        "autoscaling:DescribeAutoScalingGroups",
        "autoscaling:DescribeScalingActivities",
        "application-autoscaling:DescribeScalableTargets",
        "application-autoscaling:DescribeScalingPolicies",
        # Task definitions are registered by family: registering, describing and deregistering take no ARN.
        "ecs:RegisterTaskDefinition",
        "ecs:DeregisterTaskDefinition",
        "ecs:DescribeTaskDefinition",
        # Creating a resource whose ARN does not exist yet: the create call cannot be scoped.
        "kms:CreateKey",
        "cognito-idp:CreateUserPool",
        "appsync:CreateGraphqlApi",
        "lambda:CreateEventSourceMapping",
    }
)


def is_unscoped(action: str) -> bool:
    """IAM action names are case-insensitive."""
    return action.lower() in _LOWERED


_LOWERED = frozenset(action.lower() for action in UNSCOPED_ACTIONS)
