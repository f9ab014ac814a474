"""ECS capacity providers and their cluster associations (the EC2 launch type) in moto's ECS backend."""

from __future__ import annotations

from typing import Any

from generator.deploy.local.compat import backend
from generator.deploy.local.models._base import PipectlModel, camel


def _backend(account_id: str, region_name: str) -> Any:
    return backend("ecs", account_id, region_name)


class PipectlCapacityProvider(PipectlModel):
    """Ref is the provider name; the Auto Scaling group settings are updated in place."""

    TYPE = "AWS::ECS::CapacityProvider"

    NAME_PROPERTY = "Name"

    def __init__(self, name: str) -> None:
        self.physical_resource_id = name
        self.attributes = {}

    @classmethod
    def create(
        cls, resource_name: str, properties: dict[str, Any], account_id: str, region_name: str
    ) -> PipectlCapacityProvider:
        p = properties
        tags = [{"key": t["Key"], "value": t["Value"]} for t in p.get("Tags", [])]
        provider = _backend(account_id, region_name).create_capacity_provider(
            resource_name, camel(p["AutoScalingGroupProvider"]), tags
        )
        return cls(provider.name)

    def update(
        self, name: str, properties: dict[str, Any], account_id: str, region_name: str
    ) -> PipectlCapacityProvider | None:
        """In place unless renamed."""
        if name != self.current_name():
            return None
        asg_provider = camel(properties["AutoScalingGroupProvider"])
        asg_provider.pop("autoScalingGroupArn", None)
        _backend(account_id, region_name).update_capacity_provider(name, asg_provider)
        return self

    def delete(self, account_id: str, region_name: str) -> None:
        _backend(account_id, region_name).delete_capacity_provider(self.physical_resource_id)


class PipectlClusterCapacityProviderAssociations(PipectlModel):
    """Ref is the cluster name; deleting leaves the cluster without providers."""

    TYPE = "AWS::ECS::ClusterCapacityProviderAssociations"

    def __init__(self, cluster: str) -> None:
        self.physical_resource_id = cluster
        self.attributes = {}

    @classmethod
    def create(
        cls, resource_name: str, properties: dict[str, Any], account_id: str, region_name: str
    ) -> PipectlClusterCapacityProviderAssociations:
        p = properties
        cluster = str(p["Cluster"]).rsplit("/", 1)[-1]
        strategy = [
            {
                "capacityProvider": s["CapacityProvider"],
                "weight": int(s.get("Weight", 0)),
                "base": int(s.get("Base", 0)),
            }
            for s in p.get("DefaultCapacityProviderStrategy", [])
        ]
        _backend(account_id, region_name).put_cluster_capacity_providers(
            cluster, list(p.get("CapacityProviders", [])), strategy
        )
        return cls(cluster)

    def delete(self, account_id: str, region_name: str) -> None:
        backend = _backend(account_id, region_name)
        if self.physical_resource_id in backend.clusters:  # on stack deletion it may already be gone
            backend.put_cluster_capacity_providers(self.physical_resource_id, [], [])
