"""The ingestion stack: collectors on ECS behind an HTTPS load balancer, writing to the pipeline's sink.

Reads the storage stack's exports (key, buckets, the sink's resources); creates its own network when
the file asks. One module per part of the architecture, each building the resources of that part:

| module             | builds                                                                      |
| ------------------ | --------------------------------------------------------------------------- |
| `context.py`       | `IngestionStack`: the table of contents; every shared resource named once    |
| `parts.py`         | `IngestionParts`: what the other modules may use of the stack, by name       |
| `network.py`       | the VPC, subnets, routes and flow logs, or the existing network's ids        |
| `collectors.py`    | cluster, log group, roles, task definition (the sink gives settings, policy) |
| `load_balancer.py` | security groups, load balancer, target group, DNS record, endpoint           |
| `listener.py`      | the HTTPS listener and the rule (and its actions) in front of the collectors |
| `tokens.py`        | the JWT verification action for the collector rule, when the file asks       |
| `firewall.py`      | the WAF web ACL on the load balancer: rate limit, query size, bad inputs     |
| `service.py`       | the ECS service and its target tracking autoscaling                          |
| `capacity.py`      | EC2 instances and the capacity provider, with `launch_type: ec2`             |
"""

from __future__ import annotations

from troposphere import Template

from generator.spec.loader import Pipeline
from generator.stacks.ingestion.context import KIND, IngestionStack

__all__ = ["KIND", "IngestionStack", "build_ingestion"]


def build_ingestion(pipeline: Pipeline) -> Template:
    """Collectors for one pipeline in one environment, reachable at https://<domain><endpoint_path>."""
    return IngestionStack(pipeline).build()
