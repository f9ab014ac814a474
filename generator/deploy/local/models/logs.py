"""CloudWatch Logs log streams (the Firehose sink's error log) in moto's Logs backend.

moto models log groups but not `AWS::Logs::LogStream`; a stream here is created in its group, which
must exist, as CloudWatch Logs requires.
"""

from __future__ import annotations

from typing import Any

from generator.deploy.local.compat import CloudFormationModel, backend
from generator.deploy.local.models._base import PipectlModel, props


class PipectlLogStream(PipectlModel, CloudFormationModel):
    """Ref is the stream's name; any change recreates it (every property is create-only)."""

    NAME_PROPERTY = "LogStreamName"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Logs::LogStream"

    def __init__(self, group: str, name: str) -> None:
        self.physical_resource_id = name
        self.group = group
        self.attributes = {}

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> PipectlLogStream:
        group = str(props(cloudformation_json)["LogGroupName"])
        backend("logs", account_id, region_name).create_log_stream(group, resource_name)
        return cls(group, resource_name)

    def delete(self, account_id: str, region_name: str) -> None:
        logs = backend("logs", account_id, region_name)
        group = logs.groups.get(self.group)
        if group is not None and self.physical_resource_id in group.streams:
            logs.delete_log_stream(self.group, self.physical_resource_id)
