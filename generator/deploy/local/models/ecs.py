"""ECS capacity providers and their cluster associations (the EC2 launch type) in moto's ECS backend."""

from __future__ import annotations

from typing import Any

from generator.deploy.local.compat import CloudFormationModel, backend
from generator.deploy.local.models._base import PipectlModel, camel, props


def _backend(account_id: str, region_name: str) -> Any:
    return backend("ecs", account_id, region_name)


class PipectlCapacityProvider(PipectlModel, CloudFormationModel):
    """Ref is the provider name; the Auto Scaling group settings are updated in place."""

    NAME_PROPERTY = "Name"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ECS::CapacityProvider"

    def __init__(self, name: str) -> None:
        self.physical_resource_id = name
        self.attributes = {}

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> PipectlCapacityProvider:
        p = props(cloudformation_json)
        tags = [{"key": t["Key"], "value": t["Value"]} for t in p.get("Tags", [])]
        provider = _backend(account_id, region_name).create_capacity_provider(
            resource_name, camel(p["AutoScalingGroupProvider"]), tags
        )
        return cls(provider.name)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: PipectlCapacityProvider,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> PipectlCapacityProvider:
        new_resource_name = cls.stable_name(
            original_resource.physical_resource_id, new_resource_name, cloudformation_json
        )
        if new_resource_name != original_resource.physical_resource_id:
            return super().update_from_cloudformation_json(  # type: ignore[no-any-return]
                original_resource, new_resource_name, cloudformation_json, account_id, region_name
            )
        asg_provider = camel(props(cloudformation_json)["AutoScalingGroupProvider"])
        asg_provider.pop("autoScalingGroupArn", None)
        _backend(account_id, region_name).update_capacity_provider(new_resource_name, asg_provider)
        return original_resource

    def delete(self, account_id: str, region_name: str) -> None:
        _backend(account_id, region_name).delete_capacity_provider(self.physical_resource_id)


class PipectlClusterCapacityProviderAssociations(PipectlModel, CloudFormationModel):
    """Ref is the cluster name; deleting leaves the cluster without providers."""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ECS::ClusterCapacityProviderAssociations"

    def __init__(self, cluster: str) -> None:
        self.physical_resource_id = cluster
        self.attributes = {}

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> PipectlClusterCapacityProviderAssociations:
        p = props(cloudformation_json)
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
