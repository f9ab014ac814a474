"""boto3 sessions for the local target: fixed dummy credentials, so nothing ever reaches real AWS."""

from __future__ import annotations

from typing import Any

import boto3

ACCESS_KEY_ID = "testing"
SECRET_ACCESS_KEY = "testing"
SESSION_TOKEN = "testing"
ACCOUNT_ID = "123456789012"
"""moto's default account: every resource on the local target lives here."""


class LocalSession:
    """A boto3 session bound to the local target's endpoint: `.client("s3")` needs no endpoint_url."""

    def __init__(self, endpoint: str, region: str) -> None:
        self.endpoint = endpoint
        self.region = region
        self.boto = boto3.Session(
            aws_access_key_id=ACCESS_KEY_ID,
            aws_secret_access_key=SECRET_ACCESS_KEY,
            aws_session_token=SESSION_TOKEN,
            region_name=region,
        )

    def client(self, service: str) -> Any:
        return self.boto.client(service, endpoint_url=self.endpoint)


def local_session(endpoint: str, region: str) -> LocalSession:
    """Clients for the local target with fixed dummy credentials and an explicit region."""
    return LocalSession(endpoint, region)


def local_env(endpoint: str, region: str) -> dict[str, str]:
    """Environment for a child process (e.g. the AWS CLI) that should talk to the local target."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        "AWS_SESSION_TOKEN": SESSION_TOKEN,
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
    }
