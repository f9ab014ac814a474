"""Application Auto Scaling targets and policies (the collector's target tracking) in moto's backend."""

from __future__ import annotations

from typing import Any

from generator.deploy.local.compat import backend
from generator.deploy.local.models._base import PipectlModel


def _backend(account_id: str, region_name: str) -> Any:
    return backend("applicationautoscaling", account_id, region_name)


class PipectlScalableTarget(PipectlModel):
    """Ref is `resource-id|dimension|namespace`, the form AWS returns and ScalingTargetId accepts."""

    TYPE = "AWS::ApplicationAutoScaling::ScalableTarget"

    ATTRIBUTES = ("Id",)

    def __init__(self, namespace: str, resource_id: str, dimension: str) -> None:
        self.namespace = namespace
        self.resource_id = resource_id
        self.dimension = dimension
        self.physical_resource_id = f"{resource_id}|{dimension}|{namespace}"
        self.attributes = {"Id": self.physical_resource_id}

    @classmethod
    def create(
        cls, resource_name: str, properties: dict[str, Any], account_id: str, region_name: str
    ) -> PipectlScalableTarget:
        p = properties
        target = cls(p["ServiceNamespace"], p["ResourceId"], p["ScalableDimension"])
        _backend(account_id, region_name).register_scalable_target(
            target.namespace,
            target.resource_id,
            target.dimension,
            min_capacity=int(p["MinCapacity"]),
            max_capacity=int(p["MaxCapacity"]),
            role_arn=p.get("RoleARN", ""),
            suspended_state=p.get("SuspendedState", {}),
        )
        return target

    def update(
        self, name: str, properties: dict[str, Any], account_id: str, region_name: str
    ) -> PipectlScalableTarget | None:
        """Registering the same target again updates its capacities, as on AWS."""
        identity = (properties["ServiceNamespace"], properties["ResourceId"], properties["ScalableDimension"])
        if identity != (self.namespace, self.resource_id, self.dimension):
            return None
        return self.create(name, properties, account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        _backend(account_id, region_name).deregister_scalable_target(self.namespace, self.resource_id, self.dimension)


class PipectlScalingPolicy(PipectlModel):
    """Ref is the policy ARN; target tracking policies get their CloudWatch alarms as on AWS."""

    TYPE = "AWS::ApplicationAutoScaling::ScalingPolicy"

    ATTRIBUTES = ("Arn",)
    NAME_PROPERTY = "PolicyName"

    def __init__(self, arn: str, name: str, namespace: str, resource_id: str, dimension: str) -> None:
        self.physical_resource_id = arn
        self.key = (name, namespace, resource_id, dimension)
        self.attributes = {"Arn": arn}

    @classmethod
    def create(
        cls, resource_name: str, properties: dict[str, Any], account_id: str, region_name: str
    ) -> PipectlScalingPolicy:
        p = properties
        if p.get("ScalingTargetId"):
            resource_id, dimension, namespace = str(p["ScalingTargetId"]).split("|")
        else:
            resource_id, dimension, namespace = p["ResourceId"], p["ScalableDimension"], p["ServiceNamespace"]
        body = p.get("TargetTrackingScalingPolicyConfiguration") or p.get("StepScalingPolicyConfiguration")
        policy = _backend(account_id, region_name).put_scaling_policy(
            resource_name, namespace, resource_id, dimension, body or {}, p["PolicyType"]
        )
        return cls(policy.policy_arn, resource_name, namespace, resource_id, dimension)

    def delete(self, account_id: str, region_name: str) -> None:
        name, namespace, resource_id, dimension = self.key
        _backend(account_id, region_name).delete_scaling_policy(name, namespace, resource_id, dimension)
