"""What the local console takes from the deployed console stack (state table, user pool, app client),
and the local console user: created in that pool with a generated password, never a fixed one."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from generator.contract import CONSOLE_STACK, STATE_TABLE_OUTPUT

CONSOLE_USER = "console@pipectl.local"
ADMIN_GROUP = "admins"  # the group that sees every pipeline; the user joins it when the stack defines it
READY = ("CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "UPDATE_IN_PROGRESS")


@dataclass(frozen=True)
class ConsoleStack:
    table: str
    pool_id: str
    client_id: str


def generate_password() -> str:
    """Fits the pool's policy (14+ characters, upper and lower case, digits, symbols) whatever the random part."""
    return f"{secrets.token_urlsafe(15)}-Aa1"


def read_console_stack(cloudformation: Any) -> ConsoleStack | None:
    """The console stack's outputs once it is deployed with a Cognito pool; None before (or with OIDC)."""
    try:
        stacks = cloudformation.describe_stacks(StackName=CONSOLE_STACK)["Stacks"]
    except ClientError:
        return None
    if not stacks or stacks[0]["StackStatus"] not in READY:
        return None
    outputs = {o["OutputKey"]: o.get("OutputValue", "") for o in stacks[0].get("Outputs") or []}
    if not all(outputs.get(k) for k in (STATE_TABLE_OUTPUT, "UserPoolId", "UserPoolClientId")):
        return None
    return ConsoleStack(outputs[STATE_TABLE_OUTPUT], outputs["UserPoolId"], outputs["UserPoolClientId"])


def set_console_user(cognito: Any, pool_id: str, password: str, username: str = CONSOLE_USER) -> None:
    """Create the user (no invitation message: nobody would receive it) or give it a new password."""
    try:
        cognito.admin_get_user(UserPoolId=pool_id, Username=username)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "UserNotFoundException":
            raise
        cognito.admin_create_user(
            UserPoolId=pool_id,
            Username=username,
            MessageAction="SUPPRESS",
            UserAttributes=[{"Name": "email", "Value": username}, {"Name": "email_verified", "Value": "true"}],
        )
    cognito.admin_set_user_password(UserPoolId=pool_id, Username=username, Password=password, Permanent=True)
    groups = {g["GroupName"] for g in cognito.list_groups(UserPoolId=pool_id).get("Groups", [])}
    if ADMIN_GROUP in groups:
        cognito.admin_add_user_to_group(UserPoolId=pool_id, Username=username, GroupName=ADMIN_GROUP)


class LazyConsole:
    """The console stack, looked up until it is deployed (a first `pipectl up` creates it while the
    console already serves); the pending password is set on the user the moment the pool exists."""

    def __init__(self, cloudformation: Any, cognito: Any, password: str | None) -> None:
        self.cloudformation = cloudformation
        self.cognito = cognito
        self._password = password
        self._found: ConsoleStack | None = None
        self._lock = threading.Lock()

    def get(self) -> ConsoleStack | None:
        with self._lock:
            if self._found is None:
                found = read_console_stack(self.cloudformation)
                if found is not None and self._password:
                    set_console_user(self.cognito, found.pool_id, self._password)
                    self._password = None
                self._found = found
            return self._found
