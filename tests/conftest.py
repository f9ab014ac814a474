"""Every test runs in the same environment, whatever the caller's shell or CodeBuild exports.

The Validate stage runs this suite with `PIPECTL_TARGET=aws` and real credentials in its
environment; a test that picked them up would reach the account. They are removed before any test
module is imported, and the AWS SDK gets fake credentials and no profile, so a leak fails on the
local target's terms instead of touching AWS.
"""

from __future__ import annotations

import os

import pytest

# The caller's settings that would change which target, account or role a test reaches.
CALLER_SETTINGS = (
    "PIPECTL_TARGET",
    "PIPECTL_CLOUDFORMATION_ROLE_ARN",
    "PIPECTL_TEMPLATE_BUCKET",
    "PIPECTL_STAGE",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ENDPOINT_URL",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
)
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}


def _pin_the_environment() -> None:
    for name in CALLER_SETTINGS:
        os.environ.pop(name, None)
    os.environ.update(FAKE_CREDENTIALS)


# At import, not in a hook: pytest imports the conftest files of the paths it is given (which import
# boto3 and moto) before any configure hook runs, and this file is imported first.
_pin_the_environment()


def pytest_configure(config: pytest.Config) -> None:
    _pin_the_environment()
