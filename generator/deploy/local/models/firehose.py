"""Kinesis Data Firehose delivery streams (the Firehose sink) in moto's Firehose backend.

moto's CloudFormation engine has no model for `AWS::KinesisFirehose::DeliveryStream`. This one creates
the stream through moto's backend, after the checks Firehose makes when a stream is created: the role it
delivers with, the destination bucket and a customer-managed key must exist.
"""

from __future__ import annotations

from typing import Any

from generator.deploy.local.compat import CloudFormationModel, backend
from generator.deploy.local.models._base import PipectlModel, props, tag_list

DESTINATIONS = ("ExtendedS3DestinationConfiguration", "S3DestinationConfiguration")
"""The destinations the local target delivers to; any other is refused, never skipped."""


def _bucket_name(bucket_arn: str) -> str:
    return bucket_arn.rsplit(":", 1)[-1]


def _check(p: dict[str, Any], account_id: str, region_name: str) -> None:
    """What Firehose itself refuses at CreateDeliveryStream, with its reason."""
    others = sorted(key for key in p if key.endswith("DestinationConfiguration") and key not in DESTINATIONS)
    if others or not any(key in p for key in DESTINATIONS):
        raise ValueError(f"the local target delivers to S3 only ({', '.join(DESTINATIONS)}), found {others}")
    destination = next(p[key] for key in DESTINATIONS if key in p)
    backend("iam", account_id, region_name).get_role_by_arn(destination["RoleARN"])
    backend("s3", account_id, region_name).get_bucket(_bucket_name(destination["BucketARN"]))
    encryption = p.get("DeliveryStreamEncryptionConfigurationInput") or {}
    if encryption.get("KeyType") == "CUSTOMER_MANAGED_CMK":
        if not encryption.get("KeyARN"):
            raise ValueError("DeliveryStreamEncryptionConfigurationInput: CUSTOMER_MANAGED_CMK needs a KeyARN")
        backend("kms", account_id, region_name).describe_key(encryption["KeyARN"])


class PipectlDeliveryStream(PipectlModel, CloudFormationModel):
    """Ref is the delivery stream's name, GetAtt Arn its ARN; an update recreates it under the same name."""

    ATTRIBUTES = ("Arn",)
    NAME_PROPERTY = "DeliveryStreamName"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::KinesisFirehose::DeliveryStream"

    def __init__(self, name: str, arn: str) -> None:
        self.physical_resource_id = name
        self.attributes = {"Arn": arn}

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> PipectlDeliveryStream:
        p = props(cloudformation_json)
        _check(p, account_id, region_name)
        arn = backend("firehose", account_id, region_name).create_delivery_stream(
            region=region_name,
            delivery_stream_name=resource_name,
            delivery_stream_type=p.get("DeliveryStreamType", "DirectPut"),
            kinesis_stream_source_configuration=p.get("KinesisStreamSourceConfiguration") or {},
            delivery_stream_encryption_configuration_input=p.get("DeliveryStreamEncryptionConfigurationInput") or {},
            s3_destination_configuration=p.get("S3DestinationConfiguration") or {},
            extended_s3_destination_configuration=p.get("ExtendedS3DestinationConfiguration") or {},
            redshift_destination_configuration={},
            elasticsearch_destination_configuration={},
            splunk_destination_configuration={},
            http_endpoint_destination_configuration={},
            snowflake_destination_configuration={},
            iceberg_destination_configuration={},
            tags=tag_list(p.get("Tags")),
        )
        return cls(resource_name, str(arn))

    def delete(self, account_id: str, region_name: str) -> None:
        firehose = backend("firehose", account_id, region_name)
        if self.physical_resource_id in firehose.delivery_streams:
            firehose.delete_delivery_stream(self.physical_resource_id)
