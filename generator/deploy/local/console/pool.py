"""What the local console takes from the deployed console stack (state table, and the user pool and
app client, or the OpenID Connect issuer and client), and the local console user: created in that pool
with a generated password, never a fixed one, and a member of the admins group the stack creates."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from generator.contract import CONSOLE_STACK, STATE_TABLE_OUTPUT

CONSOLE_USER = "console@pipectl.local"
ADMIN_GROUP = "admins"  # the default of `access.admins_group`; the stack's output AdminsGroup names it
READY = ("CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "UPDATE_IN_PROGRESS")


@dataclass(frozen=True)
class ConsoleStack:
    """A console that signs in with its Cognito user pool."""

    table: str
    pool_id: str
    client_id: str
    admins_group: str = ADMIN_GROUP


@dataclass(frozen=True)
class OidcConsole:
    """A console that signs in with an OpenID Connect provider: its tokens carry the groups claim."""

    table: str
    issuer: str
    client_id: str
    groups_claim: str


def generate_password() -> str:
    """Fits the pool's policy (14+ characters, upper and lower case, digits, symbols) whatever the random part."""
    return f"{secrets.token_urlsafe(15)}-Aa1"


def read_console(cloudformation: Any) -> ConsoleStack | OidcConsole | None:
    """The console stack's outputs once it is deployed; None before."""
    try:
        stacks = cloudformation.describe_stacks(StackName=CONSOLE_STACK)["Stacks"]
    except ClientError:
        return None
    if not stacks or stacks[0]["StackStatus"] not in READY:
        return None
    outputs = {o["OutputKey"]: o.get("OutputValue", "") for o in stacks[0].get("Outputs") or []}
    if all(outputs.get(k) for k in (STATE_TABLE_OUTPUT, "OidcIssuer", "OidcClientId", "GroupsClaim")):
        return OidcConsole(
            outputs[STATE_TABLE_OUTPUT], outputs["OidcIssuer"], outputs["OidcClientId"], outputs["GroupsClaim"]
        )
    if not all(outputs.get(k) for k in (STATE_TABLE_OUTPUT, "UserPoolId", "UserPoolClientId")):
        return None
    return ConsoleStack(
        outputs[STATE_TABLE_OUTPUT],
        outputs["UserPoolId"],
        outputs["UserPoolClientId"],
        outputs.get("AdminsGroup") or ADMIN_GROUP,
    )


def read_console_stack(cloudformation: Any) -> ConsoleStack | None:
    """The console stack with a Cognito pool (the one the local console user lives in); None before, or with OIDC."""
    found = read_console(cloudformation)
    return found if isinstance(found, ConsoleStack) else None


def set_console_user(
    cognito: Any, pool_id: str, password: str, username: str = CONSOLE_USER, admins_group: str = ADMIN_GROUP
) -> None:
    """Create the user (no invitation message: nobody would receive it) or give it a new password; it
    joins the admins group, so the local console shows everything whatever `_console.yaml` maps."""
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
    if admins_group in groups:
        cognito.admin_add_user_to_group(UserPoolId=pool_id, Username=username, GroupName=admins_group)


class LazyConsole:
    """The console stack, looked up until it is deployed (a first `pipectl up` creates it while the
    console already serves); the pending password is set on the user the moment the pool exists."""

    def __init__(self, cloudformation: Any, cognito: Any, password: str | None) -> None:
        self.cloudformation = cloudformation
        self.cognito = cognito
        self._password = password
        self._found: ConsoleStack | OidcConsole | None = None
        self._lock = threading.Lock()

    def get(self) -> ConsoleStack | OidcConsole | None:
        with self._lock:
            if self._found is None:
                found = read_console(self.cloudformation)
                if isinstance(found, ConsoleStack) and self._password:
                    set_console_user(self.cognito, found.pool_id, self._password, admins_group=found.admins_group)
                    self._password = None
                self._found = found
            return self._found
