"""The nightly schedule's role: start the delivery pipeline, and park an undeliverable start in its queue."""

from __future__ import annotations

from typing import Any

import awacs.kms as kms
import awacs.sqs as sqs
from awacs.aws import Allow, Condition, PolicyDocument, Statement, StringEquals
from troposphere import Sub

from generator.policy import delivery

VERSION = "2012-10-17"


def schedule_role(pipeline_arn: Any, queue_arn: Any, key_arn: Any) -> PolicyDocument:
    """EventBridge Scheduler sends to the dead-letter queue with the schedule's own role."""
    return PolicyDocument(
        Version=VERSION,
        Statement=[
            *delivery.start_pipeline(pipeline_arn).Statement,
            Statement(
                Sid="ParkUndeliverableStarts",
                Effect=Allow,
                Action=[sqs.SendMessage],
                Resource=[queue_arn],
            ),
            Statement(
                Sid="EncryptParkedStarts",
                Effect=Allow,
                Action=[kms.GenerateDataKey, kms.Decrypt],
                Resource=[key_arn],
                Condition=Condition(StringEquals({"kms:ViaService": Sub("sqs.${AWS::Region}.amazonaws.com")})),
            ),
        ],
    )
