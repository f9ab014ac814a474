"""E-mail subscriptions of a topic, with a redrive policy: what SNS cannot deliver waits in a queue.

Used by the delivery stack (approvers) and the monitoring stack (alarm and owner addresses), so both
subscribe e-mail the same way: one encrypted dead-letter queue per topic, only the topic may send to it.
"""

from __future__ import annotations

from typing import Any

from troposphere import GetAtt, Ref, Template
from troposphere.sns import SubscriptionResource, Topic
from troposphere.sqs import Queue, QueuePolicy

from generator.policy import notifications as policy
from generator.stacks.common import keep

DEAD_LETTER_RETENTION_S = 1209600  # 14 days, SQS's longest: time to notice a bounce and fix the address


def email_subscriptions(template: Template, topic: Topic, key_arn: Any, emails: dict[str, str], retain: bool) -> Queue:
    """Subscribe each address (logical id -> e-mail) to the topic; undeliverable messages go to one queue."""
    prefix = topic.title
    queue = template.add_resource(
        keep(
            Queue(
                f"{prefix}DeadLetterQueue",
                KmsMasterKeyId=key_arn,
                KmsDataKeyReusePeriodSeconds=300,
                MessageRetentionPeriod=DEAD_LETTER_RETENTION_S,
            ),
            retain,
        )
    )
    template.add_resource(
        QueuePolicy(
            f"{prefix}DeadLetterQueuePolicy",
            Queues=[Ref(queue)],
            PolicyDocument=policy.topic_dead_letters(GetAtt(queue, "Arn"), Ref(topic)),
        )
    )
    for logical_id, email in emails.items():
        template.add_resource(
            SubscriptionResource(
                logical_id,
                TopicArn=Ref(topic),
                Protocol="email",
                Endpoint=email,
                RedrivePolicy={"deadLetterTargetArn": GetAtt(queue, "Arn")},
            )
        )
    return queue
