"""CodeCommit repositories (the delivery pipeline's source) in moto's CodeCommit backend."""

from __future__ import annotations

from typing import Any

from generator.deploy.local.compat import CloudFormationModel, backend
from generator.deploy.local.models._base import PipectlModel, props


class PipectlRepository(PipectlModel, CloudFormationModel):
    """Ref is the repository id, as on AWS; the repository itself is never replaced by pipectl."""

    ATTRIBUTES = ("Arn", "CloneUrlHttp", "CloneUrlSsh", "Name")
    NAME_PROPERTY = "RepositoryName"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CodeCommit::Repository"

    def __init__(self, metadata: dict[str, Any]) -> None:
        self.physical_resource_id = metadata["repositoryId"]
        self.name = metadata["repositoryName"]
        self.attributes = {
            "Arn": metadata["Arn"],
            "CloneUrlHttp": metadata["cloneUrlHttp"],
            "CloneUrlSsh": metadata["cloneUrlSsh"],
            "Name": self.name,
        }

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> PipectlRepository:
        description = props(cloudformation_json).get("RepositoryDescription", "")
        metadata = backend("codecommit", account_id, region_name).create_repository(resource_name, description)
        return cls(metadata)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: PipectlRepository,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> PipectlRepository:
        """A description change must not wipe the repository: only a rename replaces it."""
        new_resource_name = cls.stable_name(original_resource.name, new_resource_name, cloudformation_json)
        if new_resource_name != original_resource.name:
            return super().update_from_cloudformation_json(  # type: ignore[no-any-return]
                original_resource, new_resource_name, cloudformation_json, account_id, region_name
            )
        description = props(cloudformation_json).get("RepositoryDescription", "")
        repository = backend("codecommit", account_id, region_name).repositories[original_resource.name]
        repository.repository_metadata["repositoryDescription"] = description
        return original_resource

    def delete(self, account_id: str, region_name: str) -> None:
        backend("codecommit", account_id, region_name).delete_repository(self.name)
