"""The ingestion stack: collectors on ECS behind an HTTPS load balancer, writing to the pipeline's sink.

Reads the storage stack's exports (key, buckets, stream); creates its own network when the file asks.
Fargate and EC2 differ only in where tasks run: `capacity.ec2_capacity` adds instances and a capacity provider,
`_service` then picks the Fargate launch type or that capacity provider.

Tracing a request: the load balancer adds an `X-Amzn-Trace-Id` header (`Root=1-<time>-<id>`) to every
request it forwards. The collector is told the header's name in `TRACE_HEADER` and the format of its
log lines in `LOG_FORMAT` (`json`: one object per line), and logs the header's value as `trace_id` with
every request, so a request seen in the load balancer's access log (its `trace_id` field) is found in
the collector's log group with a CloudWatch Logs Insights query on `trace_id`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from troposphere import (
    GetAtt,
    Parameter,
    Ref,
    Region,
    Sub,
    Template,
)
from troposphere.applicationautoscaling import (
    PredefinedMetricSpecification,
    ScalableTarget,
    ScalingPolicy,
    TargetTrackingScalingPolicyConfiguration,
)
from troposphere.ec2 import (
    SecurityGroup,
    SecurityGroupIngress,
    SecurityGroupRule,
)
from troposphere.ecs import (
    AwsvpcConfiguration,
    CapacityProvider,
    CapacityProviderStrategyItem,
    Cluster,
    ClusterSetting,
    ContainerDefinition,
    DeploymentCircuitBreaker,
    DeploymentConfiguration,
    Environment,
    HealthCheck,
    LogConfiguration,
    MountPoint,
    NetworkConfiguration,
    PortMapping,
    RuntimePlatform,
    Service,
    TaskDefinition,
    Volume,
)
from troposphere.ecs import LoadBalancer as ServiceLoadBalancer
from troposphere.elasticloadbalancingv2 import (
    Action,
    Certificate,
    Condition,
    FixedResponseConfig,
    Listener,
    ListenerRule,
    ListenerRuleAction,
    LoadBalancer,
    LoadBalancerAttributes,
    Matcher,
    PathPatternConfig,
    TargetGroup,
    TargetGroupAttribute,
)
from troposphere.iam import Policy as RolePolicy
from troposphere.iam import Role
from troposphere.logs import LogGroup
from troposphere.route53 import AliasTarget, RecordSetType

from generator.policy import ingestion as policy
from generator.spec.loader import Pipeline
from generator.spec.models import KinesisSink, S3Sink
from generator.stacks import capacity, common, signin
from generator.stacks.network import Network, network
from generator.stacks.storage import alb_log_prefix

KIND = "ingestion"
CONTAINER = "collector"
HEALTH_PATH = "/health"
TRACE_HEADER = "X-Amzn-Trace-Id"  # added by the load balancer to every request it forwards
LOG_FORMAT = "json"
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
ECR_IMAGE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(\.cn)?/(?P<repository>[^:@]+)"
)
ANYWHERE_V4 = "0.0.0.0/0"
ANYWHERE_V6 = "::/0"


@dataclass(frozen=True)
class Storage:
    """The storage stack's exports this stack uses."""

    key_arn: Any
    bucket_name: Any
    bucket_arn: Any
    logs_bucket_name: Any
    stream_name: Any
    stream_arn: Any


def build_ingestion(pipeline: Pipeline) -> Template:
    """Collectors for one pipeline in one environment, reachable at https://<domain><endpoint_path>."""
    template = common.new_template(
        common.describe(pipeline, KIND, "ECS collectors behind an HTTPS load balancer, autoscaled")
    )
    stack = common.stack_name(pipeline, KIND)
    storage = _storage(pipeline)
    net = network(template, pipeline, storage.key_arn)
    cluster = _cluster(template, pipeline, stack, storage)
    log_group = _collector_log_group(template, pipeline, storage)
    task_definition = _task_definition(template, pipeline, storage, log_group)
    lb_group, collector_group = _security_groups(template, pipeline, net)
    load_balancer = _load_balancer(template, pipeline, stack, net, lb_group, storage)
    target_group = _target_group(template, pipeline, stack, net)
    listener = _listener(template, pipeline, load_balancer)
    rule = _collector_rule(template, pipeline, listener, target_group)
    placement = (
        capacity.ec2_capacity(template, pipeline, cluster, net)
        if pipeline.spec.ingestion.launch_type == "ec2"
        else None
    )
    service = _service(
        template, pipeline, stack, cluster, task_definition, target_group, collector_group, net, rule, placement
    )
    _autoscaling(template, pipeline, cluster, service)
    _dns_record(template, pipeline, load_balancer)
    _endpoint_output(template, pipeline, stack)
    return template


def _storage(pipeline: Pipeline) -> Storage:
    sink = pipeline.spec.ingestion.sink

    def value(name: str) -> Any:
        return common.imported(pipeline, "storage", name)

    kinesis = isinstance(sink, KinesisSink)
    return Storage(
        key_arn=value("KeyArn"),
        bucket_name=value("DataBucketName"),
        bucket_arn=value("DataBucketArn"),
        logs_bucket_name=value("LogsBucketName"),
        stream_name=value("StreamName") if kinesis else None,
        stream_arn=value("StreamArn") if kinesis else None,
    )


def _cluster(template: Template, pipeline: Pipeline, stack: str, storage: Storage) -> Cluster:
    """One cluster per pipeline and environment, with Container Insights for the dashboard.

    The cluster has a fixed name so that the template, not Container Insights, creates (and encrypts)
    the performance log group before the cluster exists.
    """
    name = f"pipectl-{pipeline.name}-{pipeline.env}"
    # Container Insights writes performance telemetry to a name AWS fixes from the cluster's. It is
    # rebuilt from the running service, so it goes with the stack: a retained one would make a
    # pipeline that is pruned and added again fail on "already exists".
    insights = common.log_group(
        template,
        "ContainerInsightsLogGroup",
        f"/aws/ecs/containerinsights/{name}/performance",
        pipeline.spec.monitoring.log_retention_days,
        storage.key_arn,
        retain=False,
    )
    insights.Metadata = {"pipectl": {"telemetry": True}}
    cluster = template.add_resource(
        Cluster(
            "CollectorCluster",
            ClusterName=name,
            ClusterSettings=[ClusterSetting(Name="containerInsights", Value="enabled")],
            DependsOn=[insights.title],
        )
    )
    common.add_output(template, stack, "ClusterName", Ref(cluster), "ECS cluster running the collectors")
    return cluster


def _collector_log_group(template: Template, pipeline: Pipeline, storage: Storage) -> LogGroup:
    return common.log_group(
        template,
        "CollectorLogGroup",
        common.per_stack(f"/pipectl/{pipeline.name}/{pipeline.env}/collector"),
        pipeline.spec.monitoring.log_retention_days,
        storage.key_arn,
        pipeline.spec.retain,
    )


def _repository_arn(image: str) -> Sub | None:
    """The ECR repository of a private ECR image, so the execution role can pull exactly that one."""
    match = ECR_IMAGE.match(image)
    if match is None:
        return None
    return Sub(f"arn:${{AWS::Partition}}:ecr:{match['region']}:{match['account']}:repository/{match['repository']}")


def _roles(template: Template, pipeline: Pipeline, storage: Storage, log_group: LogGroup) -> tuple[Role, Role]:
    """The execution role starts the task; the task role is all the collector code itself may do."""
    label = f"pipectl {pipeline.name}/{pipeline.env}"
    execution = template.add_resource(
        Role(
            "CollectorExecutionRole",
            Description=f"{label}: start collector tasks (logs, image)",
            AssumeRolePolicyDocument=policy.execution_trust(),
            Policies=[
                RolePolicy(
                    PolicyName="StartCollector",
                    PolicyDocument=policy.execution_policy(
                        GetAtt(log_group, "Arn"), _repository_arn(pipeline.spec.ingestion.image)
                    ),
                )
            ],
        )
    )
    sink = pipeline.spec.ingestion.sink
    document = (
        policy.kinesis_sink_policy(storage.stream_arn, storage.key_arn)
        if isinstance(sink, KinesisSink)
        else policy.s3_sink_policy(storage.bucket_arn, storage.key_arn)
    )
    task = template.add_resource(
        Role(
            "CollectorTaskRole",
            Description=f"{label}: collectors write events to the sink",
            AssumeRolePolicyDocument=policy.task_trust(),
            Policies=[RolePolicy(PolicyName="WriteToSink", PolicyDocument=document)],
        )
    )
    return execution, task


def _environment(pipeline: Pipeline, storage: Storage) -> list[Environment]:
    """What the collector reads at start-up; names are the collector image's contract (TRACE_HEADER and
    LOG_FORMAT: see the module docstring)."""
    ingestion = pipeline.spec.ingestion
    sink = ingestion.sink
    values: dict[str, Any] = {
        "SINK_TYPE": sink.type,
        "ENDPOINT_PATH": ingestion.endpoint_path,
        "HEALTH_PATH": HEALTH_PATH,
        "PORT": str(ingestion.container_port),
        "APP_IDS": ",".join(app.id for app in pipeline.spec.apps),
        "CORS_ORIGINS": ",".join(ingestion.cors_origins),
        "TRACE_HEADER": TRACE_HEADER,
        "LOG_FORMAT": LOG_FORMAT,
    }
    if isinstance(sink, S3Sink):
        values |= {
            "BUCKET_NAME": storage.bucket_name,
            "BUCKET_PREFIX": policy.RAW_PREFIX,
            "BUFFER_MB": str(sink.buffer_mb),
            "INTERVAL_S": str(sink.interval_s),
        }
    else:
        values["STREAM_NAME"] = storage.stream_name
    return [Environment(Name=name, Value=values[name]) for name in sorted(values)]


def _task_definition(template: Template, pipeline: Pipeline, storage: Storage, log_group: LogGroup) -> TaskDefinition:
    """One collector container, read-only root filesystem with a scratch /tmp, health-checked on /health."""
    ingestion = pipeline.spec.ingestion
    execution, task = _roles(template, pipeline, storage, log_group)
    container = ContainerDefinition(
        Name=CONTAINER,
        Image=ingestion.image,
        Essential=True,
        ReadonlyRootFilesystem=True,
        PortMappings=[PortMapping(ContainerPort=ingestion.container_port, Protocol="tcp")],
        Environment=_environment(pipeline, storage),
        MountPoints=[MountPoint(SourceVolume="scratch", ContainerPath="/tmp", ReadOnly=False)],
        LogConfiguration=LogConfiguration(
            LogDriver="awslogs",
            Options={
                "awslogs-group": Ref(log_group),
                "awslogs-region": Region,
                "awslogs-stream-prefix": CONTAINER,
            },
        ),
        HealthCheck=HealthCheck(
            Command=["CMD-SHELL", f"curl -fsS http://localhost:{ingestion.container_port}{HEALTH_PATH} || exit 1"],
            Interval=30,
            Timeout=5,
            Retries=3,
            StartPeriod=30,
        ),
    )
    return template.add_resource(
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


def _authenticates(pipeline: Pipeline) -> bool:
    return pipeline.spec.ingestion.auth.type != "none"


def _security_groups(template: Template, pipeline: Pipeline, net: Network) -> tuple[SecurityGroup, SecurityGroup]:
    """The load balancer takes HTTPS from anywhere; collectors take the container port from it only."""
    port = pipeline.spec.ingestion.container_port
    label = f"pipectl {pipeline.name}/{pipeline.env}"
    collectors = template.add_resource(
        SecurityGroup(
            "CollectorSecurityGroup",
            GroupDescription=f"{label} collectors: container port from the load balancer only",
            VpcId=net.vpc_id,
            SecurityGroupEgress=[
                SecurityGroupRule(
                    IpProtocol="tcp",
                    FromPort=443,
                    ToPort=443,
                    CidrIp=ANYWHERE_V4,
                    Description="HTTPS to the sink, logs and the image registry",
                )
            ],
        )
    )
    egress = [
        SecurityGroupRule(
            IpProtocol="tcp",
            FromPort=port,
            ToPort=port,
            DestinationSecurityGroupId=GetAtt(collectors, "GroupId"),
            Description="to the collectors",
        )
    ]
    if _authenticates(pipeline):
        # authenticate-cognito/-oidc: the load balancer itself calls the IdP's token and user info endpoints.
        egress.append(
            SecurityGroupRule(
                IpProtocol="tcp",
                FromPort=443,
                ToPort=443,
                CidrIp=ANYWHERE_V4,
                Description="HTTPS to the identity provider",
            )
        )
    load_balancer = template.add_resource(
        SecurityGroup(
            "LoadBalancerSecurityGroup",
            GroupDescription=f"{label} load balancer: HTTPS from anywhere",
            VpcId=net.vpc_id,
            SecurityGroupIngress=[
                SecurityGroupRule(
                    IpProtocol="tcp", FromPort=443, ToPort=443, CidrIp=ANYWHERE_V4, Description="HTTPS (IPv4)"
                ),
                SecurityGroupRule(
                    IpProtocol="tcp", FromPort=443, ToPort=443, CidrIpv6=ANYWHERE_V6, Description="HTTPS (IPv6)"
                ),
            ],
            SecurityGroupEgress=egress,
        )
    )
    template.add_resource(
        SecurityGroupIngress(
            "CollectorIngressFromLoadBalancer",
            GroupId=GetAtt(collectors, "GroupId"),
            IpProtocol="tcp",
            FromPort=port,
            ToPort=port,
            SourceSecurityGroupId=GetAtt(load_balancer, "GroupId"),
            Description="from the load balancer",
        )
    )
    return load_balancer, collectors


def _load_balancer(
    template: Template, pipeline: Pipeline, stack: str, net: Network, group: SecurityGroup, storage: Storage
) -> LoadBalancer:
    """Internet-facing, in the public subnets, access-logged to the logs bucket."""
    attributes = {
        "access_logs.s3.enabled": "true",
        "access_logs.s3.bucket": storage.logs_bucket_name,
        "access_logs.s3.prefix": alb_log_prefix(pipeline),
        "routing.http.drop_invalid_header_fields.enabled": "true",
    }
    load_balancer = template.add_resource(
        LoadBalancer(
            "LoadBalancer",
            Type="application",
            Scheme="internet-facing",
            Subnets=net.public_subnets,
            SecurityGroups=[GetAtt(group, "GroupId")],
            LoadBalancerAttributes=[
                LoadBalancerAttributes(Key=key, Value=attributes[key]) for key in sorted(attributes)
            ],
        )
    )
    if net.routes:
        # An internet-facing load balancer needs the internet gateway attached to its VPC first.
        load_balancer.DependsOn = list(net.routes)
    common.add_output(
        template, stack, "LoadBalancerDnsName", GetAtt(load_balancer, "DNSName"), "DNS name of the load balancer"
    )
    common.add_output(
        template,
        stack,
        "LoadBalancerFullName",
        GetAtt(load_balancer, "LoadBalancerFullName"),
        "Load balancer name as CloudWatch metrics know it",
    )
    return load_balancer


def _target_group(template: Template, pipeline: Pipeline, stack: str, net: Network) -> TargetGroup:
    """Collector tasks register by IP (awsvpc); the load balancer checks /health."""
    target_group = template.add_resource(
        TargetGroup(
            "CollectorTargetGroup",
            TargetType="ip",
            Protocol="HTTP",
            Port=pipeline.spec.ingestion.container_port,
            VpcId=net.vpc_id,
            HealthCheckProtocol="HTTP",
            HealthCheckPath=HEALTH_PATH,
            Matcher=Matcher(HttpCode="200"),
            TargetGroupAttributes=[TargetGroupAttribute(Key="deregistration_delay.timeout_seconds", Value="30")],
        )
    )
    common.add_output(
        template,
        stack,
        "TargetGroupFullName",
        GetAtt(target_group, "TargetGroupFullName"),
        "Target group name as CloudWatch metrics know it",
    )
    return target_group


def _certificate(template: Template, pipeline: Pipeline) -> Parameter:
    """The ACM certificate the file names, as a parameter: a new certificate is a visible parameter change."""
    return template.add_parameter(
        Parameter(
            "CertificateArn",
            Type="String",
            Default=pipeline.spec.ingestion.domain.certificate_arn,
            AllowedPattern=r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]+$",
            Description=f"ACM certificate for {pipeline.spec.ingestion.domain.name}, in the stack's region",
        )
    )


def _listener(template: Template, pipeline: Pipeline, load_balancer: LoadBalancer) -> Listener:
    """HTTPS only, TLS 1.2 or newer; anything but the collector paths gets a 404."""
    return template.add_resource(
        Listener(
            "HttpsListener",
            LoadBalancerArn=Ref(load_balancer),
            Port=443,
            Protocol="HTTPS",
            SslPolicy=TLS_POLICY,
            Certificates=[Certificate(CertificateArn=Ref(_certificate(template, pipeline)))],
            DefaultActions=[
                Action(
                    Type="fixed-response",
                    FixedResponseConfig=FixedResponseConfig(
                        StatusCode="404", ContentType="text/plain", MessageBody="Not Found"
                    ),
                )
            ],
        )
    )


def _collector_rule(
    template: Template, pipeline: Pipeline, listener: Listener, target_group: TargetGroup
) -> ListenerRule:
    """The endpoint path and /health go to the collectors, after sign-in when the file asks for it."""
    authentication = signin.listener_actions(template, pipeline)
    forward = ListenerRuleAction(Type="forward", Order=len(authentication) + 1, TargetGroupArn=Ref(target_group))
    paths = sorted({pipeline.spec.ingestion.endpoint_path, HEALTH_PATH})
    return template.add_resource(
        ListenerRule(
            "CollectorListenerRule",
            ListenerArn=Ref(listener),
            Priority=10,
            Conditions=[Condition(Field="path-pattern", PathPatternConfig=PathPatternConfig(Values=paths))],
            Actions=[*authentication, forward],
        )
    )


def _service(
    template: Template,
    pipeline: Pipeline,
    stack: str,
    cluster: Cluster,
    task_definition: TaskDefinition,
    target_group: TargetGroup,
    group: SecurityGroup,
    net: Network,
    rule: ListenerRule,
    capacity_provider: CapacityProvider | None,
) -> Service:
    """capacity.min collectors in the private subnets, rolled back automatically if a deployment fails."""
    service = Service(
        "CollectorService",
        Cluster=Ref(cluster),
        TaskDefinition=Ref(task_definition),
        DesiredCount=pipeline.spec.ingestion.capacity.min,
        NetworkConfiguration=NetworkConfiguration(
            AwsvpcConfiguration=AwsvpcConfiguration(
                AssignPublicIp="DISABLED", Subnets=net.private_subnets, SecurityGroups=[GetAtt(group, "GroupId")]
            )
        ),
        LoadBalancers=[
            ServiceLoadBalancer(
                ContainerName=CONTAINER,
                ContainerPort=pipeline.spec.ingestion.container_port,
                TargetGroupArn=Ref(target_group),
            )
        ],
        HealthCheckGracePeriodSeconds=60,
        DeploymentConfiguration=DeploymentConfiguration(
            DeploymentCircuitBreaker=DeploymentCircuitBreaker(Enable=True, Rollback=True),
            MaximumPercent=200,
            MinimumHealthyPercent=100,
        ),
        EnableECSManagedTags=True,
        PropagateTags="SERVICE",
    )
    # The target group must be attached to the load balancer, and the private subnets routed to the
    # internet, before the first tasks start and pull their image.
    depends_on = [rule.title, *net.routes]
    if capacity_provider is None:
        service.LaunchType = "FARGATE"
        service.PlatformVersion = "LATEST"
    else:
        service.CapacityProviderStrategy = [
            CapacityProviderStrategyItem(CapacityProvider=Ref(capacity_provider), Weight=1)
        ]
        depends_on.append("CollectorClusterCapacityProviders")
    service.DependsOn = depends_on
    template.add_resource(service)
    common.add_output(template, stack, "ServiceName", GetAtt(service, "Name"), "ECS service of the collectors")
    return service


def _autoscaling(template: Template, pipeline: Pipeline, cluster: Cluster, service: Service) -> None:
    """Between capacity.min and capacity.max tasks, tracking capacity.target_cpu average CPU."""
    capacity = pipeline.spec.ingestion.capacity
    target = template.add_resource(
        ScalableTarget(
            "CollectorScalableTarget",
            ServiceNamespace="ecs",
            ScalableDimension="ecs:service:DesiredCount",
            ResourceId=Sub("service/${CollectorCluster}/${CollectorService.Name}"),
            MinCapacity=capacity.min,
            MaxCapacity=capacity.max,
            # The service-linked role Application Auto Scaling creates for ECS; some partitions require it named.
            RoleARN=Sub(
                "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/aws-service-role/"
                "ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService"
            ),
        )
    )
    template.add_resource(
        ScalingPolicy(
            "CollectorCpuScalingPolicy",
            PolicyName=f"pipectl-{pipeline.name}-{pipeline.env}-collector-cpu",
            PolicyType="TargetTrackingScaling",
            ScalingTargetId=Ref(target),
            TargetTrackingScalingPolicyConfiguration=TargetTrackingScalingPolicyConfiguration(
                PredefinedMetricSpecification=PredefinedMetricSpecification(
                    PredefinedMetricType="ECSServiceAverageCPUUtilization"
                ),
                TargetValue=float(capacity.target_cpu),
                ScaleInCooldown=300,
                ScaleOutCooldown=60,
            ),
        )
    )


def _dns_record(template: Template, pipeline: Pipeline, load_balancer: LoadBalancer) -> None:
    """An alias record for the collector domain, when the file names the hosted zone."""
    domain = pipeline.spec.ingestion.domain
    if domain.hosted_zone_id is None:
        return
    template.add_resource(
        RecordSetType(
            "CollectorDnsRecord",
            HostedZoneId=domain.hosted_zone_id,
            Name=domain.name,
            Type="A",
            AliasTarget=AliasTarget(
                DNSName=GetAtt(load_balancer, "DNSName"),
                HostedZoneId=GetAtt(load_balancer, "CanonicalHostedZoneID"),
                EvaluateTargetHealth=True,
            ),
        )
    )


def _endpoint_output(template: Template, pipeline: Pipeline, stack: str) -> None:
    ingestion = pipeline.spec.ingestion
    common.add_output(
        template,
        stack,
        "CollectorEndpoint",
        f"https://{ingestion.domain.name}{ingestion.endpoint_path}",
        "Where apps send their events",
    )
