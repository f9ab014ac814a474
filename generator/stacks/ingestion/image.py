"""The image the collectors run: a template parameter, and the one repository the tasks may pull it from.

Unless the pipeline file names an image of its own (pinned: a digest or an explicit tag), the
collectors run the image the delivery pipeline built from collector/ and pushed to the collector's
ECR repository, by digest. The parameter's default is the image synth was given; synthesized without
one (`pipectl validate` on a laptop, the Validate stage), it has no default, so CloudFormation (and
the controller, before it) refuses to deploy until the image build names one, rather than starting a
service on an image that does not exist. The local target stands in an image it pushes to its own
registry.
"""

from __future__ import annotations

import re

from troposphere import Parameter, Sub

from generator.contract import COLLECTOR_IMAGE_PARAMETER, COLLECTOR_REPOSITORY, IMAGE_PINNED_REFERENCE
from generator.stacks.ingestion.parts import IngestionParts

REPOSITORY = COLLECTOR_REPOSITORY
ECR_IMAGE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(\.cn)?/(?P<repository>[^:@]+)"
)


def image_parameter(stack: IngestionParts) -> Parameter:
    image = stack.pipeline.spec.ingestion.image
    extra = {"Default": image} if image is not None else {}
    return stack.template.add_parameter(
        Parameter(
            COLLECTOR_IMAGE_PARAMETER,
            Type="String",
            AllowedPattern=IMAGE_PINNED_REFERENCE,
            ConstraintDescription="a pinned image: REPOSITORY@sha256:DIGEST or REPOSITORY:TAG",
            Description="the collector image, pinned: the one the delivery pipeline built from collector/ "
            "(by digest), unless the pipeline file's ingestion.image names another",
            **extra,
        )
    )


def repository_arn(image: str | None) -> Sub | None:
    """The ECR repository the execution role may pull from: the image's own when it is a private ECR
    image, the collector's repository in this account and region when the image is yet to be built,
    none for an image of another registry (which needs no ECR permission)."""
    if image is None:
        return Sub(
            f"arn:${{AWS::Partition}}:ecr:${{AWS::Region}}:${{AWS::AccountId}}:repository/{COLLECTOR_REPOSITORY}"
        )
    match = ECR_IMAGE.match(image)
    if match is None:
        return None
    return Sub(f"arn:${{AWS::Partition}}:ecr:{match['region']}:{match['account']}:repository/{match['repository']}")
