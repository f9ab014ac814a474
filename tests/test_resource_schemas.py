"""The provider schemas pipectl reads for replacement and handler permissions."""

import pytest

from generator.resource_schemas import (
    UnknownResourceType,
    create_only_paths,
    create_only_properties,
    handler_permissions,
)


def test_create_only_properties_name_the_top_level_property() -> None:
    assert "BucketName" in create_only_properties("AWS::S3::Bucket")
    assert "VersioningConfiguration" not in create_only_properties("AWS::S3::Bucket")
    assert "/properties/ApiId" in create_only_paths("AWS::AppSync::Resolver")


def test_handler_permissions_list_what_the_handler_calls() -> None:
    assert "s3:PutMetricsConfiguration" in handler_permissions("AWS::S3::Bucket", "create")
    assert "kinesis:DeleteStream" in handler_permissions("AWS::Kinesis::Stream", "delete")


def test_an_unknown_type_is_refused() -> None:
    with pytest.raises(UnknownResourceType):
        create_only_properties("AWS::Nope::Thing")
