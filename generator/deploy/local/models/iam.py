"""Inline role policies (AWS::IAM::RolePolicy) in moto's IAM backend."""

from __future__ import annotations

from typing import Any

from generator.deploy.local.compat import backend, moto_class
from generator.deploy.local.models._base import PipectlModel, as_json_text


class PipectlRolePolicy(PipectlModel):
    """One inline policy on one role; updating rewrites it, deleting removes it from the role."""

    TYPE = "AWS::IAM::RolePolicy"

    def __init__(self, role_name: str, policy_name: str, partition: str) -> None:
        self.role_name = role_name
        self.policy_name = policy_name
        self.partition = partition
        self.physical_resource_id = f"{policy_name}|{role_name}"
        self.attributes: dict[str, Any] = {}

    @classmethod
    def create(
        cls, resource_name: str, properties: dict[str, Any], account_id: str, region_name: str
    ) -> PipectlRolePolicy:
        partition = "aws-cn" if region_name.startswith("cn-") else "aws-us-gov" if "-gov-" in region_name else "aws"
        policy = cls(properties["RoleName"], properties["PolicyName"], partition)
        backend("iam", account_id, region_name).put_role_policy(
            policy.role_name, policy.policy_name, as_json_text(properties["PolicyDocument"])
        )
        return policy

    def delete(self, account_id: str, region_name: str) -> None:
        try:
            backend("iam", account_id, region_name).delete_role_policy(self.role_name, self.policy_name)
        except moto_class("iam", "NotFoundException"):  # the role may already be gone when the stack is deleted
            return
