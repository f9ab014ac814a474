"""CodeStar notification rules (pipeline events to SNS), recorded: moto has no such service."""

from __future__ import annotations

import hashlib
from typing import Any

from generator.deploy.local.compat import get_partition
from generator.deploy.local.models._base import PipectlModel
from generator.deploy.local.models.recorded import forget, record

NOTIFICATION_RULE = "AWS::CodeStarNotifications::NotificationRule"


class PipectlNotificationRule(PipectlModel):
    """Ref and GetAtt Arn give the rule ARN, derived from its name so replays stay stable."""

    ATTRIBUTES = ("Arn",)
    NAME_PROPERTY = "Name"

    @staticmethod
    def cloudformation_type() -> str:
        return NOTIFICATION_RULE

    def __init__(self, arn: str) -> None:
        self.physical_resource_id = arn
        self.attributes = {"Arn": arn}

    @classmethod
    def create(
        cls, resource_name: str, properties: dict[str, Any], account_id: str, region_name: str
    ) -> PipectlNotificationRule:
        rule_id = hashlib.sha1(resource_name.encode(), usedforsecurity=False).hexdigest()
        partition = get_partition(region_name)
        arn = f"arn:{partition}:codestar-notifications:{region_name}:{account_id}:notificationrule/{rule_id}"
        record(account_id, region_name, NOTIFICATION_RULE, arn, properties)
        return cls(arn)

    def delete(self, account_id: str, region_name: str) -> None:
        forget(account_id, region_name, NOTIFICATION_RULE, self.physical_resource_id)
