"""What every part of the delivery refers to: the key, the artifact bucket and the topic, named once."""

from __future__ import annotations

from dataclasses import dataclass

from troposphere import GetAtt, Ref, Template
from troposphere.kms import Alias, Key
from troposphere.s3 import (
    Bucket,
    BucketPolicy,
    LifecycleRule,
    NoncurrentVersionExpiration,
)
from troposphere.sns import Topic, TopicPolicy

from generator.policy import delivery as policy
from generator.stacks.accepted import ARTIFACT_BUCKET, accept
from generator.stacks.buckets import kms_encryption, private_bucket
from generator.stacks.common import add_output, keep
from generator.stacks.delivery.spec import ARTIFACT_DAYS, PIPELINE_NAME, STACK, DeliverySpec
from generator.stacks.notifications import email_subscriptions


@dataclass(frozen=True)
class Delivery:
    """The stack being built and the resources its builds, pipeline and triggers all use."""

    template: Template
    spec: DeliverySpec
    key: Key
    bucket: Bucket
    topic: Topic

    @property
    def key_arn(self) -> GetAtt:
        return GetAtt(self.key, "Arn")

    @property
    def bucket_arn(self) -> GetAtt:
        return GetAtt(self.bucket, "Arn")


def add_shared(template: Template, spec: DeliverySpec) -> Delivery:
    key = _key(template)
    return Delivery(template, spec, key, _artifact_bucket(template, key), _topic(template, key, spec.approvers))


def _key(template: Template) -> Key:
    """One key for artifacts, build logs and the notification topic."""
    key = template.add_resource(
        keep(
            Key(
                "DeliveryKey",
                Description="pipectl delivery: pipeline artifacts, build logs, notifications",
                EnableKeyRotation=True,
                PendingWindowInDays=30,
                KeyPolicy=policy.key_policy(f"/aws/codebuild/{PIPELINE_NAME}-*"),
            ),
            True,
        )
    )
    template.add_resource(Alias("DeliveryKeyAlias", AliasName="alias/pipectl/delivery", TargetKeyId=Ref(key)))
    return key


def _artifact_bucket(template: Template, key: Key) -> Bucket:
    """Source zips, plans and build/ between stages: encrypted, private, TLS-only, expired after a month."""
    bucket = template.add_resource(
        keep(
            accept(
                private_bucket(
                    "ArtifactBucket",
                    kms_encryption(GetAtt(key, "Arn")),
                    [
                        LifecycleRule(
                            Id="ExpireArtifacts",
                            Status="Enabled",
                            ExpirationInDays=ARTIFACT_DAYS,
                            NoncurrentVersionExpiration=NoncurrentVersionExpiration(NoncurrentDays=7),
                        )
                    ],
                ),
                ARTIFACT_BUCKET,
            ),
            True,
        )
    )
    template.add_resource(
        BucketPolicy(
            "ArtifactBucketPolicy",
            Bucket=Ref(bucket),
            PolicyDocument=policy.artifact_bucket_policy(GetAtt(bucket, "Arn")),
        )
    )
    add_output(template, STACK, "ArtifactBucketName", Ref(bucket), "Encrypted bucket of pipeline artifacts")
    return bucket


def _topic(template: Template, key: Key, approvers: tuple[str, ...]) -> Topic:
    """Approval requests (with the plan summary) and failures, e-mailed to the approvers."""
    topic = template.add_resource(
        Topic(
            "DeliveryTopic",
            TopicName=PIPELINE_NAME,
            DisplayName="pipectl delivery",
            KmsMasterKeyId=GetAtt(key, "Arn"),
        )
    )
    template.add_resource(
        TopicPolicy("DeliveryTopicPolicy", Topics=[Ref(topic)], PolicyDocument=policy.topic_policy(Ref(topic)))
    )
    if approvers:
        emails = {f"Approver{index + 1}": email for index, email in enumerate(approvers)}
        email_subscriptions(template, topic, GetAtt(key, "Arn"), emails, True)
    add_output(template, STACK, "TopicArn", Ref(topic), "Approval requests and failures of the delivery pipeline")
    return topic
