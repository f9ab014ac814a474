"""CodeBuild projects (the delivery stages) in moto's CodeBuild backend."""

from __future__ import annotations

from typing import Any

from generator.deploy.local.compat import backend
from generator.deploy.local.models._base import PipectlModel, camel


def _backend(account_id: str, region_name: str) -> Any:
    return backend("codebuild", account_id, region_name)


class PipectlProject(PipectlModel):
    """Ref is the project name; create_project overwrites, so updates happen in place."""

    TYPE = "AWS::CodeBuild::Project"

    ATTRIBUTES = ("Arn",)
    NAME_PROPERTY = "Name"

    def __init__(self, name: str, arn: str) -> None:
        self.physical_resource_id = name
        self.attributes = {"Arn": arn}

    @classmethod
    def create(
        cls, resource_name: str, properties: dict[str, Any], account_id: str, region_name: str
    ) -> PipectlProject:
        p = properties
        project = _backend(account_id, region_name).create_project(
            project_name=resource_name,
            description=p.get("Description"),
            project_source=camel(p["Source"]),
            artifacts=camel(p["Artifacts"]),
            environment=camel(p["Environment"]),
            service_role=p["ServiceRole"],
            tags=camel(p.get("Tags")),
            cache=camel(p.get("Cache")),
            timeout=p.get("TimeoutInMinutes"),
            queued_timeout=p.get("QueuedTimeoutInMinutes"),
            source_version=p.get("SourceVersion"),
            logs_config=camel(p.get("LogsConfig")),
            vpc_config=camel(p.get("VpcConfig")),
        )
        return cls(resource_name, project["arn"])

    def update(self, name: str, properties: dict[str, Any], account_id: str, region_name: str) -> PipectlProject | None:
        """create_project overwrites: in place unless renamed."""
        return None if name != self.current_name() else self.create(name, properties, account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        _backend(account_id, region_name).delete_project(self.physical_resource_id)
