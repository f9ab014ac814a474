"""SNS subscriptions (alarm e-mails) and topic policies in moto's SNS backend."""

from __future__ import annotations

import json
import re
from typing import Any

from generator.deploy.local.compat import backend
from generator.deploy.local.models._base import PipectlModel, as_json_text

SUBSCRIPTION_ATTRIBUTES = (
    "DeliveryPolicy",
    "FilterPolicy",
    "FilterPolicyScope",
    "RawMessageDelivery",
    "RedrivePolicy",
    "SubscriptionRoleArn",
)

QUEUE_ARN = re.compile(r"^arn:aws[a-z-]*:sqs:[a-z0-9-]+:\d{12}:[\w-]{1,80}$")


def _redrive_target(policy: Any) -> str:
    """The dead-letter queue of a RedrivePolicy; SNS refuses a policy that names no SQS queue."""
    document = json.loads(policy) if isinstance(policy, str) else policy
    target = document.get("deadLetterTargetArn") if isinstance(document, dict) else None
    if not isinstance(target, str) or not QUEUE_ARN.match(target):
        raise ValueError(f"RedrivePolicy: deadLetterTargetArn must be an SQS queue ARN, found {target!r}")
    return target


def _backend(account_id: str, region_name: str) -> Any:
    return backend("sns", account_id, region_name)


class PipectlSubscription(PipectlModel):
    TYPE = "AWS::SNS::Subscription"
    ATTRIBUTES = ("Arn",)

    def __init__(self, arn: str) -> None:
        self.physical_resource_id = arn
        self.attributes = {"Arn": arn}

    @classmethod
    def create(
        cls, resource_name: str, properties: dict[str, Any], account_id: str, region_name: str
    ) -> PipectlSubscription:
        if "RedrivePolicy" in properties:
            _redrive_target(properties["RedrivePolicy"])
        backend = _backend(account_id, region_name)
        subscription = backend.subscribe(properties["TopicArn"], properties.get("Endpoint", ""), properties["Protocol"])
        for name in SUBSCRIPTION_ATTRIBUTES:
            if name in properties:
                value = properties[name]
                text = value if isinstance(value, str) else json.dumps(value)
                backend.set_subscription_attributes(subscription.arn, name, text)
        return cls(subscription.arn)

    def delete(self, account_id: str, region_name: str) -> None:
        _backend(account_id, region_name).unsubscribe(self.physical_resource_id)


class PipectlTopicPolicy(PipectlModel):
    """Sets the Policy attribute of each topic; deleting restores the topic's default policy."""

    TYPE = "AWS::SNS::TopicPolicy"

    ATTRIBUTES = ("Id",)

    def __init__(self, resource_name: str, topic_arns: list[str]) -> None:
        self.physical_resource_id = resource_name
        self.topic_arns = topic_arns
        self.attributes = {"Id": resource_name}

    @classmethod
    def create(
        cls, resource_name: str, properties: dict[str, Any], account_id: str, region_name: str
    ) -> PipectlTopicPolicy:
        policy = as_json_text(properties["PolicyDocument"])
        backend = _backend(account_id, region_name)
        for topic_arn in properties["Topics"]:
            backend.set_topic_attribute(topic_arn, "Policy", policy)
        return cls(resource_name, list(properties["Topics"]))

    def delete(self, account_id: str, region_name: str) -> None:
        backend = _backend(account_id, region_name)
        for topic_arn in self.topic_arns:
            topic = backend.topics.get(topic_arn)
            if topic is not None:
                topic._policy_json = topic._create_default_topic_policy(region_name, account_id, topic.name)
