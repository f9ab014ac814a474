"""Application Auto Scaling targets and policies (the collector's target tracking) in moto's backend."""

from __future__ import annotations

from typing import Any

from generator.deploy.local.compat import CloudFormationModel, backend
from generator.deploy.local.models._base import PipectlModel, props


def _backend(account_id: str, region_name: str) -> Any:
    return backend("applicationautoscaling", account_id, region_name)


class PipectlScalableTarget(PipectlModel, CloudFormationModel):
    """Ref is `resource-id|dimension|namespace`, the form AWS returns and ScalingTargetId accepts."""

    ATTRIBUTES = ("Id",)

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApplicationAutoScaling::ScalableTarget"

    def __init__(self, namespace: str, resource_id: str, dimension: str) -> None:
        self.namespace = namespace
        self.resource_id = resource_id
        self.dimension = dimension
        self.physical_resource_id = f"{resource_id}|{dimension}|{namespace}"
        self.attributes = {"Id": self.physical_resource_id}

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> PipectlScalableTarget:
        p = props(cloudformation_json)
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

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: PipectlScalableTarget,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> PipectlScalableTarget:
        """Registering the same target again updates its capacities, as on AWS."""
        p = props(cloudformation_json)
        identity = (p["ServiceNamespace"], p["ResourceId"], p["ScalableDimension"])
        if identity != (original_resource.namespace, original_resource.resource_id, original_resource.dimension):
            original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        _backend(account_id, region_name).deregister_scalable_target(self.namespace, self.resource_id, self.dimension)


class PipectlScalingPolicy(PipectlModel, CloudFormationModel):
    """Ref is the policy ARN; target tracking policies get their CloudWatch alarms as on AWS."""

    ATTRIBUTES = ("Arn",)
    NAME_PROPERTY = "PolicyName"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApplicationAutoScaling::ScalingPolicy"

    def __init__(self, arn: str, name: str, namespace: str, resource_id: str, dimension: str) -> None:
        self.physical_resource_id = arn
        self.key = (name, namespace, resource_id, dimension)
        self.attributes = {"Arn": arn}

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> PipectlScalingPolicy:
        p = props(cloudformation_json)
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
