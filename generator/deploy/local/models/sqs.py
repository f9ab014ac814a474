"""SQS queue policies (who may send to the dead-letter queue) in moto's SQS backend."""

from __future__ import annotations

from typing import Any

from generator.deploy.local.compat import backend
from generator.deploy.local.models._base import PipectlModel, as_json_text


class PipectlQueuePolicy(PipectlModel):
    """Sets the Policy attribute of each queue URL in Queues; deleting clears it."""

    TYPE = "AWS::SQS::QueuePolicy"

    def __init__(self, resource_name: str, queue_urls: list[str]) -> None:
        self.physical_resource_id = resource_name
        self.queue_urls = queue_urls
        self.attributes = {"Id": resource_name}

    @classmethod
    def create(
        cls, resource_name: str, properties: dict[str, Any], account_id: str, region_name: str
    ) -> PipectlQueuePolicy:
        policy = cls(resource_name, list(properties["Queues"]))
        policy._apply(account_id, region_name, as_json_text(properties["PolicyDocument"]))
        return policy

    def delete(self, account_id: str, region_name: str) -> None:
        self._apply(account_id, region_name, "")

    def _apply(self, account_id: str, region_name: str, policy: str) -> None:
        sqs = backend("sqs", account_id, region_name)
        for url in self.queue_urls:
            name = url.rstrip("/").rsplit("/", 1)[-1]
            if name in sqs.queues:  # on stack deletion the queue may already be gone
                sqs.set_queue_attributes(name, {"Policy": policy})
