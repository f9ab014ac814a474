"""`IngestionStack`: the ingestion stack's table of contents, holding each resource others use under one name.

Fargate and EC2 differ only in where tasks run: `capacity_provider` adds instances and a capacity provider
for EC2, and the service then picks the Fargate launch type or that capacity provider.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from troposphere import ImportValue, Parameter, Template
from troposphere.ecs import CapacityProvider, Cluster, Service, TaskDefinition
from troposphere.elasticloadbalancingv2 import Listener, ListenerRule, LoadBalancer, TargetGroup
from troposphere.logs import LogGroup

from generator.spec.loader import Pipeline
from generator.stacks import common
from generator.stacks.ingestion import capacity, collectors, firewall, image
from generator.stacks.ingestion import listener as listeners
from generator.stacks.ingestion import load_balancer as balancing
from generator.stacks.ingestion import service as services
from generator.stacks.ingestion.network import Network, network
from generator.stacks.ingestion.parts import SecurityGroups

KIND = "ingestion"


class IngestionStack:
    """The resources of one ingestion stack, each built once on first use."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.name = common.stack_name(pipeline, KIND)
        self.label = f"pipectl {pipeline.name}/{pipeline.env}"
        self.template = common.new_template(
            common.describe(pipeline, KIND, "ECS collectors behind an HTTPS load balancer, autoscaled")
        )

    def build(self) -> Template:
        """Everything the stack holds; the rest is built as these name it."""
        _ = self.service  # names the cluster, task definition, network, load balancer and listener rule
        services.autoscaling(self)
        firewall.web_acl(self)
        balancing.dns_record(self)
        balancing.endpoint_output(self)
        return self.template

    def output(self, name: str, value: Any, description: str) -> None:
        common.add_output(self.template, self.name, name, value, description)

    def storage_output(self, name: str) -> ImportValue:
        """A value the storage stack exports (see common.py's export contract)."""
        return common.imported(self.pipeline, "storage", name)

    @cached_property
    def key_arn(self) -> ImportValue:
        return self.storage_output("KeyArn")

    @cached_property
    def network(self) -> Network:
        return network(self.template, self.pipeline, self.key_arn)

    @cached_property
    def cluster(self) -> Cluster:
        return collectors.cluster(self)

    @cached_property
    def collector_log_group(self) -> LogGroup:
        return collectors.log_group(self)

    @cached_property
    def collector_image(self) -> Parameter:
        return image.image_parameter(self)

    @cached_property
    def task_definition(self) -> TaskDefinition:
        return collectors.task_definition(self)

    @cached_property
    def security_groups(self) -> SecurityGroups:
        return balancing.security_groups(self)

    @cached_property
    def load_balancer(self) -> LoadBalancer:
        return balancing.load_balancer(self)

    @cached_property
    def target_group(self) -> TargetGroup:
        return balancing.target_group(self)

    @cached_property
    def listener(self) -> Listener:
        return listeners.https_listener(self)

    @cached_property
    def collector_rule(self) -> ListenerRule:
        return listeners.collector_rule(self)

    @cached_property
    def capacity_provider(self) -> CapacityProvider | None:
        if self.pipeline.spec.ingestion.launch_type != "ec2":
            return None
        return capacity.ec2_capacity(self.template, self.pipeline, self.cluster, self.network)

    @cached_property
    def service(self) -> Service:
        return services.collector_service(self)
