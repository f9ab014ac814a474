"""pipectl's CloudFormation models for moto: one module per AWS service, each creating the resource
through moto's own backend, so that on the local target every resource really exists.

`register_models()` must run before moto's CloudFormation engine creates its first stack.
"""

from __future__ import annotations

import importlib
from functools import cache

from generator.deploy.local.compat import model_list, refresh_model_registry

SERVICE_MODULES = (
    "applicationautoscaling",
    "appsync",
    "awslambda",
    "cloudfront",
    "cloudwatch",
    "codebuild",
    "codecommit",
    "codepipeline",
    "codestarnotifications",
    "cognitoidp",
    "dynamodb",
    "ec2",
    "ecr",
    "ecs",
    "elbv2",
    "firehose",
    "iam",
    "kms",
    "logs",
    "s3",
    "scheduler",
    "sns",
    "sqs",
    "wafv2",
)


@cache
def register_models() -> frozenset[str]:
    """Import every model module, then clear moto's cached model map so it sees them.

    Returns the resource types pipectl models. moto keeps the last model listed for a type, and
    ours are defined after moto's own, so a pipectl model wins where both exist.
    """
    for name in SERVICE_MODULES:
        importlib.import_module(f"{__name__}.{name}")
    refresh_model_registry()
    return frozenset(
        model.cloudformation_type() for model in model_list() if model.__module__.startswith(f"{__name__}.")
    )
