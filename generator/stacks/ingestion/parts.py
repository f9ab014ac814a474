"""What the modules of the ingestion stack use of it: `IngestionStack` (context.py) provides each part once.

The modules that build resources (collectors, load balancer, listener, service) read each other's
resources through this protocol, never by importing one another's builders, so the table of contents in
context.py is the one place that knows them all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from troposphere import ImportValue, Parameter, Template
from troposphere.ec2 import SecurityGroup
from troposphere.ecs import CapacityProvider, Cluster, Service, TaskDefinition
from troposphere.elasticloadbalancingv2 import Listener, ListenerRule, LoadBalancer, TargetGroup
from troposphere.logs import LogGroup

from generator.spec.loader import Pipeline
from generator.stacks.ingestion.network import Network


@dataclass(frozen=True)
class SecurityGroups:
    """The load balancer's group and the collectors' group, which admits the load balancer only."""

    load_balancer: SecurityGroup
    collectors: SecurityGroup


class IngestionParts(Protocol):
    """The ingestion stack's shared resources and helpers, by name."""

    @property
    def pipeline(self) -> Pipeline: ...
    @property
    def template(self) -> Template: ...
    @property
    def label(self) -> str: ...
    @property
    def key_arn(self) -> ImportValue: ...
    @property
    def network(self) -> Network: ...
    @property
    def cluster(self) -> Cluster: ...
    @property
    def collector_log_group(self) -> LogGroup: ...
    @property
    def collector_image(self) -> Parameter: ...
    @property
    def task_definition(self) -> TaskDefinition: ...
    @property
    def security_groups(self) -> SecurityGroups: ...
    @property
    def load_balancer(self) -> LoadBalancer: ...
    @property
    def target_group(self) -> TargetGroup: ...
    @property
    def listener(self) -> Listener: ...
    @property
    def collector_rule(self) -> ListenerRule: ...
    @property
    def capacity_provider(self) -> CapacityProvider | None: ...
    @property
    def service(self) -> Service: ...
    def output(self, name: str, value: Any, description: str) -> None: ...
    def storage_output(self, name: str) -> ImportValue: ...
