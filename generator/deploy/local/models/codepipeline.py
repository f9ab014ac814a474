"""CodePipeline pipelines (the GitOps delivery) in moto's CodePipeline backend."""

from __future__ import annotations

from typing import Any

from generator.deploy.local.compat import backend
from generator.deploy.local.models._base import PipectlModel, camel

# Action configuration keys belong to each action provider (BranchName, ProjectName...): kept as written.
FREE_FORM = frozenset({"Configuration"})
NOT_IN_API = ("Name", "Tags", "RestartExecutionOnUpdate", "DisableInboundStageTransitions")


def _backend(account_id: str, region_name: str) -> Any:
    return backend("codepipeline", account_id, region_name)


def _declaration(name: str, p: dict[str, Any]) -> dict[str, Any]:
    """The CloudFormation shape of a pipeline in the API's camelCase shape."""
    declaration: dict[str, Any] = camel({k: v for k, v in p.items() if k not in NOT_IN_API}, FREE_FORM)
    declaration["name"] = name
    return declaration


class PipectlPipeline(PipectlModel):
    """Ref is the pipeline name; updates keep the pipeline and bump its version, as on AWS."""

    TYPE = "AWS::CodePipeline::Pipeline"

    ATTRIBUTES = ("Version",)
    NAME_PROPERTY = "Name"

    def __init__(self, name: str, version: int) -> None:
        self.physical_resource_id = name
        self.attributes = {"Version": str(version)}

    @classmethod
    def create(
        cls, resource_name: str, properties: dict[str, Any], account_id: str, region_name: str
    ) -> PipectlPipeline:
        p = properties
        tags = [{"key": t["Key"], "value": t["Value"]} for t in p.get("Tags", [])]
        pipeline, _ = _backend(account_id, region_name).create_pipeline(_declaration(resource_name, p), tags)
        return cls(resource_name, int(pipeline.get("version", 1)))

    def update(
        self, name: str, properties: dict[str, Any], account_id: str, region_name: str
    ) -> PipectlPipeline | None:
        """In place unless renamed: the pipeline keeps its history and bumps its version."""
        if name != self.current_name():
            return None
        pipeline = _backend(account_id, region_name).update_pipeline(_declaration(name, properties))
        return type(self)(name, int(pipeline["version"]))

    def delete(self, account_id: str, region_name: str) -> None:
        _backend(account_id, region_name).delete_pipeline(self.physical_resource_id)
