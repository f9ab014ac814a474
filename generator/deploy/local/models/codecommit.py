"""CodeCommit repositories (the delivery pipeline's source) in moto's CodeCommit backend."""

from __future__ import annotations

from typing import Any

from generator.deploy.local.compat import backend
from generator.deploy.local.models._base import PipectlModel


class PipectlRepository(PipectlModel):
    """Ref is the repository id, as on AWS; the repository itself is never replaced by pipectl."""

    TYPE = "AWS::CodeCommit::Repository"

    ATTRIBUTES = ("Arn", "CloneUrlHttp", "CloneUrlSsh", "Name")
    NAME_PROPERTY = "RepositoryName"

    def __init__(self, metadata: dict[str, Any]) -> None:
        self.physical_resource_id = metadata["repositoryId"]
        self.name = str(metadata["repositoryName"])
        self.attributes = {
            "Arn": metadata["Arn"],
            "CloneUrlHttp": metadata["cloneUrlHttp"],
            "CloneUrlSsh": metadata["cloneUrlSsh"],
            "Name": self.name,
        }

    @classmethod
    def create(
        cls, resource_name: str, properties: dict[str, Any], account_id: str, region_name: str
    ) -> PipectlRepository:
        description = properties.get("RepositoryDescription", "")
        metadata = backend("codecommit", account_id, region_name).create_repository(resource_name, description)
        return cls(metadata)

    def update(
        self, name: str, properties: dict[str, Any], account_id: str, region_name: str
    ) -> PipectlRepository | None:
        """A description change must not wipe the repository: only a rename replaces it."""
        if name != self.name:
            return None
        repository = backend("codecommit", account_id, region_name).repositories[self.name]
        repository.repository_metadata["repositoryDescription"] = properties.get("RepositoryDescription", "")
        return self

    def current_name(self) -> str:
        return self.name

    def delete(self, account_id: str, region_name: str) -> None:
        backend("codecommit", account_id, region_name).delete_repository(self.name)
