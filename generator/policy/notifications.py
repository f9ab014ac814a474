"""Who may put undeliverable e-mail notifications into a topic's dead-letter queue, and encrypt them.

Why: an e-mail subscription whose messages cannot be delivered (a full mailbox, a bounce) loses them
unless SNS can move them to a queue; the queue is encrypted with the stack's key, so SNS needs both the
queue's and the key's permission, each limited to pipectl's topics of this account.
"""

from __future__ import annotations

from typing import Any

import awacs.kms as kms
import awacs.sqs as sqs
from awacs.aws import Allow, ArnLike, Condition, PolicyDocument, Principal, Statement, StringEquals
from troposphere import Sub

from generator.policy.keys import THIS_KEY

PIPECTL_TOPICS = "arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:pipectl-*"


def sns_may_encrypt_dead_letters() -> Statement:
    """In a key policy: SNS may encrypt the messages pipectl's topics move to their dead-letter queues."""
    return Statement(
        Sid="NotificationsMoveUndeliveredMessagesToEncryptedQueues",
        Effect=Allow,
        Principal=Principal("Service", "sns.amazonaws.com"),
        Action=[kms.Decrypt, kms.GenerateDataKey],
        Resource=[THIS_KEY],
        Condition=Condition(
            [
                StringEquals({"aws:SourceAccount": Sub("${AWS::AccountId}")}),
                ArnLike({"aws:SourceArn": Sub(PIPECTL_TOPICS)}),
            ]
        ),
    )


def topic_dead_letters(queue_arn: Any, topic_arn: Any) -> PolicyDocument:
    """Only the topic may send the messages it could not deliver to its dead-letter queue."""
    return PolicyDocument(
        Version="2012-10-17",
        Statement=[
            Statement(
                Sid="TopicSendsUndeliveredMessages",
                Effect=Allow,
                Principal=Principal("Service", "sns.amazonaws.com"),
                Action=[sqs.SendMessage],
                Resource=[queue_arn],
                Condition=Condition(ArnLike({"aws:SourceArn": topic_arn})),
            )
        ],
    )
