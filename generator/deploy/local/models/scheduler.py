"""EventBridge Scheduler schedules (the processing run, the nightly pipeline) in moto's backend."""

from __future__ import annotations

from typing import Any

from generator.deploy.local.compat import backend
from generator.deploy.local.models._base import PipectlModel


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


class PipectlSchedule(PipectlModel):
    """Ref is the schedule name; changes other than name or group are applied in place."""

    TYPE = "AWS::Scheduler::Schedule"

    ATTRIBUTES = ("Arn",)
    NAME_PROPERTY = "Name"

    def __init__(self, name: str, group: str, arn: str) -> None:
        self.physical_resource_id = name
        self.group = group
        self.attributes = {"Arn": arn}

    @classmethod
    def create(
        cls, resource_name: str, properties: dict[str, Any], account_id: str, region_name: str
    ) -> PipectlSchedule:
        arguments = _arguments(properties, resource_name)
        schedule = _backend(account_id, region_name).create_schedule(action_after_completion=None, **arguments)
        return cls(schedule.name, arguments["group_name"], schedule.arn)

    def update(
        self, name: str, properties: dict[str, Any], account_id: str, region_name: str
    ) -> PipectlSchedule | None:
        """In place, unless the name or the group changes."""
        arguments = _arguments(properties, name)
        if (name, arguments["group_name"]) != (self.physical_resource_id, self.group):
            return None
        _backend(account_id, region_name).update_schedule(**arguments)
        return self

    def delete(self, account_id: str, region_name: str) -> None:
        _backend(account_id, region_name).delete_schedule(self.group, self.physical_resource_id)
