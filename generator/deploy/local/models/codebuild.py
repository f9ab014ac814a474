"""CodeBuild projects (the delivery stages) in moto's CodeBuild backend."""

from __future__ import annotations

from typing import Any

from generator.deploy.local.compat import CloudFormationModel, backend
from generator.deploy.local.models._base import PipectlModel, camel, props


def _backend(account_id: str, region_name: str) -> Any:
    return backend("codebuild", account_id, region_name)


class PipectlProject(PipectlModel, CloudFormationModel):
    """Ref is the project name; create_project overwrites, so updates happen in place."""

    ATTRIBUTES = ("Arn",)
    NAME_PROPERTY = "Name"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CodeBuild::Project"

    def __init__(self, name: str, arn: str) -> None:
        self.physical_resource_id = name
        self.attributes = {"Arn": arn}

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> PipectlProject:
        p = props(cloudformation_json)
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

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: PipectlProject,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> PipectlProject:
        new_resource_name = cls.stable_name(
            original_resource.physical_resource_id, new_resource_name, cloudformation_json
        )
        if new_resource_name != original_resource.physical_resource_id:
            original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        _backend(account_id, region_name).delete_project(self.physical_resource_id)
