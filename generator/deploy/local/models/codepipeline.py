"""CodePipeline pipelines (the GitOps delivery) in moto's CodePipeline backend."""

from __future__ import annotations

from typing import Any

from generator.deploy.local.compat import CloudFormationModel, backend
from generator.deploy.local.models._base import PipectlModel, camel, props

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


class PipectlPipeline(PipectlModel, CloudFormationModel):
    """Ref is the pipeline name; updates keep the pipeline and bump its version, as on AWS."""

    ATTRIBUTES = ("Version",)
    NAME_PROPERTY = "Name"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CodePipeline::Pipeline"

    def __init__(self, name: str, version: int) -> None:
        self.physical_resource_id = name
        self.attributes = {"Version": str(version)}

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> PipectlPipeline:
        p = props(cloudformation_json)
        tags = [{"key": t["Key"], "value": t["Value"]} for t in p.get("Tags", [])]
        pipeline, _ = _backend(account_id, region_name).create_pipeline(_declaration(resource_name, p), tags)
        return cls(resource_name, int(pipeline.get("version", 1)))

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: PipectlPipeline,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> PipectlPipeline:
        new_resource_name = cls.stable_name(
            original_resource.physical_resource_id, new_resource_name, cloudformation_json
        )
        if new_resource_name != original_resource.physical_resource_id:
            return super().update_from_cloudformation_json(  # type: ignore[no-any-return]
                original_resource, new_resource_name, cloudformation_json, account_id, region_name
            )
        pipeline = _backend(account_id, region_name).update_pipeline(
            _declaration(new_resource_name, props(cloudformation_json))
        )
        return cls(new_resource_name, int(pipeline["version"]))

    def delete(self, account_id: str, region_name: str) -> None:
        _backend(account_id, region_name).delete_pipeline(self.physical_resource_id)
