"""EventBridge Scheduler schedules (the processing run, the nightly pipeline) in moto's backend."""

from __future__ import annotations

from typing import Any

from generator.deploy.local.compat import CloudFormationModel, backend
from generator.deploy.local.models._base import PipectlModel, props


def _backend(account_id: str, region_name: str) -> Any:
    return backend("scheduler", account_id, region_name)


def _arguments(p: dict[str, Any], name: str) -> dict[str, Any]:
    return {
        "description": p.get("Description", ""),
        "end_date": p.get("EndDate"),
        "flexible_time_window": p["FlexibleTimeWindow"],
        "group_name": p.get("GroupName", "default"),
        "kms_key_arn": p.get("KmsKeyArn"),
        "name": name,
        "schedule_expression": p["ScheduleExpression"],
        "schedule_expression_timezone": p.get("ScheduleExpressionTimezone", "UTC"),
        "start_date": p.get("StartDate"),
        "state": p.get("State", "ENABLED"),
        "target": p["Target"],
    }


class PipectlSchedule(PipectlModel, CloudFormationModel):
    """Ref is the schedule name; changes other than name or group are applied in place."""

    ATTRIBUTES = ("Arn",)
    NAME_PROPERTY = "Name"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Scheduler::Schedule"

    def __init__(self, name: str, group: str, arn: str) -> None:
        self.physical_resource_id = name
        self.group = group
        self.attributes = {"Arn": arn}

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> PipectlSchedule:
        arguments = _arguments(props(cloudformation_json), resource_name)
        schedule = _backend(account_id, region_name).create_schedule(action_after_completion=None, **arguments)
        return cls(schedule.name, arguments["group_name"], schedule.arn)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: PipectlSchedule,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> PipectlSchedule:
        new_resource_name = cls.stable_name(
            original_resource.physical_resource_id, new_resource_name, cloudformation_json
        )
        arguments = _arguments(props(cloudformation_json), new_resource_name)
        same = (new_resource_name, arguments["group_name"]) == (
            original_resource.physical_resource_id,
            original_resource.group,
        )
        if not same:
            return super().update_from_cloudformation_json(  # type: ignore[no-any-return]
                original_resource, new_resource_name, cloudformation_json, account_id, region_name
            )
        _backend(account_id, region_name).update_schedule(**arguments)
        return original_resource

    def delete(self, account_id: str, region_name: str) -> None:
        _backend(account_id, region_name).delete_schedule(self.group, self.physical_resource_id)
