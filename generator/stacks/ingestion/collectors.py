"""The collectors: their ECS cluster, log group, roles and task definition.

Tracing a request: the load balancer adds an `X-Amzn-Trace-Id` header (`Root=1-<time>-<id>`) to every
request it forwards. The collector is told the header's name in `TRACE_HEADER` and the format of its
log lines in `LOG_FORMAT` (`json`: one object per line), and logs the header's value as `trace_id` with
every request, so a request seen in the load balancer's access log (its `trace_id` field) is found in
the collector's log group with a CloudWatch Logs Insights query on `trace_id`.
"""

from __future__ import annotations

from typing import Any

from troposphere import GetAtt, Ref, Region
from troposphere.ecs import (
    Cluster,
    ClusterSetting,
    ContainerDefinition,
    Environment,
    HealthCheck,
    LogConfiguration,
    MountPoint,
    PortMapping,
    RuntimePlatform,
    TaskDefinition,
    Volume,
)
from troposphere.iam import Policy as RolePolicy
from troposphere.iam import Role
from troposphere.logs import LogGroup

from generator.policy import ingestion as policy
from generator.stacks import common
from generator.stacks.ingestion import capacity, image
from generator.stacks.ingestion.parts import IngestionParts
from generator.stacks.sinks import sink_of

CONTAINER = "collector"
HEALTH_PATH = "/health"
TRACE_HEADER = "X-Amzn-Trace-Id"  # added by the load balancer to every request it forwards
LOG_FORMAT = "json"
DRAIN_TIMEOUT_S = 25
"""On SIGTERM the collector stops accepting and flushes its queue to the sink for at most this long ..."""
STOP_TIMEOUT_S = 30
"""... inside the time ECS waits before SIGKILL (the container's StopTimeout; Fargate allows up to 120)."""


def cluster(stack: IngestionParts) -> Cluster:
    """One cluster per pipeline and environment, with Container Insights for the dashboard.

    The cluster has a fixed name so that the template, not Container Insights, creates (and encrypts)
    the performance log group before the cluster exists.
    """
    pipeline = stack.pipeline
    name = f"pipectl-{pipeline.name}-{pipeline.env}"
    # Container Insights writes performance telemetry to a name AWS fixes from the cluster's. It is
    # rebuilt from the running service, so it goes with the stack: a retained one would make a
    # pipeline that is pruned and added again fail on "already exists".
    insights = common.log_group(
        stack.template,
        "ContainerInsightsLogGroup",
        f"/aws/ecs/containerinsights/{name}/performance",
        pipeline.spec.monitoring.log_retention_days,
        stack.key_arn,
        retain=False,
    )
    insights.Metadata = {"pipectl": {"telemetry": True}}
    added = stack.template.add_resource(
        Cluster(
            "CollectorCluster",
            ClusterName=name,
            ClusterSettings=[ClusterSetting(Name="containerInsights", Value="enabled")],
            DependsOn=[insights.title],
        )
    )
    stack.output("ClusterName", Ref(added), "ECS cluster running the collectors")
    return added


def log_group(stack: IngestionParts) -> LogGroup:
    pipeline = stack.pipeline
    return common.log_group(
        stack.template,
        "CollectorLogGroup",
        common.per_stack(f"/pipectl/{pipeline.name}/{pipeline.env}/collector"),
        pipeline.spec.monitoring.log_retention_days,
        stack.key_arn,
        pipeline.spec.retain,
    )


def _execution_role(stack: IngestionParts) -> Role:
    """ECS starts the task with this role: write the collector's logs, pull its image."""
    return stack.template.add_resource(
        Role(
            "CollectorExecutionRole",
            Description=f"{stack.label}: start collector tasks (logs, image)",
            AssumeRolePolicyDocument=policy.execution_trust(),
            Policies=[
                RolePolicy(
                    PolicyName="StartCollector",
                    PolicyDocument=policy.execution_policy(
                        GetAtt(stack.collector_log_group, "Arn"),
                        image.repository_arn(stack.pipeline.spec.ingestion.image),
                    ),
                )
            ],
        )
    )


def _task_role(stack: IngestionParts) -> Role:
    """All the collector code itself may do: write to the pipeline's sink, as its sink module says."""
    return stack.template.add_resource(
        Role(
            "CollectorTaskRole",
            Description=f"{stack.label}: collectors write events to the sink",
            AssumeRolePolicyDocument=policy.task_trust(),
            Policies=[
                RolePolicy(PolicyName="WriteToSink", PolicyDocument=sink_of(stack.pipeline).collector_policy(stack))
            ],
        )
    )


def _environment(stack: IngestionParts) -> list[Environment]:
    """What the collector reads at start-up; names are the collector image's contract (TRACE_HEADER and
    LOG_FORMAT: see the module docstring; the sink's own settings: its sink module)."""
    pipeline = stack.pipeline
    ingestion = pipeline.spec.ingestion
    values: dict[str, Any] = {
        "SINK_TYPE": ingestion.sink.type,
        "ENDPOINT_PATH": ingestion.endpoint_path,
        "HEALTH_PATH": HEALTH_PATH,
        "PORT": str(ingestion.container_port),
        "APP_IDS": ",".join(app.id for app in pipeline.spec.apps),
        "CORS_ORIGINS": ",".join(ingestion.cors_origins),
        "TRACE_HEADER": TRACE_HEADER,
        "LOG_FORMAT": LOG_FORMAT,
        "PIPELINE": pipeline.name,  # dimensions of the collector's metrics
        "ENVIRONMENT": pipeline.env,
        "DRAIN_TIMEOUT_S": str(DRAIN_TIMEOUT_S),
    }
    values |= sink_of(pipeline).collector_environment(stack)
    return [Environment(Name=name, Value=values[name]) for name in sorted(values)]


def task_definition(stack: IngestionParts) -> TaskDefinition:
    """One collector container, read-only root filesystem with a scratch /tmp, health-checked on /health."""
    pipeline = stack.pipeline
    ingestion = pipeline.spec.ingestion
    execution, task = _execution_role(stack), _task_role(stack)
    container = ContainerDefinition(
        Name=CONTAINER,
        Image=Ref(stack.collector_image),
        Essential=True,
        ReadonlyRootFilesystem=True,
        PortMappings=[PortMapping(ContainerPort=ingestion.container_port, Protocol="tcp")],
        Environment=_environment(stack),
        MountPoints=[MountPoint(SourceVolume="scratch", ContainerPath="/tmp", ReadOnly=False)],
        LogConfiguration=LogConfiguration(
            LogDriver="awslogs",
            Options={
                "awslogs-group": Ref(stack.collector_log_group),
                "awslogs-region": Region,
                "awslogs-stream-prefix": CONTAINER,
            },
        ),
        StopTimeout=STOP_TIMEOUT_S,
        HealthCheck=HealthCheck(
            Command=["CMD", "python", "-m", "collector.healthcheck"],  # the slim image has no curl
            Interval=30,
            Timeout=5,
            Retries=3,
            StartPeriod=30,
        ),
    )
    return stack.template.add_resource(
        TaskDefinition(
            "CollectorTaskDefinition",
            Family=f"pipectl-{pipeline.name}-{pipeline.env}-collector",
            NetworkMode="awsvpc",
            RequiresCompatibilities=["EC2" if ingestion.launch_type == "ec2" else "FARGATE"],
            Cpu=str(ingestion.cpu),
            Memory=str(ingestion.memory),
            RuntimePlatform=RuntimePlatform(
                OperatingSystemFamily="LINUX", CpuArchitecture="ARM64" if capacity.arm64(pipeline) else "X86_64"
            ),
            ExecutionRoleArn=GetAtt(execution, "Arn"),
            TaskRoleArn=GetAtt(task, "Arn"),
            ContainerDefinitions=[container],
            Volumes=[Volume(Name="scratch")],
        )
    )
