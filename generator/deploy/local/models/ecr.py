"""ECR repositories (the collector image's) in moto's ECR backend, lifecycle policy and key included.

moto's own model drops the lifecycle and repository policies and passes CloudFormation's PascalCase
settings through unconverted; this one creates the repository as the API would. As on AWS, a KMS
key that does not exist is refused, and a repository that still holds images is not deleted unless
EmptyOnDelete says so (the collector's is retained, so its stack never deletes it).
"""

from __future__ import annotations

import contextlib
from typing import Any

from generator.deploy.local.compat import backend
from generator.deploy.local.models._base import PipectlModel, as_json_text, camel, tag_list

ENCRYPTION_TYPES = ("AES256", "KMS", "KMS_DSSE")
IN_PLACE = ("ImageScanningConfiguration", "ImageTagMutability", "LifecyclePolicy", "RepositoryPolicyText", "Tags")
"""What AWS updates without replacing the repository (the name and encryption are create-only)."""


class PipectlEcrRepository(PipectlModel):
    """Ref is the repository name, as on AWS; GetAtt gives Arn and RepositoryUri."""

    TYPE = "AWS::ECR::Repository"
    ATTRIBUTES = ("Arn", "RepositoryUri")
    NAME_PROPERTY = "RepositoryName"

    def __init__(self, name: str, arn: str, uri: str, properties: dict[str, Any]) -> None:
        self.physical_resource_id = name
        self.properties = properties
        self.attributes = {"Arn": arn, "RepositoryUri": uri}

    @classmethod
    def create(
        cls, resource_name: str, properties: dict[str, Any], account_id: str, region_name: str
    ) -> PipectlEcrRepository:
        encryption = camel(properties.get("EncryptionConfiguration")) or {"encryptionType": "AES256"}
        if encryption.get("encryptionType") not in ENCRYPTION_TYPES:
            raise ValueError(f"EncryptionConfiguration.EncryptionType: expected one of {ENCRYPTION_TYPES}")
        if encryption.get("kmsKey"):
            # AWS describes the key before creating the repository (and creates a grant on it).
            try:
                backend("kms", account_id, region_name).describe_key(str(encryption["kmsKey"]))
            except (KeyError, LookupError) as exc:
                raise ValueError(f"EncryptionConfiguration.KmsKey: no KMS key {encryption['kmsKey']}") from exc
        ecr = backend("ecr", account_id, region_name)
        repository = ecr.create_repository(
            repository_name=resource_name,
            registry_id=None,
            encryption_config=encryption,
            image_scan_config=camel(properties.get("ImageScanningConfiguration")) or {"scanOnPush": False},
            image_tag_mutability=properties.get("ImageTagMutability", "MUTABLE"),
            tags=tag_list(properties.get("Tags")),
        )
        made = cls(resource_name, repository.arn, repository.uri, properties)
        with contextlib.ExitStack() as undo:
            undo.callback(ecr.delete_repository, resource_name, force=True)  # a failed create leaves nothing
            made._apply_policies(account_id, region_name)
            undo.pop_all()
        return made

    def update(
        self, name: str, properties: dict[str, Any], account_id: str, region_name: str
    ) -> PipectlEcrRepository | None:
        changed = {k for k in {*properties, *self.properties} if properties.get(k) != self.properties.get(k)}
        if name != self.physical_resource_id or not changed <= set(IN_PLACE):
            return None
        repository = backend("ecr", account_id, region_name).repositories[name]
        repository.image_scanning_configuration = camel(properties.get("ImageScanningConfiguration")) or {
            "scanOnPush": False
        }
        repository.image_tag_mutability = properties.get("ImageTagMutability", "MUTABLE")
        self.properties = properties
        self._apply_policies(account_id, region_name)
        return self

    def _apply_policies(self, account_id: str, region_name: str) -> None:
        """The lifecycle and repository policies, validated by the backend as the API validates them."""
        ecr = backend("ecr", account_id, region_name)
        name = self.physical_resource_id
        lifecycle = (self.properties.get("LifecyclePolicy") or {}).get("LifecyclePolicyText")
        if lifecycle:
            ecr.put_lifecycle_policy(None, name, as_json_text(lifecycle))
        else:
            ecr.repositories[name].lifecycle_policy = None
        policy = self.properties.get("RepositoryPolicyText")
        if policy:
            ecr.set_repository_policy(None, name, as_json_text(policy))

    def delete(self, account_id: str, region_name: str) -> None:
        ecr = backend("ecr", account_id, region_name)
        if self.physical_resource_id in ecr.repositories:
            ecr.delete_repository(self.physical_resource_id, force=bool(self.properties.get("EmptyOnDelete")))
