"""The collectors' ECS service and its target tracking autoscaling."""

from __future__ import annotations

from troposphere import GetAtt, Ref, Sub
from troposphere.applicationautoscaling import (
    PredefinedMetricSpecification,
    ScalableTarget,
    ScalingPolicy,
    TargetTrackingScalingPolicyConfiguration,
)
from troposphere.ecs import (
    AwsvpcConfiguration,
    CapacityProviderStrategyItem,
    DeploymentCircuitBreaker,
    DeploymentConfiguration,
    NetworkConfiguration,
    Service,
)
from troposphere.ecs import LoadBalancer as ServiceLoadBalancer

from generator.stacks.ingestion.collectors import CONTAINER
from generator.stacks.ingestion.parts import IngestionParts


def collector_service(stack: IngestionParts) -> Service:
    """capacity.min collectors in the private subnets, rolled back automatically if a deployment fails."""
    ingestion = stack.pipeline.spec.ingestion
    net = stack.network
    service = Service(
        "CollectorService",
        Cluster=Ref(stack.cluster),
        TaskDefinition=Ref(stack.task_definition),
        DesiredCount=ingestion.capacity.min,
        NetworkConfiguration=NetworkConfiguration(
            AwsvpcConfiguration=AwsvpcConfiguration(
                AssignPublicIp="DISABLED",
                Subnets=net.private_subnets,
                SecurityGroups=[GetAtt(stack.security_groups.collectors, "GroupId")],
            )
        ),
        LoadBalancers=[
            ServiceLoadBalancer(
                ContainerName=CONTAINER,
                ContainerPort=ingestion.container_port,
                TargetGroupArn=Ref(stack.target_group),
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
    depends_on = [stack.collector_rule.title, *net.routes]
    capacity_provider = stack.capacity_provider
    if capacity_provider is None:
        service.LaunchType = "FARGATE"
        service.PlatformVersion = "LATEST"
    else:
        service.CapacityProviderStrategy = [
            CapacityProviderStrategyItem(CapacityProvider=Ref(capacity_provider), Weight=1)
        ]
        depends_on.append("CollectorClusterCapacityProviders")
    service.DependsOn = depends_on
    stack.template.add_resource(service)
    stack.output("ServiceName", GetAtt(service, "Name"), "ECS service of the collectors")
    return service


def autoscaling(stack: IngestionParts) -> None:
    """Between capacity.min and capacity.max tasks, tracking capacity.target_cpu average CPU."""
    pipeline = stack.pipeline
    capacity = pipeline.spec.ingestion.capacity
    target = stack.template.add_resource(
        ScalableTarget(
            "CollectorScalableTarget",
            ServiceNamespace="ecs",
            ScalableDimension="ecs:service:DesiredCount",
            ResourceId=Sub(f"service/${{{stack.cluster.title}}}/${{{stack.service.title}.Name}}"),
            MinCapacity=capacity.min,
            MaxCapacity=capacity.max,
            # The service-linked role Application Auto Scaling creates for ECS; some partitions require it named.
            RoleARN=Sub(
                "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/aws-service-role/"
                "ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService"
            ),
        )
    )
    stack.template.add_resource(
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
